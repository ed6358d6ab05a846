package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
)

// readyTimeout bounds the database check of /readyz, so a probe gets an
// answer before its own timeout.
const readyTimeout = 2 * time.Second

// routes returns the server's handler: the forgeauth endpoints under
// /api/v1, the probes, the example routes, and what each of mounts
// registers (the browser page and its cookie API).
func routes(svc *auth.Service, h *httpauth.Handler, logger *slog.Logger, proxies []netip.Prefix, mounts ...func(*http.ServeMux)) http.Handler {
	mux := http.NewServeMux()
	h.Mount(mux)
	// The public keys of the tokens, where JOSE libraries look for them; 404
	// with an HMAC secret.
	mux.Handle("GET /.well-known/jwks.json", h.JWKS())
	for _, m := range mounts {
		if m != nil {
			m(mux)
		}
	}

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := svc.Ready(ctx); err != nil {
			logger.WarnContext(ctx, "not ready", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})

	// A route only signed-in users reach.
	mux.Handle("GET /api/v1/hello", h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := httpauth.UserFrom(r.Context())
		writeJSON(w, http.StatusOK, map[string]string{"message": "Hello, " + u.Username + "!"})
	})))
	// A route for everyone that greets signed-in users by name.
	mux.Handle("GET /api/v1/public", h.OptionalUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "anonymous"
		if u, ok := httpauth.UserFrom(r.Context()); ok {
			name = u.Username
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": "Hello, " + name})
	})))

	return accessLog(withDeadline(mux, requestTimeout), logger, proxies)
}

// requestTimeout bounds the work of one request. Without it a database that
// stops answering, without closing its connections, would hold each request
// until the client gave up; with it the store call fails with the deadline,
// which the service answers as 503 unavailable: protected routes fail
// closed, and quickly enough for a client to retry.
const requestTimeout = 10 * time.Second

// withDeadline gives every request's context a deadline of d.
func withDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// writeJSON writes v as the JSON body of a response that must not be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// accessLog logs one line per request: method, path, status, duration and
// client IP. It never logs the query string or a header, which could carry
// a token.
func accessLog(next http.Handler, logger *slog.Logger, proxies []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", httpauth.ClientIP(r, proxies)),
		)
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
