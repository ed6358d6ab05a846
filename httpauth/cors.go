package httpauth

import (
	"errors"
	"net/http"
)

// errCrossSite is a cookie-mode unsafe request, or a preflight, from an
// origin that is not trusted.
var errCrossSite = errors.New("httpauth: cross-origin request")

// detailCrossSite is the detail of the 403 of errCrossSite.
const detailCrossSite = "Cross-origin requests are refused unless the origin is trusted."

// The CORS answers of cookie mode.
const (
	corsAllowMethods = "GET, POST, DELETE"
	corsAllowHeaders = "Authorization, Content-Type"
	corsExposed      = "Retry-After, WWW-Authenticate"
	corsMaxAge       = "600"
)

// browserGate runs before every endpoint in cookie mode. It answers CORS
// for the trusted origins (the origin echoed with credentials allowed,
// never "*"), answers preflights itself, and refuses with 403 forbidden a
// preflight from an untrusted origin and an unsafe request that
// http.CrossOriginProtection refuses. It reports whether the request may
// go on to the endpoints.
func (h *Handler) browserGate(w http.ResponseWriter, r *http.Request) bool {
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	_, trusted := h.corsOrigins[origin]
	if trusted {
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Set("Access-Control-Allow-Credentials", "true")
		hdr.Set("Access-Control-Expose-Headers", corsExposed)
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if !trusted {
			h.writeError(w, r, errCrossSite)
			return false
		}
		hdr.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
		hdr.Set("Access-Control-Allow-Methods", corsAllowMethods)
		hdr.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		hdr.Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	if err := h.csrf.Check(r); err != nil {
		h.writeError(w, r, errCrossSite)
		return false
	}
	return true
}
