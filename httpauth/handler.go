package httpauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/ratelimit"
)

// ErrInvalidOptions is returned, wrapped with the reason, by [New] for a nil
// service or an unusable [Options] value.
var ErrInvalidOptions = errors.New("httpauth: invalid options")

// ErrInvalidMount is returned, wrapped with the reason, by [Handler.MountAt]
// for a mount that cannot route a request to the endpoints.
var ErrInvalidMount = errors.New("httpauth: invalid mount")

// The defaults of [Options].
const (
	DefaultPrefix       = "/api/v1"
	DefaultMaxBodyBytes = 16 << 10
	defaultIPLimit      = 60
	defaultIPWindow     = time.Minute
)

// Options configures a [Handler]. The zero value is the secure default:
// routes under /api/v1, 60 requests per minute per client IP (per /64 for
// IPv6 clients) over the auth endpoints, request bodies up to 16 KiB,
// X-Forwarded-For ignored.
type Options struct {
	// Prefix is the path under which the routes live, starting with "/"
	// and without a trailing "/"; "" means "/api/v1" and "/" the root. It
	// may hold letters, digits and "-._~/" only. It is the full path as
	// clients see it (the OpenAPI document's server URL), also when the
	// Handler is mounted on a sub-router ([Handler.MountAt]) or behind
	// http.StripPrefix.
	Prefix string

	// IPLimiter limits requests per client IP over the auth endpoints
	// (register, login, verify-email, resend-verification, refresh, logout,
	// forgot-password, reset-password, change-password), keyed by the
	// client's network (see IPv6PrefixLen and [ClientNetwork]). nil means an
	// in-memory limiter of 60 requests per minute per IP; give a shared
	// limiter (ratelimit/redislimit) when several instances serve one
	// site. When the limiter fails the request is answered 503: the limit
	// fails closed.
	IPLimiter ratelimit.Limiter

	// DisableIPLimit turns the per-IP limit off (IPLimiter is then unused).
	DisableIPLimit bool

	// TrustedProxies are the proxies whose X-Forwarded-For is believed;
	// see [ClientIP]. Empty means the peer address is the client.
	TrustedProxies []netip.Prefix

	// IPv6PrefixLen is the length of the IPv6 prefix whose addresses count
	// as one client for the per-IP limit; see [ClientNetwork]. IPv4
	// addresses (IPv4-mapped IPv6 ones too) always count one by one. 0
	// means 64 ([DefaultIPv6PrefixLen]); 128 counts each IPv6 address on
	// its own; a value outside 0..128 is an error from [New].
	IPv6PrefixLen int

	// TrustedOrigins are the origins ("https://app.example.com": scheme,
	// host and port, no path) from which a browser may post the form login
	// cross-origin; see [Handler]. With Cookies set they are also the
	// origins that may call every endpoint with credentials, and the only
	// ones CORS answers. Empty means same-origin only. A value
	// that is not such an origin is an error from [New].
	TrustedOrigins []string

	// Cookies, when set, makes the Handler the transport of a browser
	// application: the refresh token in an HttpOnly cookie, cross-origin
	// protection on every unsafe request, and CORS for TrustedOrigins;
	// see [CookieOptions]. nil (the default) is the bearer transport.
	Cookies *CookieOptions

	// Logger receives internal errors (never shown to clients). nil means
	// slog.Default().
	Logger *slog.Logger

	// MaxBodyBytes bounds request bodies; a larger body is answered 413.
	// 0 means 16 KiB; negative is an error.
	MaxBodyBytes int64
}

