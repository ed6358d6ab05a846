package httpauth

import (
	"net/http"
	"strconv"
)

// jwksCacheControl lets caches and verifiers keep the JWK Set for five
// minutes: the time a key must be published before it signs, and the
// longest a removed key is still trusted elsewhere.
const jwksCacheControl = "public, max-age=300"

// jwksRoute returns the route of {prefix}/auth/jwks.json, or false when the
// service signs with an HMAC secret: the path is then unknown, and answers
// 404 not_found.
func (h *Handler) jwksRoute() (route, bool) {
	doc, ok := h.svc.JWKS()
	if !ok {
		return route{}, false
	}
	return route{method: "GET", path: "/auth/jwks.json", serve: serveJWKS(doc)}, true
}

// JWKS returns a handler of the service's JSON Web Key Set (RFC 7517), the
// one the Handler serves at {prefix}/auth/jwks.json, for another path such
// as /.well-known/jwks.json. It answers every request with the set, as
// application/jwk-set+json with Cache-Control: public, max-age=300 (the
// keys are public, and a verifier that caches them for five minutes sees a
// rotation in time when the new key is published five minutes before it
// signs). When the service signs with an HMAC secret, which must never be
// published, it answers 404 not_found as a problem document. Register it
// for GET (which covers HEAD); it does not look at the method. Safe for
// concurrent use.
func (h *Handler) JWKS() http.Handler {
	if rt, ok := h.jwksRoute(); ok {
		return rt.serve
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errRouteNotFound)
	})
}

// serveJWKS serves doc, which never changes: the keys are fixed when the
// service is made.
func serveJWKS(doc []byte) http.HandlerFunc {
	size := strconv.Itoa(len(doc))
	return func(w http.ResponseWriter, _ *http.Request) {
		hdr := w.Header()
		setSecurityHeaders(hdr)
		hdr.Set("Cache-Control", jwksCacheControl)
		hdr.Set("Content-Type", "application/jwk-set+json")
		hdr.Set("Content-Length", size)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(doc)
	}
}
