#!/usr/bin/env bash
# Load harness: GET /api/v1/users/me through (A) forgeauth's RequireUser,
# (B) a bare net/http handler, (C) go-chi/jwtauth and (D) a hand-written
# golang-jwt middleware, under two workloads:
#
#   hot   every request carries the one token forgeauth issued at login;
#   cold  the requests carry TOKENS distinct tokens (default 20,000, twice
#         forgeauth's verified-token cache) round robin (tokens.lua), so no
#         cache helps and every request pays the full token check.
#
# Each server is pinned to CPU 0 and wrk to CPU 1. ROUNDS rounds, each
# running both workloads against all four servers, the server order turning
# by one each round, DURATION per run; prints every run's req/s and the
# requests each server served per second of its own CPU time (from
# /proc/PID/stat), the medians, the ratios and the targets, then runs cmd/loginload with 200
# clients (retrying at once, then honouring Retry-After), with GOMAXPROCS
# clients and with one. Everything listens on 127.0.0.1 only, the servers
# are stopped by PID on exit, and the whole run is bounded by `timeout`.
#
# Usage: bench/run.sh            (from anywhere)
# Environment:
#   ROUNDS=5 DURATION=3s CONNS=32   the wrk runs
#   TOKENS=20000                    distinct tokens of the cold workload
#   MODE=basic                      forgeauth mode (basic or complete)
#   ROUTE=app                       app (RequireUser around a handler) or builtin (httpauth's /users/me)
#   TOKEN_CACHE=0                   forgeauth's verified-token cache: 0 default size, -1 off
#   PROFILE=1                       after the rounds, one more A run per workload with a CPU profile saved in bench/out/
#   SKIP_LOGIN=1                    skip the login load
#   LOGIN_DURATION=5s               how long each login run lasts
#   BENCH_TIMEOUT=300               seconds for the whole script
set -euo pipefail

if [[ -z "${BENCH_UNDER_TIMEOUT:-}" ]]; then
	export BENCH_UNDER_TIMEOUT=1
	exec timeout -k 10 "${BENCH_TIMEOUT:-300}" "$0" "$@"
fi

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3s}
TOKENS=${TOKENS:-20000}
CONNS=${CONNS:-32}
MODE=${MODE:-basic}
ROUTE=${ROUTE:-app}
TOKEN_CACHE=${TOKEN_CACHE:-0}
LOGIN_DURATION=${LOGIN_DURATION:-5s}
PORT_A=18081 PORT_B=18082 PORT_C=18083 PORT_D=18084 PORT_PPROF=18090
HOST=127.0.0.1
ME=/api/v1/users/me

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$BENCH/bin
OUT=$BENCH/out
mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

die() {
	echo "run.sh: $*" >&2
	exit 1
}

for tool in wrk taskset curl go; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
(($(nproc) >= 2)) || die "needs two CPUs (server on 0, wrk on 1)"
for port in $PORT_A $PORT_B $PORT_C $PORT_D $PORT_PPROF; do
	if curl -s -o /dev/null --max-time 1 "http://$HOST:$port/"; then
		die "port $port is already in use"
	fi
done

echo "== build"
(cd "$BENCH" && go build -o "$BIN/" ./cmd/forgeauth ./cmd/bare ./cmd/jwtauth ./cmd/golangjwt ./cmd/loginload)

# One random secret for A, C and D, so the same tokens work for all three.
JWT_SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export JWT_SECRET_KEY

# wait_listening FILE PID: until the server has printed its address.
wait_listening() {
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q '^listening on ' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || die "server $2 exited: $(cat "$1")"
		sleep 0.1
	done
	die "server $2 did not start"
}

echo "== start servers (pinned to CPU 0)"
pprof_args=()
[[ -n "${PROFILE:-}" ]] && pprof_args=(-pprof-port "$PORT_PPROF")
taskset -c 0 "$BIN/forgeauth" -port "$PORT_A" -mode "$MODE" -route "$ROUTE" -token-cache "$TOKEN_CACHE" -token-file "$WORK/token" \
	-tokens "$TOKENS" -tokens-file "$WORK/tokens" \
	"${pprof_args[@]}" >"$WORK/a.out" 2>"$WORK/a.err" &
