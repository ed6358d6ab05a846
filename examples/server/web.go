package main

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
)

// webPrefix is where the cookie API of the page lives, beside the bearer
// API at /api/v1.
const webPrefix = "/web/api/v1"

// webFiles is the page: HTML, CSS and plain JavaScript, no build step.
//
//go:embed web
var webFiles embed.FS

// pagePolicy is the Content-Security-Policy of the page: its own scripts,
// styles and API only, and no framing.
const pagePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// newWeb reads AUTH_COOKIES (default true) and AUTH_TRUSTED_ORIGINS
// (comma-separated origins that may call the cookie API with credentials)
// and returns what mounts the page at / and its cookie API at
// /web/api/v1, or nil when AUTH_COOKIES is false. opts are those of the
// bearer handler (proxies, the per-IP limiter, the logger), shared. It
// returns an *auth.EnvError for a bad value.
func newWeb(svc *auth.Service, opts httpauth.Options, getenv func(string) string, logger *slog.Logger) (func(*http.ServeMux), error) {
	if on, err := pageEnabled(getenv); !on || err != nil {
		return nil, err
	}
	opts.Prefix = webPrefix
	opts.Cookies = &httpauth.CookieOptions{}
	opts.TrustedOrigins = nil
	for o := range strings.SplitSeq(getenv("AUTH_TRUSTED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			opts.TrustedOrigins = append(opts.TrustedOrigins, o)
		}
	}
	web, err := httpauth.New(svc, opts)
	if errors.Is(err, httpauth.ErrInvalidOptions) {
		return nil, &auth.EnvError{Name: "AUTH_TRUSTED_ORIGINS", Reason: "want origins as scheme://host[:port], comma-separated", Err: err}
	}
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, err
	}
	page := withPageHeaders(http.FileServerFS(static))
	logger.Info("browser page at / with its cookie API", "prefix", webPrefix, "trusted_origins", len(opts.TrustedOrigins))
	return func(mux *http.ServeMux) {
		web.Mount(mux)
		mux.Handle("GET /{$}", page)
		mux.Handle("GET /assets/", page)
	}, nil
}

// pageEnabled reads AUTH_COOKIES: true (the default) serves the page and
// its cookie API. It returns an *auth.EnvError for a bad value.
func pageEnabled(getenv func(string) string) (bool, error) {
	return onByDefault(getenv, "AUTH_COOKIES")
}

// onByDefault reads the boolean variable name, true when unset, and
// returns an *auth.EnvError for a value that is not a boolean.
func onByDefault(getenv func(string) string, name string) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return true, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return false, &auth.EnvError{Name: name, Reason: "want true or false"}
	}
	return on, nil
}

// withPageHeaders adds the page's security headers.
func withPageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pagePolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// warnInsecureCookies warns when the page is on and the server listens on
// more than loopback: its refresh cookie is Secure, which browsers keep
// over plain HTTP only from localhost and 127.0.0.1.
func warnInsecureCookies(addr net.Addr, web bool, logger *slog.Logger) {
	tcp, ok := addr.(*net.TCPAddr)
	if !web || !ok || tcp.IP.IsLoopback() {
		return
	}
	logger.Warn("the page's refresh cookie is Secure: over plain HTTP browsers keep it only at http://localhost and http://127.0.0.1; serve other hosts over HTTPS (a TLS-terminating proxy in front of this server)")
}
