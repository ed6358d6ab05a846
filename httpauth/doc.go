// Package httpauth is the net/http adapter of forgeauth: it serves the
// authentication endpoints of an [auth.Service] and gives the middleware that
// protects an application's own routes.
//
// # Mounting
//
// [New] makes a [Handler] for a service; [Handler.Mount] registers it on any
// router with a Handle(pattern, handler) method ([Mux]: *http.ServeMux,
// chi.Router). The application wraps its own routes with
// [Handler.RequireUser] and reads the user with [UserFrom]:
//
//	h, err := httpauth.New(svc, httpauth.Options{})
//	if err != nil { ... }
//	mux := http.NewServeMux()
//	h.Mount(mux) // /api/v1/auth/..., /api/v1/users/me, /api/v1/openapi.json
//	mux.Handle("GET /notes", h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		u, _ := httpauth.UserFrom(r.Context())
//		fmt.Fprintf(w, "notes of %s\n", u.Username)
//	})))
//
// On a router mounted under a path (a chi sub-router, a mux behind
// http.StripPrefix) use [Handler.MountAt] with that path instead:
//
//	r.Route("/api/v1", func(r chi.Router) {
//		if err := h.MountAt(r, "/api/v1"); err != nil { ... }
//	})
//
// The Handler itself may also be mounted whole: r.Mount("/api/v1", h) on
// chi, or mux.Handle("/api/v1/", http.StripPrefix("/api/v1", h)).
// [Options.Prefix] is always the full path of the endpoints, as clients
// see it.
//
// In Basic mode the handler serves register, login and users/me; in Complete
// mode also email verification, refresh, logout, logout-all, forgot, reset
// and change password, and the device list. {prefix}/openapi.json is the
// OpenAPI 3.1 document of the endpoints served. In both modes, when the
// tokens are signed with a key pair (EdDSA, ES256, RS256),
// {prefix}/auth/jwks.json serves the public keys as a JWK Set, from which
// other services verify the tokens ([Handler.JWKS] serves it elsewhere, such
// as at /.well-known/jwks.json).
//
// # Middleware
//
// [Handler.RequireUser] loads the user on every request, so a disabled user
// or a revoked session is refused at once; when the store cannot be reached
// it answers 503 (it fails closed). [Handler.RequireClaims] only verifies the
// token, without the store, for routes that can accept that a revocation
// takes effect when the token expires. [Handler.OptionalUser] serves
// anonymous requests too, and [Handler.RequireSuperuser] only superusers.
// [ClaimsFrom] gives the verified claims, is_superuser and the custom claims
// of auth.Config.CustomClaims included; [CustomClaims] decodes the latter.
// [Handler.RequireMFA] admits only sessions signed in with a second factor
// (403 insufficient_user_authentication otherwise). Only "Authorization:
// Bearer" is read, never a query parameter.
//
// # Requests and errors
//
// Bodies are JSON objects whose members are matched exactly: unknown, repeated
// or differently-cased members, trailing data, a wrong type, a missing member,
// invalid UTF-8 or a value that is not text (a NUL character, also written
// as the escape \u0000, or an escape of a lone UTF-16 surrogate) are
// answered 400, so such input never reaches the store; another content type
// 415; a body over [Options.MaxBodyBytes] 413. Login also takes an OAuth2
// password-grant style form. Errors are [RFC 9457] application/problem+json documents with a stable
// code, mapped from the service's errors in one place; any other error is
// logged and answered 500 "internal" without its text. 401 answers carry a
// WWW-Authenticate challenge ([RFC 6750]), 429 and 503 a Retry-After.
//
// # Client IP and devices
//
// The client IP (for the per-IP limit and the device list) is the peer
// address unless the peer is one of [Options.TrustedProxies]; see [ClientIP].
// The per-IP limit counts an IPv6 client by its /64 network
// ([Options.IPv6PrefixLen]), so that one host cannot rotate through its
// addresses to escape it; see [ClientNetwork].
// A login's device name and type come from the body or, when absent, from the
// User-Agent ("Chrome on macOS", "mobile"). The User-Agent is not the
// client's to choose in a browser, so it is never refused: it is kept
// cleaned (control characters dropped, invalid UTF-8 replaced by U+FFFD) and
// cut to 256 characters.
//
// # Browsers
//
// [Options.Cookies] makes a Handler the transport of a browser application:
// the refresh token lives in a Secure, HttpOnly, SameSite=Strict cookie and
// never in a JSON body, every unsafe request passes cross-origin protection,
// and CORS answers only [Options.TrustedOrigins]; see [CookieOptions]. Mount
// one beside the bearer Handler, under another prefix:
//
//	web, err := httpauth.New(svc, httpauth.Options{
//		Prefix:  "/web/api/v1",
//		Cookies: &httpauth.CookieOptions{},
//	})
//
// [RFC 9457]: https://www.rfc-editor.org/rfc/rfc9457
// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
package httpauth
