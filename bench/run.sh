#!/usr/bin/env bash
# Load harness: GET /api/v1/users/me through (A) forgeauth's RequireUser,
# (B) a bare net/http handler and (C) go-chi/jwtauth, then the login load.
#
# Each server is pinned to CPU 0 and wrk to CPU 1; 5 interleaved rounds
# (A B C A B C ...) of 5 s each; prints every round's req/s, the medians and
# the ratios A/B and A/C, then runs cmd/loginload with 200 clients (retrying
# at once, then honouring Retry-After), with GOMAXPROCS clients and with one. Everything listens on 127.0.0.1 only, the servers are
# stopped by PID on exit, and the whole run is bounded by `timeout`.
#
# Usage: bench/run.sh            (from anywhere)
# Environment:
#   ROUNDS=5 DURATION=5s CONNS=32   the wrk runs
#   MODE=basic                      forgeauth mode (basic or complete)
#   ROUTE=app                       app (RequireUser around a handler) or builtin (httpauth's /users/me)
#   TOKEN_CACHE=0                   forgeauth's verified-token cache: 0 default size, -1 off
#   PROFILE=1                       after the rounds, one extra A run with a CPU profile saved in bench/out/
#   SKIP_LOGIN=1                    skip the login load
#   LOGIN_DURATION=10s              how long each login run lasts
#   BENCH_TIMEOUT=300               seconds for the whole script
set -euo pipefail

if [[ -z "${BENCH_UNDER_TIMEOUT:-}" ]]; then
	export BENCH_UNDER_TIMEOUT=1
	exec timeout -k 10 "${BENCH_TIMEOUT:-300}" "$0" "$@"
fi

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
MODE=${MODE:-basic}
ROUTE=${ROUTE:-app}
TOKEN_CACHE=${TOKEN_CACHE:-0}
LOGIN_DURATION=${LOGIN_DURATION:-10s}
PORT_A=18081 PORT_B=18082 PORT_C=18083 PORT_PPROF=18090
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
for port in $PORT_A $PORT_B $PORT_C $PORT_PPROF; do
	if curl -s -o /dev/null --max-time 1 "http://$HOST:$port/"; then
		die "port $port is already in use"
	fi
done

echo "== build"
(cd "$BENCH" && go build -o "$BIN/" ./cmd/forgeauth ./cmd/bare ./cmd/jwtauth ./cmd/loginload)

# One random secret for A and C, so one token works for both.
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
	"${pprof_args[@]}" >"$WORK/a.out" 2>"$WORK/a.err" &
PIDS+=($!)
wait_listening "$WORK/a.out" "${PIDS[-1]}"
taskset -c 0 "$BIN/bare" -port "$PORT_B" >"$WORK/b.out" 2>&1 &
PIDS+=($!)
wait_listening "$WORK/b.out" "${PIDS[-1]}"
taskset -c 0 "$BIN/jwtauth" -port "$PORT_C" >"$WORK/c.out" 2>&1 &
PIDS+=($!)
wait_listening "$WORK/c.out" "${PIDS[-1]}"
TOKEN=$(cat "$WORK/token")

echo "== sanity"
declare -A NAME=([A]=forgeauth [B]=bare [C]=jwtauth) PORT=([A]=$PORT_A [B]=$PORT_B [C]=$PORT_C)
for s in A B C; do
	url="http://$HOST:${PORT[$s]}$ME"
	read -r code size < <(curl -s -o /dev/null -w '%{http_code} %{size_download}\n' -H "Authorization: Bearer $TOKEN" "$url")
	[[ $code == 200 ]] || die "${NAME[$s]} answered $code with the token"
	echo "${NAME[$s]}: 200, $size bytes"
done
for s in A C; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST:${PORT[$s]}$ME")
	[[ $code == 401 ]] || die "${NAME[$s]} answered $code without a token"
done

# run_wrk S: one wrk run against server S; prints its req/s.
run_wrk() {
	local s=$1 f="$WORK/wrk.$1.$2"
	taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" -H "Authorization: Bearer $TOKEN" \
		"http://$HOST:${PORT[$s]}$ME" >"$f"
	if grep -q 'Non-2xx or 3xx responses' "$f"; then
		cat "$f" >&2
		die "${NAME[$s]} gave non-2xx answers"
	fi
	if grep -q 'Socket errors' "$f"; then
		echo "run.sh: ${NAME[$s]} round $2: $(grep 'Socket errors' "$f")" >&2
	fi
	awk '/^Requests\/sec:/ {print $2}' "$f"
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "== $ROUNDS rounds: wrk -t1 -c$CONNS -d$DURATION (pinned to CPU 1), mode $MODE, route $ROUTE, token cache $TOKEN_CACHE"
declare -A RPS=([A]="" [B]="" [C]="")
printf '%-6s %12s %12s %12s %7s %7s   %s\n' round forgeauth bare jwtauth A/B A/C loadavg
RAB="" RAC=""
for ((r = 1; r <= ROUNDS; r++)); do
	row=()
	for s in A B C; do
		v=$(run_wrk "$s" "$r")
		RPS[$s]+="$v "
		row+=("$v")
	done
	ab=$(awk -v a="${row[0]}" -v b="${row[1]}" 'BEGIN {printf "%.3f", a / b}')
	ac=$(awk -v a="${row[0]}" -v c="${row[2]}" 'BEGIN {printf "%.3f", a / c}')
	RAB+="$ab " RAC+="$ac "
	printf '%-6s %12s %12s %12s %7s %7s   %s\n' "$r" "${row[@]}" "$ab" "$ac" "$(cut -d' ' -f1-3 /proc/loadavg)"
done

# shellcheck disable=SC2086 # word splitting of the lists is wanted
mA=$(median ${RPS[A]}) mB=$(median ${RPS[B]}) mC=$(median ${RPS[C]}) mAB=$(median $RAB) mAC=$(median $RAC)
printf '%-6s %12s %12s %12s %7s %7s\n' median "$mA" "$mB" "$mC" "$mAB" "$mAC"
# The targets are judged on the ratio of the medians; the median of the
# per-round ratios (neighbouring runs share the machine's other load) is
# printed beside it as a check on the noise.
awk -v a="$mA" -v b="$mB" -v c="$mC" -v rab="$mAB" -v rac="$mAC" 'BEGIN {
	ab = a / b; ac = a / c
	printf "A/B (forgeauth / bare)    %.3f   (median of per-round ratios %.3f)   target >= 0.80: %s\n", ab, rab, (ab >= 0.80 ? "met" : "MISSED")
	printf "A/C (forgeauth / jwtauth) %.3f   (median of per-round ratios %.3f)   target >= 2.5:  %s\n", ac, rac, (ac >= 2.5 ? "met" : "MISSED")
}'

if [[ -n "${PROFILE:-}" ]]; then
	echo "== profile: one more forgeauth run with a 4 s CPU profile"
	curl -s -o "$OUT/forgeauth-cpu.pprof" "http://$HOST:$PORT_PPROF/debug/pprof/profile?seconds=4" &
	prof=$!
	v=$(run_wrk A profile)
	wait "$prof"
	echo "forgeauth (profiled): $v req/s; profile in bench/out/forgeauth-cpu.pprof"
	go tool pprof -top -nodecount=25 "$BIN/forgeauth" "$OUT/forgeauth-cpu.pprof" 2>/dev/null | sed -n '1,35p'
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
