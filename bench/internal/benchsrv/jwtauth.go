package benchsrv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/go-chi/jwtauth/v5"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// jwtLeeway is the clock skew tolerated, as forgeauth's token manager does.
const jwtLeeway = 30 * time.Second

type userKey struct{}

// NewJWTAuth returns GET [MePath] behind github.com/go-chi/jwtauth/v5:
// jwtauth.Verifier checks the HS256 signature and, through the validate
// options, exp, iat, nbf, iss and aud (30 s of leeway); a small
// authenticator then requires exp, a sub and token_type "access", looks the
// user up by sub (the username) in an in-memory store holding
// [FixtureUser], and refuses an inactive one. A failure is a 401 (503 if the
// store fails). The handler is safe for concurrent use.
//
// It returns an error wrapping [ErrWeakSecret] for a short secret.
func NewJWTAuth(st Settings) (http.Handler, error) {
	st, err := st.complete()
	if err != nil {
		return nil, err
	}
	users := memstore.New()
	if err := users.CreateUser(context.Background(), FixtureUser()); err != nil {
		return nil, fmt.Errorf("benchsrv: %w", err)
	}
	ja := jwtauth.New("HS256", st.Secret, nil,
		jwt.WithIssuer(st.Issuer),
		jwt.WithAudience(st.Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(jwtLeeway),
	)
	mux := http.NewServeMux()
	mux.Handle("GET "+MePath, jwtauth.Verifier(ja)(authenticator(users)(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			u, ok := r.Context().Value(userKey{}).(store.User)
			if !ok {
				writeUnauthorized(w)
				return
			}
			writeUser(w, u)
		}))))
	return mux, nil
}

// authenticator admits a request whose token jwtauth.Verifier accepted,
// that carries a sub naming an active user and that is an access token.
func authenticator(users store.Store) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _, err := jwtauth.FromContext(r.Context())
			if err != nil || tok == nil || tok.Subject() == "" || tok.Expiration().IsZero() {
				writeUnauthorized(w)
				return
			}
			if typ, ok := tok.Get("token_type"); !ok || typ != "access" {
				writeUnauthorized(w)
				return
			}
			u, err := users.UserByUsername(r.Context(), tok.Subject())
			switch {
			case errors.Is(err, store.ErrNotFound), err == nil && !u.IsActive:
				writeUnauthorized(w)
				return
			case err != nil:
				http.Error(w, "service unavailable", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
		})
	}
}
