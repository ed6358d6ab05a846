package httpauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/forgeauth/forgeauth/auth"
)

// CookieOptions makes a [Handler] the transport of a browser application:
// the refresh token travels in a cookie that page scripts cannot read,
// instead of in JSON bodies. Set [Options.Cookies] to a value (the zero
// value is the secure default) to turn it on; nil leaves the bearer
// transport of the HTTP contract unchanged. Mount a cookie Handler beside a
// bearer one, under its own prefix, when a service has both kinds of
// client.
//
// In cookie mode:
//
//   - Every answer that issues a token pair (login, refresh) sets the
//     refresh token as a cookie (Secure, HttpOnly, SameSite=Strict,
//     Expires at the token's expiry) and leaves refresh_token out of the
//     JSON; refresh_expires_at and the access token stay in it, for the
//     page to keep in memory.
//   - POST /auth/refresh and POST /auth/logout take an empty body (with
//     no Content-Type or application/json), {} or {"refresh_token": ...}.
//     A non-empty refresh_token in the body wins over the cookie (a
//     client that holds a token says which one it means); without one the
//     cookie is read. Neither is 401 invalid_refresh_token.
//   - A cookie that fails (tampered, expired, revoked, reused) is answered
//     401 invalid_refresh_token and cleared; a failing body token leaves
//     the cookie alone. Logout and logout-all clear the cookie on success.
//   - Every unsafe request (POST, PUT, PATCH, DELETE) passes cross-origin
//     protection ([http.CrossOriginProtection]: Sec-Fetch-Site, then
//     Origin against Host), or is refused 403 forbidden before any flow
//     runs; [Options.TrustedOrigins] pass. Browsers on those origins get
//     CORS answers with credentials (the origin echoed, never "*"), and
//     their preflights are answered; a preflight from another origin is
//     403 forbidden.
//   - The OpenAPI document at {prefix}/openapi.json describes the cookie
//     transport: the cookie parameter, optional bodies, Set-Cookie, no
//     refresh_token in the token schema, and the 403 of every unsafe
//     operation.
//
// Browsers keep Secure cookies only from https origins and from
// http://localhost and http://127.0.0.1 (loopback counts as potentially
// trustworthy): serve anything else over TLS.
type CookieOptions struct {
	// Name is the name of the refresh-token cookie. "" means
	// "__Host-forgeauth_refresh" when Path is "/", else
	// "__Secure-forgeauth_refresh". A name must be a valid cookie name
	// starting with "__Secure-", or with "__Host-" when Path is "/" (a
	// __Host- cookie must have Path=/, which browsers enforce); else [New]
	// returns an error matching [ErrInvalidOptions].
	Name string

	// Path scopes the cookie: the browser sends it only to paths under it.
	// "" means the prefix followed by "/auth", where refresh and logout
	// live, so that no other route of the site ever receives the token. It
	// must be a clean path (the rules of [Options.Prefix]); "/" sends it
	// everywhere on the host and allows the __Host- prefix.
	Path string
}

// The default names of the refresh cookie.
const (
	DefaultCookieNameHost   = "__Host-forgeauth_refresh"
	DefaultCookieNameSecure = "__Secure-forgeauth_refresh"
)

// refreshCookie is the checked CookieOptions of a Handler.
type refreshCookie struct {
	name, path string
}

// newRefreshCookie checks opts for a handler with the prefix.
func newRefreshCookie(opts CookieOptions, prefix string) (*refreshCookie, error) {
	c := &refreshCookie{name: opts.Name, path: opts.Path}
	if c.path == "" {
		c.path = prefix + "/auth"
	} else {
		p, err := cleanPath(c.path, "cookie path", ErrInvalidOptions)
		if err != nil {
			return nil, err
		}
		c.path = p
		if c.path == "" {
			c.path = "/"
		}
	}
	if c.name == "" {
		c.name = DefaultCookieNameSecure
		if c.path == "/" {
			c.name = DefaultCookieNameHost
		}
	}
	switch {
	case !validCookieName(c.name):
		return nil, fmt.Errorf("%w: cookie name %q is not a cookie name", ErrInvalidOptions, c.name)
	case strings.HasPrefix(c.name, "__Host-"):
		if c.path != "/" {
			return nil, fmt.Errorf("%w: a __Host- cookie needs Path \"/\", not %q", ErrInvalidOptions, c.path)
		}
	case !strings.HasPrefix(c.name, "__Secure-"):
		return nil, fmt.Errorf("%w: cookie name %q does not start with __Secure- or __Host-", ErrInvalidOptions, c.name)
	}
	return c, nil
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// cookie returns the refresh cookie with value, expiring at expires; an
// empty value is the cookie that clears it.
func (c *refreshCookie) cookie(value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name:     c.name,
		Value:    value,
		Path:     c.path,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	}
	if value == "" {
		ck.MaxAge = -1 // Max-Age=0: gone now
	} else {
		ck.Expires = expires
	}
	return ck
}

