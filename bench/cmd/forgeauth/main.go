// Command forgeauth is the forgeauth bench server: the library's endpoints
// under /api/v1 on the in-memory store, and GET /api/v1/users/me behind
// RequireUser, on 127.0.0.1. At start it registers the bench user, logs it
// in and writes the access token to -token-file (or prints "token TOKEN"),
// then prints "listening on ADDR".
//
// It reads JWT_SECRET_KEY (at least 32 bytes, required), JWT_ISSUER and
// JWT_AUDIENCE; Argon2id uses the library defaults (m=19456 KiB, t=2, p=1).
//
//	JWT_SECRET_KEY=... forgeauth -port 8081 -mode basic -token-file /tmp/token
//	JWT_SECRET_KEY=... forgeauth -port 0 -ip-limit=false   # for cmd/loginload
//
// With -pprof-port PORT it also serves net/http/pprof on 127.0.0.1:PORT,
// -token-cache sets auth.Config.TokenCacheSize (-1 turns the cache off), and
// -tokens N -tokens-file FILE writes N distinct access tokens of the bench
// user to FILE, one a line, for a load of many tokens.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/bench/internal/benchsrv"
	"github.com/forgeauth/forgeauth/password"
)

func main() {
	var o options
	flag.IntVar(&o.port, "port", 8081, "TCP port on 127.0.0.1 (0 picks one)")
	flag.StringVar(&o.mode, "mode", "basic", "auth mode: basic or complete")
	flag.StringVar(&o.route, "route", "app", "what answers /users/me: app (RequireUser around an application handler) or builtin (httpauth's endpoint)")
	flag.StringVar(&o.tokenFile, "token-file", "", "write the bench user's access token here (mode 0600) instead of printing it")
	flag.BoolVar(&o.ipLimit, "ip-limit", true, "keep httpauth's per-IP limit (60/min) on the auth endpoints")
	flag.IntVar(&o.pprofPort, "pprof-port", 0, "serve net/http/pprof on 127.0.0.1:PORT (0: off)")
	flag.IntVar(&o.tokenCache, "token-cache", 0, "auth.Config.TokenCacheSize: 0 the library default, -1 off")
	flag.IntVar(&o.tokens, "tokens", 0, "write this many distinct access tokens of the bench user to -tokens-file")
	flag.StringVar(&o.tokensFile, "tokens-file", "", "where -tokens go, one a line (mode 0600)")
	flag.Parse()
	if os.Getenv("GOMEMLIMIT") == "" {
		// As examples/server does: one Argon2id block per CPU plus 64 MiB,
		// so the collector reclaims the block every hash leaves behind
		// before the heap doubles.
		debug.SetMemoryLimit(int64(runtime.GOMAXPROCS(0))*int64(password.DefaultParams().Memory)<<10 + 64<<20)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "forgeauth:", err)
		os.Exit(1)
	}
}

type options struct {
	port       int
	mode       string
	route      string
	tokenFile  string
	ipLimit    bool
	pprofPort  int
	tokenCache int
	tokens     int
	tokensFile string
}

func run(o options) error {
	st, err := benchsrv.SettingsFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	mode := auth.Mode(o.mode)
	if mode != auth.ModeBasic && mode != auth.ModeComplete {
		return fmt.Errorf("unknown -mode %q (want basic or complete)", o.mode)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The per-IP switch also turns the failed-login limit off: a login
	// load sends one user's logins from one address at once.
	loginLimit := 0
	if !o.ipLimit {
		loginLimit = -1
	}
	fa, err := benchsrv.NewForgeauth(ctx, benchsrv.ForgeauthConfig{
		Settings:         st,
		Mode:             mode,
		Route:            benchsrv.Route(o.route),
		DisableIPLimit:   !o.ipLimit,
		TokenCacheSize:   o.tokenCache,
		LoginMaxFailures: loginLimit,
	})
	if err != nil {
		return err
	}
	defer func() { _ = fa.Service.Shutdown(context.Background()) }()

	if o.tokenFile != "" {
		if err := os.WriteFile(o.tokenFile, []byte(fa.Token+"\n"), 0o600); err != nil {
			return err
		}
	} else {
		fmt.Printf("token %s\n", fa.Token)
	}
	if o.tokens > 0 {
		if o.tokensFile == "" {
			return errors.New("-tokens needs -tokens-file")
		}
		toks, err := fa.Tokens(o.tokens)
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.tokensFile, []byte(strings.Join(toks, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}
	if o.pprofPort != 0 {
		go servePprof(o.pprofPort)
	}
	return benchsrv.Serve(ctx, o.port, fa.Handler, os.Stdout)
}

// servePprof serves the profiles on their own listener, away from the
// measured server's mux.
func servePprof(port int) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	if err := http.ListenAndServe(addr, mux); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "forgeauth: pprof:", err)
	}
}