// Mux is what [Handler.Mount] registers routes on: *http.ServeMux and
// chi.Router both satisfy it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Handler is the net/http adapter of an [auth.Service]: it serves the HTTP
// endpoints under a prefix (the Basic or Complete set, following the
// service's mode), plus the OpenAPI document of those
// endpoints at {prefix}/openapi.json, and gives the middleware that protects
// the application's own routes.
//
// Make one with [New]; the zero value is not usable. A Handler is safe for
// concurrent use.
//
// Every answer carries X-Content-Type-Options: nosniff, Cache-Control:
// no-store (but the JWK Set's, see [Handler.JWKS]) and Referrer-Policy:
// no-referrer; errors are RFC 9457
// application/problem+json documents with a stable "code".
//
// # Login CSRF
//
// A browser posts an HTML form to any site without asking it first, so a
// hostile page could sign its visitor in to an account of the attacker's
// (login CSRF). The form login (application/x-www-form-urlencoded) is
// therefore refused with 403 forbidden when it comes from another origin,
// as [http.CrossOriginProtection] tells it: a Sec-Fetch-Site header other
// than same-origin or none, or, without that header, an Origin whose host
// is not the request's Host. Origins in [Options.TrustedOrigins] pass.
// Same-origin forms and clients that send neither header (curl, mobile and
// server clients) are not affected. Behind a proxy that rewrites Host, set
// TrustedOrigins to the origins of the site. JSON bodies are not checked:
// application/json is not a content type a form can send, and a cross-origin
// page can send it only after a CORS preflight that the application's CORS
// policy decides.
type Handler struct {
	svc     *auth.Service
	prefix  string
	mux     *http.ServeMux
	paths   []string            // the route paths under the prefix, for Mount
	served  map[string][]string // the methods served on each route path, for the OpenAPI document
	limiter ratelimit.Limiter
	trusted []netip.Prefix
	v6Bits  int                         // IPv6 prefix length of a client's network
	csrf    *http.CrossOriginProtection // for the form login
	logger  *slog.Logger
	maxBody int64
	openapi []byte
	// Cookie mode: nil cookie is the bearer transport.
	cookie      *refreshCookie
	corsOrigins map[string]struct{}
}

// New returns a Handler for svc. It returns an error matching
// [ErrInvalidOptions] when svc is nil, the prefix is not a clean path,
// MaxBodyBytes is negative, IPv6PrefixLen is outside 0..128 or a trusted
// origin is not an origin, or Cookies is unusable (see [CookieOptions]),
// and the error
// of ratelimit.NewMemory if the default limiter cannot be made.
func New(svc *auth.Service, opts Options) (*Handler, error) {
	if svc == nil {
		return nil, fmt.Errorf("%w: nil auth service", ErrInvalidOptions)
	}
	prefix, err := cleanPrefix(opts.Prefix)
	if err != nil {
		return nil, err
	}
	if opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("%w: negative MaxBodyBytes", ErrInvalidOptions)
	}
	v6Bits, err := ipv6PrefixLen(opts.IPv6PrefixLen)
	if err != nil {
		return nil, err
	}
	csrf := http.NewCrossOriginProtection()
	for _, o := range opts.TrustedOrigins {
		if err := csrf.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("%w: trusted origin %q is not scheme://host[:port]", ErrInvalidOptions, o)
		}
	}
	h := &Handler{
		svc:     svc,
		prefix:  prefix,
		mux:     http.NewServeMux(),
		trusted: slices.Clone(opts.TrustedProxies),
		v6Bits:  v6Bits,
		csrf:    csrf,
		logger:  opts.Logger,
		maxBody: opts.MaxBodyBytes,
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if !opts.DisableIPLimit {
		h.limiter = opts.IPLimiter
		if h.limiter == nil {
			mem, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
				Rule: ratelimit.Rule{Limit: defaultIPLimit, Window: defaultIPWindow},
			})
			if err != nil {
				return nil, fmt.Errorf("httpauth: IP limiter: %w", err)
			}
			h.limiter = mem
		}
	}
	basic := svc.Mode() == auth.ModeBasic
	h.routes(basic)
	if h.openapi, err = openAPIDocument(prefix, h.served); err != nil {
		return nil, err
	}
	if opts.Cookies != nil {
		if err := h.useCookies(*opts.Cookies, opts.TrustedOrigins); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// cleanPrefix checks and normalises Options.Prefix.
func cleanPrefix(p string) (string, error) {
	if p == "" {
		return DefaultPrefix, nil
	}
	return cleanPath(p, "prefix", ErrInvalidOptions)
}

// cleanPath checks and normalises a path given in the configuration: it
// starts with "/", holds letters, digits and "-._~/" in clean segments, and
// loses a trailing "/" ("/" becomes "", the root). Errors wrap sentinel and
// name the value as what.
func cleanPath(p, what string, sentinel error) (string, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s %q %s", sentinel, what, p, why) }
	if p == "" || p[0] != '/' {
		return "", bad("does not start with /")
	}
	p = strings.TrimSuffix(p, "/")
	for _, c := range []byte(p) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '/':
		default:
			return "", bad("holds a character other than letters, digits and -._~/")
		}
	}
	for _, seg := range strings.Split(p, "/")[1:] {
		if seg == "" || seg == "." || seg == ".." {
			return "", bad("is not a clean path")
		}
	}
	return p, nil
}