PIDS+=($!)
wait_listening "$WORK/a.out" "${PIDS[-1]}"
taskset -c 0 "$BIN/bare" -port "$PORT_B" >"$WORK/b.out" 2>&1 &
PIDS+=($!)
wait_listening "$WORK/b.out" "${PIDS[-1]}"
taskset -c 0 "$BIN/jwtauth" -port "$PORT_C" >"$WORK/c.out" 2>&1 &
PIDS+=($!)
wait_listening "$WORK/c.out" "${PIDS[-1]}"
taskset -c 0 "$BIN/golangjwt" -port "$PORT_D" >"$WORK/d.out" 2>&1 &
PIDS+=($!)
wait_listening "$WORK/d.out" "${PIDS[-1]}"
TOKEN=$(cat "$WORK/token")
declare -A SPID=([A]=${PIDS[0]} [B]=${PIDS[1]} [C]=${PIDS[2]} [D]=${PIDS[3]})
export TOKENS_FILE=$WORK/tokens
(($(wc -l <"$TOKENS_FILE") == TOKENS)) || die "forgeauth wrote $(wc -l <"$TOKENS_FILE") tokens, not $TOKENS"

echo "== sanity"
SERVERS=(A B C D)
declare -A NAME=([A]=forgeauth [B]=bare [C]=jwtauth [D]=golang-jwt) PORT=([A]=$PORT_A [B]=$PORT_B [C]=$PORT_C [D]=$PORT_D)
first=$(head -n 1 "$TOKENS_FILE") last=$(tail -n 1 "$TOKENS_FILE")
for s in "${SERVERS[@]}"; do
	url="http://$HOST:${PORT[$s]}$ME"
	for tok in "$TOKEN" "$first" "$last"; do
		read -r code size < <(curl -s -o /dev/null -w '%{http_code} %{size_download}\n' -H "Authorization: Bearer $tok" "$url")
		[[ $code == 200 ]] || die "${NAME[$s]} answered $code with a token"
	done
	echo "${NAME[$s]}: 200, $size bytes"
done
for s in A C D; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST:${PORT[$s]}$ME")
	[[ $code == 401 ]] || die "${NAME[$s]} answered $code without a token"
done

# cpu_ticks PID: the user and system CPU time the process has used, in
# clock ticks.
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

