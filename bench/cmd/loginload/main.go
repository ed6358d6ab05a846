// Command loginload measures logins under load. It starts the forgeauth
// bench server (cmd/forgeauth) as a child process with the default
// Argon2id parameters (m=19456 KiB, t=2, p=1) and its per-IP limit off,
// registers an account, and has -clients clients log in concurrently for
// -duration, retrying at once after a 503 (or, with -honor-retry-after,
// after waiting as told). It then prints the p50 and p99 latency of the
// successful logins, the median time of one Argon2id hash with the same
// parameters in this process (timed before and after the load, with the
// server idle), their ratio, the count of 503s (and of those lacking Retry-After), of 429s and
// of every other status, and the server's peak RSS (VmHWM) against the
// budget (GOMAXPROCS + 1) × 19 MiB + 64 MiB.
//
//	loginload -clients 200 -duration 10s
//	loginload -clients 2 -duration 10s   # an unloaded server: p50 vs one hash
//
// The server binary defaults to "forgeauth" beside this executable.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/bench/internal/loadstat"
	"github.com/forgeauth/forgeauth/bench/internal/loginload"
	"github.com/forgeauth/forgeauth/password"
)

// The account the clients log in with.
const (
	username = "loadtest"
	email    = "loadtest@example.com"
	passwd   = "Velvet-Orbit-Canyon-58?"
)

type options struct {
	server    string
	mode      string
	clients   int
	duration  time.Duration
	samples   int
	serverLog string
	extra     string
	honor     bool
}

func main() {
	var o options
	flag.StringVar(&o.server, "server", defaultServer(), "path of the cmd/forgeauth binary")
	flag.StringVar(&o.mode, "mode", "basic", "auth mode of the server: basic or complete (unverified login allowed)")
	flag.IntVar(&o.clients, "clients", 200, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long the clients keep logging in")
	flag.IntVar(&o.samples, "hash-samples", 20, "Argon2id hashes timed for the median")
	flag.BoolVar(&o.honor, "honor-retry-after", false, "clients wait the Retry-After of a 503 or 429 before trying again (default: retry at once)")
	flag.StringVar(&o.serverLog, "server-log", "", "append the server's standard error (audit log) to this file (default: discard)")
	flag.StringVar(&o.extra, "server-flags", "", "more flags for the server, space-separated (e.g. \"-pprof-port 18090\")")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loginload:", err)
		os.Exit(1)
	}
}

func defaultServer() string {
	exe, err := os.Executable()
	if err != nil {
		return "forgeauth"
	}
	return filepath.Join(filepath.Dir(exe), "forgeauth")
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+2*time.Minute)
	defer cancel()

	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return err
	}
	env := append(os.Environ(), "JWT_SECRET_KEY="+hex.EncodeToString(secret[:]))
	var serverErr io.Writer
	if o.serverLog != "" {
		f, err := os.OpenFile(o.serverLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		serverErr = f
	}
	args := append([]string{"-port", "0", "-mode", o.mode, "-ip-limit=false"}, strings.Fields(o.extra)...)
	srv, err := loginload.StartServer(ctx, o.server, args, env, serverErr)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()

	if err := loginload.Register(ctx, nil, srv.URL(), username, email, passwd); err != nil {
		return err
	}
	// The hash is timed before and after the load, on the idle server, and
	// the ratio uses the median of both sets, so that a change in the
	// machine's other load during the run shows and weighs on both sides.
	params := password.DefaultParams()
	before, err := loginload.HashTimes(o.samples, passwd, params)
	if err != nil {
		return err
	}

	rep, err := loginload.Run(ctx, loginload.Config{
		BaseURL:         srv.URL(),
		Username:        username,
		Password:        passwd,
		Clients:         o.clients,
		Duration:        o.duration,
		HonorRetryAfter: o.honor,
	})
	if err != nil {
		return err
	}
	peak, peakErr := srv.PeakRSS()
	// Let the server's in-flight work drain before timing again.
	time.Sleep(500 * time.Millisecond)
	after, err := loginload.HashTimes(o.samples, passwd, params)
	if err != nil {
		return err
	}
	hash := loadstat.Median(append(slices.Clone(before), after...))
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "loginload: stopping the server:", err)
	}

	procs := runtime.GOMAXPROCS(0)
	budget := int64(procs+1)*int64(params.Memory)<<10 + 64<<20
	p50 := rep.P50()
	ratio := float64(p50) / float64(hash)

	fmt.Printf("server             %s (mode %s, pid %d, GOMAXPROCS %d)\n", filepath.Base(o.server), o.mode, srv.PID(), procs)
	fmt.Printf("argon2id           m=%d KiB t=%d p=%d\n", params.Memory, params.Iterations, params.Parallelism)
	retry := "retry at once"
	if o.honor {
		retry = fmt.Sprintf("honour Retry-After, waited %s in all", rep.Waited.Round(time.Millisecond))
	}
	fmt.Printf("clients            %d for %s (elapsed %s; %s)\n", rep.Clients, o.duration, rep.Elapsed.Round(time.Millisecond), retry)
	fmt.Printf("requests           %d (%.1f/s)\n", rep.Total(), float64(rep.Total())/rep.Elapsed.Seconds())
	fmt.Printf("200 ok             %d (%.1f/s)\n", len(rep.OK), float64(len(rep.OK))/rep.Elapsed.Seconds())
	fmt.Printf("login p50          %s\n", ms(p50))
	fmt.Printf("login p99          %s\n", ms(rep.P99()))
	fmt.Printf("hash median        %s (2 x %d x password.Hash in this process on the idle server; before %s, after %s)\n",
		ms(hash), o.samples, ms(loadstat.Median(before)), ms(loadstat.Median(after)))
	fmt.Printf("p50 / hash         %.3f (target <= 1.05 on an unloaded server)\n", ratio)
	if len(rep.OK) > 0 {
		// The fastest of each is the least disturbed by the machine's other
		// load: a check on the ratio of the medians.
		all := append(slices.Clone(before), after...)
		lmin, hmin := loadstat.Percentile(rep.OK, 0), loadstat.Percentile(all, 0)
		fmt.Printf("min login / hash   %s / %s = %.3f\n", ms(lmin), ms(hmin), float64(lmin)/float64(hmin))
	}
	fmt.Printf("503 unavailable    %d (without Retry-After: %d; p50 %s, p99 %s)\n", len(rep.Unavailable),
		rep.UnavailableWithoutRetryAfter, ms(loadstat.Percentile(rep.Unavailable, 50)), ms(loadstat.Percentile(rep.Unavailable, 99)))
	fmt.Printf("429 rate limited   %d\n", rep.RateLimited)
	fmt.Printf("other statuses     %s (other 5xx: %d)\n", statuses(rep.Other), rep.Other5xx())
	fmt.Printf("transport errors   %d", rep.TransportErrors)
	if rep.FirstError != nil {
		fmt.Printf(" (first: %v)", rep.FirstError)
	}
	fmt.Println()
	if peakErr != nil {
		fmt.Printf("peak RSS           unknown: %v\n", peakErr)
	} else {
		verdict := "within"
		if peak > budget {
			verdict = "OVER"
		}
		fmt.Printf("peak RSS (VmHWM)   %.1f MiB (budget (%d+1) x 19 MiB + 64 MiB = %.1f MiB: %s)\n",
			loadstat.MiB(peak), procs, loadstat.MiB(budget), verdict)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func statuses(m map[int]int) string {
	if len(m) == 0 {
		return "none"
	}
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	s := ""
	for i, c := range codes {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d x%d", c, m[c])
	}
	return s
}