// fallbackPattern catches every request that no endpoint matches.
const fallbackPattern = "/"

// route is one endpoint.
type route struct {
	method, path string
	// limited routes count against the per-IP limit.
	limited bool
	// bearer routes run behind RequireUser.
	bearer bool
	// superuser wraps the route in RequireSuperuser.
	superuser bool
	serve     http.HandlerFunc
}

// routes registers the endpoints of the mode on the internal mux.
func (h *Handler) routes(basic bool) {
	rs := []route{
		{method: "POST", path: "/auth/register", limited: true, serve: h.register},
		{method: "POST", path: "/auth/login", limited: true, serve: h.login},
		{method: "GET", path: "/users/me", bearer: true, serve: h.me},
	}
	if !basic {
		rs = append(rs,
			route{method: "POST", path: "/auth/verify-email", limited: true, serve: h.verifyEmail},
			route{method: "POST", path: "/auth/resend-verification", limited: true, serve: h.resendVerification},
			route{method: "POST", path: "/auth/refresh", limited: true, serve: h.refresh},
			route{method: "POST", path: "/auth/logout", limited: true, serve: h.logout},
			route{method: "POST", path: "/auth/logout-all", bearer: true, serve: h.logoutAll},
			route{method: "POST", path: "/auth/forgot-password", limited: true, serve: h.forgotPassword},
			route{method: "POST", path: "/auth/reset-password", limited: true, serve: h.resetPassword},
			route{method: "POST", path: "/auth/change-password", limited: true, bearer: true, serve: h.changePassword},
			route{method: "GET", path: "/auth/devices", bearer: true, serve: h.devices},
			route{method: "DELETE", path: "/auth/devices/{id}", bearer: true, serve: h.revokeDevice},
		)
		rs = append(rs, h.providerRoutes()...)
	}
	if rt, ok := h.jwksRoute(); ok {
		rs = append(rs, rt)
	}
	if h.svc.MFAEnabled() {
		rs = append(rs, h.mfaRoutes()...)
	}
	if h.svc.PasskeysEnabled() {
		rs = append(rs, h.passkeyRoutes()...)
	}
	rs = append(rs, h.lifecycleRoutes(basic)...)
	rs = append(rs, route{method: "GET", path: "/openapi.json", serve: h.serveOpenAPI})

	h.mux.HandleFunc(fallbackPattern, h.fallback)
	for _, rt := range rs {
		var next http.Handler = rt.serve
		if rt.bearer {
			next = h.RequireUser(next)
		}
		if rt.superuser {
			next = h.RequireSuperuser(next)
		}
		if rt.limited && h.limiter != nil {
			next = h.limitIP(next)
		}
		h.mux.Handle(rt.method+" "+h.prefix+rt.path, next)
		if h.served == nil {
			h.served = map[string][]string{}
		}
		h.served[rt.path] = append(h.served[rt.path], strings.ToLower(rt.method))
		if !slices.Contains(h.paths, rt.path) {
			h.paths = append(h.paths, rt.path)
		}
	}
}

// ServeHTTP serves the endpoints. It finds the endpoint from the request
// path: the path after the prefix, or, when the path with the prefix put in
// front names an endpoint, the path as given: a router that took the prefix
// off already (http.StripPrefix(prefix, h), or [Handler.MountAt] on a
// router behind one) reaches the endpoints too. A path that names no
// endpoint (or an endpoint of Complete mode when the service is in Basic
// mode) is answered 404 not_found, and a known path with another method 405
// method_not_allowed with an Allow header, both as problem documents.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if h.cookie != nil && !h.browserGate(w, r) {
		return
	}
	h.mux.ServeHTTP(w, r)
}

