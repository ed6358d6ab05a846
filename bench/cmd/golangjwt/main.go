// Command golangjwt serves GET /api/v1/users/me on 127.0.0.1 behind a
// hand-written github.com/golang-jwt/jwt/v5 middleware, for comparison
// with forgeauth's RequireUser. It reads the same JWT_SECRET_KEY,
// JWT_ISSUER and JWT_AUDIENCE as the forgeauth bench server, so that
// server's tokens work here.
//
//	JWT_SECRET_KEY=... golangjwt -port 8084
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
	port := flag.Int("port", 8084, "TCP port on 127.0.0.1 (0 picks one)")
	flag.Parse()
	if err := run(*port); err != nil {
		fmt.Fprintln(os.Stderr, "golangjwt:", err)
		os.Exit(1)
	}
}

func run(port int) error {
	st, err := benchsrv.SettingsFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	h, err := benchsrv.NewGolangJWT(st)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return benchsrv.Serve(ctx, port, h, os.Stdout)
}