# run_wrk S W TAG: one wrk run of workload W against server S; prints its
# req/s and the requests it served per second of its own CPU time. The
# second figure does not depend on how much of CPU 0 the machine's other
# load left to the server, so it is the steadier one on a busy machine.
run_wrk() {
	local s=$1 w=$2 f="$WORK/wrk.$1.$2.$3" t0 t1
	local args=(-H "Authorization: Bearer $TOKEN")
	[[ $w == cold ]] && args=(-s "$BENCH/tokens.lua")
	t0=$(cpu_ticks "${SPID[$s]}")
	taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "${args[@]}" "http://$HOST:${PORT[$s]}$ME" >"$f"
	t1=$(cpu_ticks "${SPID[$s]}")
	if grep -q 'Non-2xx or 3xx responses' "$f"; then
		cat "$f" >&2
		die "${NAME[$s]} gave non-2xx answers ($w)"
	fi
	if grep -q 'Socket errors' "$f"; then
		echo "run.sh: ${NAME[$s]} $w round $3: $(grep 'Socket errors' "$f")" >&2
	fi
	awk -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
		/ requests in / {n = $1}
		/^Requests\/sec:/ {rps = $2}
		END {printf "%s %.0f\n", rps, (ticks > 0 ? n * hz / ticks : 0)}' "$f"
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

echo "== $ROUNDS rounds x (hot, cold) x 4 servers: wrk -t1 -c$CONNS -d$DURATION (pinned to CPU 1), mode $MODE, route $ROUTE, token cache $TOKEN_CACHE, $TOKENS cold tokens"
declare -A RPS=() RATIOS=() CPS=() CRATIOS=()
printf '%-6s %-5s %11s %11s %11s %11s %7s %7s %7s   %s\n' round load forgeauth bare jwtauth golang-jwt A/B A/C A/D "loadavg; then requests per CPU-second of each server and their ratios"
for ((r = 1; r <= ROUNDS; r++)); do
	# The server order turns by one each round, so that no server always
	# follows the same one.
	order=("${SERVERS[@]:$(((r - 1) % 4))}" "${SERVERS[@]:0:$(((r - 1) % 4))}")
	for w in hot cold; do
		declare -A v=() c=()
		for s in "${order[@]}"; do
			read -r v[$s] c[$s] < <(run_wrk "$s" "$w" "$r")
			RPS[$w$s]+="${v[$s]} "
			CPS[$w$s]+="${c[$s]} "
		done
		for p in B C D; do
			RATIOS[$w$p]+="$(ratio "${v[A]}" "${v[$p]}") "
			CRATIOS[$w$p]+="$(ratio "${c[A]}" "${c[$p]}") "
		done
		printf '%-6s %-5s %11s %11s %11s %11s %7s %7s %7s   %s\n' "$r" "$w" "${v[A]}" "${v[B]}" "${v[C]}" "${v[D]}" \
			"$(ratio "${v[A]}" "${v[B]}")" "$(ratio "${v[A]}" "${v[C]}")" "$(ratio "${v[A]}" "${v[D]}")" "$(cut -d' ' -f1-3 /proc/loadavg)"
		printf '%-6s %-5s %11s %11s %11s %11s %7s %7s %7s\n' "" "/cpu-s" "${c[A]}" "${c[B]}" "${c[C]}" "${c[D]}" \
			"$(ratio "${c[A]}" "${c[B]}")" "$(ratio "${c[A]}" "${c[C]}")" "$(ratio "${c[A]}" "${c[D]}")"
		unset v c
	done
done

# The targets are judged on the ratio of the medians; the median of the
# per-round ratios (neighbouring runs share the machine's other load) is
# printed beside it as a check on the noise.
declare -A MED=() CMED=()
for w in hot cold; do
	for s in "${SERVERS[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the lists is wanted
		MED[$w$s]=$(median ${RPS[$w$s]}) CMED[$w$s]=$(median ${CPS[$w$s]})
	done
	printf '%-6s %-5s %11s %11s %11s %11s\n' median "$w" "${MED[${w}A]}" "${MED[${w}B]}" "${MED[${w}C]}" "${MED[${w}D]}"
	printf '%-6s %-5s %11s %11s %11s %11s\n' median "/cpu-s" "${CMED[${w}A]}" "${CMED[${w}B]}" "${CMED[${w}C]}" "${CMED[${w}D]}"
done
# verdict W P TARGET LABEL: the ratio of A to P in workload W, in req/s
# (judged) and in requests per CPU-second (the steadier check).
verdict() {
	local w=$1 p=$2 target=$3 label=$4
	# shellcheck disable=SC2086 # word splitting of the lists is wanted
	awk -v a="${MED[${w}A]}" -v b="${MED[$w$p]}" -v rr="$(median ${RATIOS[$w$p]})" -v t="$target" -v l="$label" -v w="$w" \
		-v range="$(printf '%s\n' ${RATIOS[$w$p]} | sort -g | sed -n '1p;$p' | paste -sd' ')" \
		-v ca="${CMED[${w}A]}" -v cb="${CMED[$w$p]}" -v crr="$(median ${CRATIOS[$w$p]})" \
		-v crange="$(printf '%s\n' ${CRATIOS[$w$p]} | sort -g | sed -n '1p;$p' | paste -sd' ')" 'BEGIN {
		r = a / b
		split(range, m, " ")
		split(crange, cm, " ")
		printf "%-5s %-30s req/s %.3f (per round: median %.3f, %s to %s); per CPU-s %.3f (per round: median %.3f, %s to %s)", w, l, r, rr, m[1], m[2], ca / cb, crr, cm[1], cm[2]
		if (t == "") { print "" } else { printf "   target >= %s: %s\n", t, (r >= t ? "met" : "MISSED") }
	}'
}
verdict hot B 0.80 "A/B (forgeauth / bare)"
verdict hot D 1.3 "A/D (forgeauth / golang-jwt)"
verdict hot C 2.5 "A/C (forgeauth / jwtauth)"
verdict cold D 1.1 "A/D (forgeauth / golang-jwt)"
verdict cold B "" "A/B (forgeauth / bare)"
verdict cold C "" "A/C (forgeauth / jwtauth)"

if [[ -n "${PROFILE:-}" ]]; then
	for w in hot cold; do
		echo "== profile: one more forgeauth $w run with a CPU profile of DURATION less one second"
		secs=$((${DURATION%s} - 1))
		curl -s -o "$OUT/forgeauth-$w-cpu.pprof" "http://$HOST:$PORT_PPROF/debug/pprof/profile?seconds=$((secs > 0 ? secs : 1))" &
		prof=$!
		read -r v _ < <(run_wrk A "$w" profile)
		wait "$prof"
		echo "forgeauth $w (profiled): $v req/s; profile in bench/out/forgeauth-$w-cpu.pprof"
		go tool pprof -top -cum -nodecount=25 "$BIN/forgeauth" "$OUT/forgeauth-$w-cpu.pprof" 2>/dev/null | sed -n '6,32p'
	done
fi

for pid in "${PIDS[@]}"; do
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
PIDS=()

if [[ -z "${SKIP_LOGIN:-}" ]]; then
	procs=$(nproc)
	for run in "200" "200 -honor-retry-after" "$procs" "1"; do
		read -r clients flags <<<"$run"
		echo "== login load: $clients clients for $LOGIN_DURATION ${flags:-}"
		# shellcheck disable=SC2086 # flags may be empty or one word
		"$BIN/loginload" -server "$BIN/forgeauth" -mode "$MODE" -clients "$clients" -duration "$LOGIN_DURATION" ${flags:-}
	done
fi