// fallback answers what no endpoint pattern matches: registered on "/", it
// is the least specific pattern of the internal mux, so the route is matched
// once per request and only a miss pays for trying the path as one without
// its prefix, and then for working out 404 or 405.
func (h *Handler) fallback(w http.ResponseWriter, r *http.Request) {
	alt := h.withPrefix(r)
	if alt != nil {
		if _, pattern := h.mux.Handler(alt); pattern != fallbackPattern {
			h.mux.ServeHTTP(w, alt)
			return
		}
	}
	allow := h.allowed(r)
	if len(allow) == 0 && alt != nil {
		allow = h.allowed(alt)
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, newProblem(codeMethodNotAllowed, "The method is not allowed for this path; see the Allow header."))
		return
	}
	h.writeError(w, r, errRouteNotFound)
}

// withPrefix returns r with the prefix put in front of its path, or nil when
// the prefix is the root.
func (h *Handler) withPrefix(r *http.Request) *http.Request {
	if h.prefix == "" {
		return nil
	}
	return withPath(r, h.prefix)
}

// withPath returns a shallow copy of r whose path has base put in front,
// the reverse of http.StripPrefix. base is a clean path (see cleanPath),
// the same escaped or not.
func withPath(r *http.Request, base string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path = base + r.URL.Path
	if r.URL.RawPath != "" {
		r2.URL.RawPath = base + r.URL.RawPath
	}
	return r2
}

// allowed lists the methods the internal mux serves for r's path with an
// endpoint (not the fallback).
func (h *Handler) allowed(r *http.Request) []string {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != fallbackPattern {
			allow = append(allow, m)
		}
	}
	return allow
}

// Mount registers the handler on m, a router that sees whole request paths
// (the application's root *http.ServeMux or chi.Router): one method-less
// pattern per endpoint path (so that the Handler itself answers 405 with the
// Allow header), the subtree pattern prefix+"/", which on *http.ServeMux
// also routes the unknown paths under the prefix to the Handler for a
// problem+json 404, and, on any other router, prefix+"/*", which does the
// same on chi. The patterns use the {id} wildcard syntax that
// *http.ServeMux and chi share. Mount panics if m does (a conflicting
// pattern).
//
// On a router that is itself mounted under a path (a chi sub-router made
// by r.Route or mounted with r.Mount, a mux behind http.StripPrefix) the
// patterns of Mount would name paths under that path again, and no request
// would reach them: use [Handler.MountAt] there. With chi, r.Mount(prefix,
// h) also works: it sends every path under the prefix to the Handler; so
// does mux.Handle(prefix+"/", http.StripPrefix(prefix, h)) on
// *http.ServeMux.
func (h *Handler) Mount(m Mux) {
	h.mount(m, h.prefix, h)
}

// MountAt registers the handler, as [Handler.Mount] does, on m, a router
// that serves the paths under base: a chi sub-router made by
// r.Route(base, ...) or mounted with r.Mount(base, sub), or a mux behind
// http.StripPrefix(base, mux). The patterns are the endpoint paths relative
// to base, so the prefix must be base or lie under it: with the default
// prefix /api/v1, base may be "/api/v1", "/api" or "/" ("" and "/" mean a
// router that sees whole paths: that is Mount). The Handler finds the
// endpoint whether the router left the request path whole (chi) or took
// base off (http.StripPrefix).
//
// MountAt returns an error matching [ErrInvalidMount], and registers
// nothing, when m is nil, base is not a clean path (the rules of
// [Options.Prefix]) or the prefix is not base nor under it (for example
// base "/api/v2" with the prefix "/api/v1": no request the router sees
// could reach an endpoint). It panics if m does (a conflicting pattern).
func (h *Handler) MountAt(m Mux, base string) error {
	if m == nil {
		return fmt.Errorf("%w: nil router", ErrInvalidMount)
	}
	if base == "" {
		base = "/"
	}
	b, err := cleanPath(base, "base", ErrInvalidMount)
	if err != nil {
		return err
	}
	var handler http.Handler = h
	switch {
	case b == "", b == h.prefix:
	case strings.HasPrefix(h.prefix, b+"/"):
		// A router behind http.StripPrefix(b, ...) hands on paths that
		// lack b but keep the rest of the prefix: put b back.
		handler = &stripped{h: h, base: b}
	default:
		display := h.prefix
		if display == "" {
			display = "/"
		}
		return fmt.Errorf("%w: the prefix %q is not under %q, so a router there never sees the endpoints; set Options.Prefix to the full path of the endpoints", ErrInvalidMount, display, base)
	}
	h.mount(m, h.prefix[len(b):], handler)
	return nil
}

