package benchsrv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// shutdownGrace bounds how long Serve waits for requests in flight.
const shutdownGrace = 5 * time.Second

// Serve listens on 127.0.0.1:port (0 picks a free port), writes the line
// "listening on 127.0.0.1:PORT" to out once it accepts connections, and
// serves h until ctx ends; it then shuts the server down, letting requests
// in flight finish for up to five seconds. It returns nil after a clean
// shutdown, or the error of listening, serving or shutting down.
func Serve(ctx context.Context, port int, h http.Handler, out io.Writer) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("benchsrv: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "listening on %s\n", ln.Addr())

	select {
	case err := <-errc:
		return fmt.Errorf("benchsrv: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("benchsrv: shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("benchsrv: %w", err)
	}
	return nil
}