// withRefreshCookie moves the refresh token of a token answer into the
// cookie, in cookie mode; it returns the answer to write.
func (h *Handler) withRefreshCookie(w http.ResponseWriter, t tokenJSON) tokenJSON {
	if h.cookie == nil || t.RefreshToken == "" {
		return t
	}
	expires, _ := time.Parse(time.RFC3339, t.RefreshExpiresAt)
	http.SetCookie(w, h.cookie.cookie(t.RefreshToken, expires))
	t.RefreshToken = ""
	return t
}

// clearRefreshCookie clears the refresh cookie, in cookie mode.
func (h *Handler) clearRefreshCookie(w http.ResponseWriter) {
	if h.cookie != nil {
		http.SetCookie(w, h.cookie.cookie("", time.Time{}))
	}
}

// forgetFailedCookie clears the cookie when the refresh token that err
// refused came from it.
func (h *Handler) forgetFailedCookie(w http.ResponseWriter, fromCookie bool, err error) {
	if fromCookie && errors.Is(err, auth.ErrInvalidRefreshToken) {
		h.clearRefreshCookie(w)
	}
}

// errNoRefreshToken is a cookie-mode refresh or logout with neither a body
// token nor a cookie.
var errNoRefreshToken = fmt.Errorf("%w: no refresh token in the body or the cookie", auth.ErrInvalidRefreshToken)

// presentedRefreshToken reads the refresh token of refresh and logout: the
// body's refresh_token (required in bearer mode), or in cookie mode, when
// the body has none, the cookie's; fromCookie tells which. The errors are
// those of decodeBody, and errNoRefreshToken.
func (h *Handler) presentedRefreshToken(w http.ResponseWriter, r *http.Request) (rt string, fromCookie bool, err error) {
	if h.cookie == nil {
		err = h.decodeBody(w, r, acceptJSON, []field{{name: "refresh_token", required: true, dst: &rt}})
		return rt, false, err
	}
	cts := r.Header.Values("Content-Type")
	if len(cts) > 0 {
		if _, err := mediaType(cts, acceptJSON); err != nil {
			return "", false, err
		}
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return "", false, err
	}
	if len(body) > 0 {
		switch {
		case len(cts) == 0:
			return "", false, &requestError{p: newProblem(codeUnsupportedMedia, "The request body must be application/json.")}
		case !utf8.Valid(body):
			return "", false, badRequest("The request body is not valid UTF-8.")
		}
		if err := decodeJSON(body, []field{{name: "refresh_token", dst: &rt}}); err != nil {
			return "", false, err
		}
	}
	if rt != "" {
		return rt, false, nil
	}
	c, err := r.Cookie(h.cookie.name)
	if err != nil || c.Value == "" {
		return "", false, errNoRefreshToken
	}
	return c.Value, true, nil
}

// useCookies turns cookie mode on: the cookie, the CORS origins, and the
// OpenAPI document of the cookie transport.
func (h *Handler) useCookies(opts CookieOptions, origins []string) error {
	c, err := newRefreshCookie(opts, h.prefix)
	if err != nil {
		return err
	}
	h.cookie = c
	h.corsOrigins = make(map[string]struct{}, len(origins))
	for _, o := range origins {
		h.corsOrigins[o] = struct{}{}
	}
	h.openapi, err = cookieDocument(h.openapi, c.name)
	return err
}
