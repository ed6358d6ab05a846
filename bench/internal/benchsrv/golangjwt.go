package benchsrv

import (
	"context"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forgeauth/forgeauth/store"
)

// golangJWTClaims is the payload the hand-written middleware reads: the
// registered claims and the one of forgeauth's it checks.
type golangJWTClaims struct {
	TokenType string `json:"token_type"`
	jwt.RegisteredClaims
}

// NewGolangJWT returns GET [MePath] behind the middleware a Go developer
// writes by hand with github.com/golang-jwt/jwt/v5: the bearer token parsed
// with jwt.ParseWithClaims into a typed claims struct, HS256 only, exp
// required, iss and aud checked (30 s of leeway); then token_type "access"
// required and the user looked up by sub (the username) in a map holding
// [FixtureUser], refusing an inactive one. Every failure is a 401. It is the
// peer that shows what forgeauth's RequireUser costs over a minimal, honest
// JWT check. The handler is safe for concurrent use.
//
// It returns an error wrapping [ErrWeakSecret] for a short secret.
func NewGolangJWT(st Settings) (http.Handler, error) {
	st, err := st.complete()
	if err != nil {
		return nil, err
	}
	u := FixtureUser()
	users := map[string]store.User{u.Username: u}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(st.Issuer),
		jwt.WithAudience(st.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(jwtLeeway),
	)
	var key any = st.Secret // boxed once
	keyfunc := func(*jwt.Token) (any, error) { return key, nil }

	requireUser := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				writeUnauthorized(w)
				return
			}
			var c golangJWTClaims
			if _, err := parser.ParseWithClaims(tok, &c, keyfunc); err != nil || c.TokenType != "access" {
				writeUnauthorized(w)
				return
			}
			u, ok := users[c.Subject]
			if !ok || !u.IsActive {
				writeUnauthorized(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
		})
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+MePath, requireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := r.Context().Value(userKey{}).(store.User)
		if !ok {
			writeUnauthorized(w)
			return
		}
		writeUser(w, u)
	})))
	return mux, nil
}
