// Command bare is the ceiling of the load harness: GET /api/v1/users/me
// answered with the bench user's JSON and no authentication, on 127.0.0.1.
//
//	bare -port 8082
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
	port := flag.Int("port", 8082, "TCP port on 127.0.0.1 (0 picks one)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := benchsrv.Serve(ctx, *port, benchsrv.NewBare(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}
