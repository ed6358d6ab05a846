// Command chi runs forgeauth in Complete mode on a chi router
// (github.com/go-chi/chi/v5), with the SQLite store in forgeauth-chi.db and
// the development mailer, which logs every email, code included, instead of
// sending it.
//
//	JWT_SECRET_KEY=$(openssl rand -base64 48) go run ./examples/chi
//
// Register, read the code in the log, POST it to /api/v1/auth/verify-email,
// log in, then call the routes of the protected group with the access token:
// GET /api/v1/hello and GET /api/v1/notes.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store/sqlstore"
	"github.com/forgeauth/forgeauth/token"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, logger); err != nil {
		logger.Error("server failed", "error", err)
		stop()
		os.Exit(1)
	}
}

// serve runs the server on :8080 until ctx ends.
func serve(ctx context.Context, logger *slog.Logger) error {
	secret := []byte(os.Getenv("JWT_SECRET_KEY")) // at least 32 bytes
	if len(secret) == 0 {
		secret = []byte(rand.Text() + rand.Text())
		logger.Warn("JWT_SECRET_KEY is not set: using a random secret; tokens will not survive a restart")
	}

	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN("forgeauth-chi.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		return err
	}

	svc, err := auth.New(auth.Config{
		Store:  st,
		Mailer: mailer.NewLog(logger), // development only: use mailer.NewSMTP in production
		Token:  token.Config{Secret: secret},
		Logger: logger,
	})
	if err != nil {
		return err
	}
	h, err := httpauth.New(svc, httpauth.Options{Logger: logger})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Addr:              ":8080",
		Handler:           newRouter(h),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("listening", "addr", srv.Addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	// Finish the requests in flight, then send the queued emails.
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return svc.Shutdown(sctx)
}

// newRouter mounts the forgeauth endpoints on a chi router and adds a
// group of routes that only signed-in users reach.
func newRouter(h *httpauth.Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)

	h.Mount(r) // chi.Router has Handle(pattern, handler)

	protected := r.With(h.RequireUser)
	protected.Get("/api/v1/hello", func(w http.ResponseWriter, r *http.Request) {
		u, _ := httpauth.UserFrom(r.Context())
		fmt.Fprintf(w, "Hello, %s!\n", u.Username)
	})
	protected.Get("/api/v1/notes", func(w http.ResponseWriter, r *http.Request) {
		u, _ := httpauth.UserFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"owner": u.Username, "notes": []string{}})
	})
	return r
}
