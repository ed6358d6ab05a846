// Command jwtauth serves GET /api/v1/users/me on 127.0.0.1 behind
// github.com/go-chi/jwtauth/v5, for comparison with forgeauth's
// RequireUser. It reads the same JWT_SECRET_KEY, JWT_ISSUER and
// JWT_AUDIENCE as the forgeauth bench server, so that server's token works
// here.
//
//	JWT_SECRET_KEY=... jwtauth -port 8083
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/forgeauth/forgeauth/bench/internal/benchsrv"
)

func main() {
	port := flag.Int("port", 8083, "TCP port on 127.0.0.1 (0 picks one)")
	flag.Parse()
	if err := run(*port); err != nil {
		fmt.Fprintln(os.Stderr, "jwtauth:", err)
		os.Exit(1)
	}
}

func run(port int) error {
	st, err := benchsrv.SettingsFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	h, err := benchsrv.NewJWTAuth(st)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return benchsrv.Serve(ctx, port, h, os.Stdout)
}