// mount registers handler on m for the endpoint paths under at.
func (h *Handler) mount(m Mux, at string, handler http.Handler) {
	for _, p := range h.paths {
		m.Handle(at+p, handler)
	}
	m.Handle(at+"/", handler)
	if _, ok := m.(*http.ServeMux); !ok {
		m.Handle(at+"/*", handler)
	}
}

// stripped is the Handler behind a router that takes base, a part of the
// prefix, off the request path.
type stripped struct {
	h    *Handler
	base string
}

func (s *stripped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p != s.h.prefix && !strings.HasPrefix(p, s.h.prefix+"/") {
		r = withPath(r, s.base)
	}
	s.h.ServeHTTP(w, r)
}

// limitIP counts the request against the per-IP limit, under the client's
// network (see [ClientNetwork]), and answers 429 rate_limited when over it,
// or 503 when the limiter fails.
func (h *Handler) limitIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := h.limiter.Allow(r.Context(), "httpauth:ip:"+h.clientNetwork(r))
		if err != nil {
			h.logger.LogAttrs(r.Context(), slog.LevelWarn, "httpauth: IP limiter failed",
				slog.String("path", r.URL.Path), slog.Any("err", err))
			h.writeError(w, r, &retryError{code: codeUnavailable, detail: detailUnavailable, after: time.Second})
			return
		}
		if !res.Allowed {
			h.writeError(w, r, &retryError{code: codeRateLimited, detail: "Too many requests; retry later.", after: res.RetryAfter})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientNetwork is the network of the request's client, or "" when the
// peer has no IP address.
func (h *Handler) clientNetwork(r *http.Request) string {
	addr, ok := clientAddr(r, h.trusted)
	if !ok {
		return ""
	}
	return network(addr, h.v6Bits)
}

// client describes the request's origin for the service: the client IP and
// network (its /64 for IPv6, see Options.IPv6PrefixLen), the User-Agent, and the device name and type given by the client or else
// derived from the User-Agent, each cleaned (control characters dropped,
// invalid UTF-8 replaced) and cut to 256 characters. A User-Agent is cleaned
// rather than refused: a browser user cannot change it.
// device is the optional body members that describe the device of a new
// session: device_name and device_type (derived from the User-Agent when
// absent) and, where a route takes it, the device_token of an earlier
// login.
type device struct{ name, typ, token string }

// fields returns the members; withToken adds device_token.
func (d *device) fields(withToken bool) []field {
	fs := []field{{name: "device_name", dst: &d.name}, {name: "device_type", dst: &d.typ}}
	if withToken {
		fs = append(fs, field{name: "device_token", dst: &d.token})
	}
	return fs
}

// deviceClient is client for a route that starts a session on d.
func (h *Handler) deviceClient(r *http.Request, d device) auth.Client {
	c := h.client(r, d.name, d.typ)
	c.DeviceToken = d.token
	return c
}

func (h *Handler) client(r *http.Request, deviceName, deviceType string) auth.Client {
	ua := r.Header.Get("User-Agent")
	name, typ := parseUserAgent(ua)
	if deviceName != "" {
		name = deviceName
	}
	if deviceType != "" {
		typ = deviceType
	}
	return auth.Client{
		IP:         ClientIP(r, h.trusted),
		Network:    h.clientNetwork(r),
		UserAgent:  clean(ua, maxDeviceRunes),
		DeviceName: clean(name, maxDeviceRunes),
		DeviceType: clean(typ, maxDeviceRunes),
	}
}
