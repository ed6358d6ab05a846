package httpauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// rsaTestKey is made once: generating RSA keys is slow.
var rsaTestKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// newSigner makes a private key for alg: "EdDSA", "ES256" or "RS256".
func newSigner(tb testing.TB, alg string) crypto.Signer {
	tb.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		k, err = rsaTestKey()
	default:
		tb.Fatalf("unknown algorithm %q", alg)
	}
	require.NoError(tb, err)
	return k
}

// withKeyPair makes the service sign with a new key of alg, with a code
// key (required without a secret).
func withKeyPair(tb testing.TB, alg string) func(*auth.Config) {
	tb.Helper()
	key := newSigner(tb, alg)
	return func(c *auth.Config) {
		c.Token = token.Config{Algorithm: alg, SigningKey: key}
		c.CodeKey = []byte("a code key of at least thirty-two bytes")
	}
}

var algorithms = []string{"EdDSA", "ES256", "RS256"}

// jwksBody is a JWK Set as served.
type jwksBody struct {
	Keys []struct {
		Kty string `json:"kty"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	} `json:"keys"`
}

// kidOf returns the kid in the header of a compact JWS.
func kidOf(tb testing.TB, tok string) string {
	tb.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(tb, err)
	var hdr struct {
		Kid string `json:"kid"`
	}
	require.NoError(tb, json.Unmarshal(raw, &hdr))
	return hdr.Kid
}

func TestJWKS(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{mutate: withKeyPair(t, alg)})
			f.verifiedUser(t, "alice")
			kid := kidOf(t, f.login(t, "alice").AccessToken)

			res := f.do(t, req{method: "GET", path: prefix + "/auth/jwks.json"})
			require.Equal(t, http.StatusOK, res.status)
			assert.Equal(t, "application/jwk-set+json", res.header.Get("Content-Type"))
			assert.Equal(t, "public, max-age=300", res.header.Get("Cache-Control"))
			assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
			var set jwksBody
			require.NoError(t, json.Unmarshal(res.body, &set))
			require.Len(t, set.Keys, 1)
			assert.Equal(t, kid, set.Keys[0].Kid, "the kid of the tokens")
			assert.Equal(t, alg, set.Keys[0].Alg)
			assert.Equal(t, "sig", set.Keys[0].Use)
			want, ok := f.svc.JWKS()
			require.True(t, ok)
			assert.JSONEq(t, string(want), string(res.body))

			// The same set on a path of the application's choosing.
			rec := httptest.NewRecorder()
			f.h.JWKS().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, res.body, rec.Body.Bytes())
			assert.Equal(t, res.header, rec.Header())

			// Only GET (and HEAD).
			head := f.do(t, req{method: "HEAD", path: prefix + "/auth/jwks.json"})
			assert.Equal(t, http.StatusOK, head.status)
			post := f.do(t, req{method: "POST", path: prefix + "/auth/jwks.json"})
			post.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
			assert.Equal(t, "GET, HEAD", post.header.Get("Allow"))
		})
	}
}

// TestJWKSWithSecret: an HMAC key is secret, so there is no JWK Set, in
// either mode; the path answers 404 like an unknown one.
func TestJWKSWithSecret(t *testing.T) {
	for _, basic := range []bool{false, true} {
		f := newFixture(t, fixtureOpts{basic: basic})
		_, ok := f.svc.JWKS()
		assert.False(t, ok)
		res := f.do(t, req{method: "GET", path: prefix + "/auth/jwks.json"})
		res.problem(t, http.StatusNotFound, "not_found")
		assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
		assert.NotContains(t, string(res.body), "keys")

		rec := httptest.NewRecorder()
		f.h.JWKS().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
		assert.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	}
}

// TestJWKSInBasicMode: verify-only services need the keys in either mode.
func TestJWKSInBasicMode(t *testing.T) {
	f := newFixture(t, fixtureOpts{basic: true, mutate: withKeyPair(t, "EdDSA")})
	res := f.do(t, req{method: "GET", path: prefix + "/auth/jwks.json"})
	require.Equal(t, http.StatusOK, res.status)
	var set jwksBody
	require.NoError(t, json.Unmarshal(res.body, &set))
	assert.Len(t, set.Keys, 1)
}

// TestVerifyOnlyService: a second service, which holds no key and no
// store, verifies forgeauth's access tokens, superuser flag and custom
// claims included, with the JWK Set URL alone.
func TestVerifyOnlyService(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{mutate: func(c *auth.Config) {
				withKeyPair(t, alg)(c)
				c.CustomClaims = func(_ context.Context, u store.User) (json.RawMessage, error) {
					return json.Marshal(map[string]any{"tenant": "acme", "sub": "not-" + u.Username})
				}
			}})
			issuer := httptest.NewServer(f.h) // on 127.0.0.1
			t.Cleanup(issuer.Close)

			u := f.verifiedUser(t, "alice")
			access := f.login(t, "alice").AccessToken

			v, err := token.NewVerifier(token.VerifierConfig{JWKSURL: issuer.URL + prefix + "/auth/jwks.json", Now: f.clock.Now})
			require.NoError(t, err)
			claims, err := v.Verify(t.Context(), access, token.TypeAccess)
			require.NoError(t, err)
			assert.Equal(t, u.ID, claims.UserID)
			assert.Equal(t, "alice", claims.Subject)
			assert.False(t, claims.Superuser)
			assert.JSONEq(t, `{"tenant":"acme","sub":"not-alice"}`, string(claims.Custom))

			// A token of another key, even of the same algorithm, fails.
			other := newFixture(t, fixtureOpts{mutate: withKeyPair(t, alg)})
			if alg != "RS256" { // the RSA test key is shared
				other.verifiedUser(t, "alice")
				_, err = v.Verify(t.Context(), other.login(t, "alice").AccessToken, token.TypeAccess)
				assert.ErrorIs(t, err, token.ErrInvalid)
			}
		})
	}
}

// TestCustomClaimsFromContext: the helper decodes the ext claim of the
// verified token, behind each middleware.
func TestCustomClaimsFromContext(t *testing.T) {
	type ext struct {
		Tenant string   `json:"tenant"`
		Roles  []string `json:"roles"`
	}
	f := newFixture(t, fixtureOpts{mutate: func(c *auth.Config) {
		c.CustomClaims = func(_ context.Context, u store.User) (json.RawMessage, error) {
			if u.Username == "plain" {
				return nil, nil
			}
			return json.RawMessage(`{"tenant":"acme","roles":["editor"]}`), nil
		}
	}})
	f.verifiedUser(t, "alice")
	f.verifiedUser(t, "plain")
	withExt, plain := f.login(t, "alice").AccessToken, f.login(t, "plain").AccessToken

	type seen struct {
		ok     bool
		err    error
		v      ext
		badErr error
	}
	var got seen
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{}
		got.ok, got.err = httpauth.CustomClaims(r.Context(), &got.v)
		var wrong int
		_, got.badErr = httpauth.CustomClaims(r.Context(), &wrong)
		w.WriteHeader(http.StatusNoContent)
	})
	for name, mw := range map[string]func(http.Handler) http.Handler{
		"RequireUser": f.h.RequireUser, "OptionalUser": f.h.OptionalUser, "RequireClaims": f.h.RequireClaims,
	} {
		t.Run(name, func(t *testing.T) {
			serve := func(tok string) {
				r := httptest.NewRequest("GET", "/app", nil)
				r.Header.Set("Authorization", "Bearer "+tok)
				rec := httptest.NewRecorder()
				mw(app).ServeHTTP(rec, r)
				require.Equal(t, http.StatusNoContent, rec.Code)
			}
			serve(withExt)
			require.NoError(t, got.err)
			assert.True(t, got.ok)
			assert.Equal(t, ext{Tenant: "acme", Roles: []string{"editor"}}, got.v)
			assert.ErrorContains(t, got.badErr, "httpauth: custom claims")

			serve(plain)
			require.NoError(t, got.err)
			assert.False(t, got.ok, "no ext claim")
			assert.Equal(t, ext{}, got.v)
		})
	}

	ok, err := httpauth.CustomClaims(context.Background(), new(ext))
	assert.False(t, ok, "no claims in the context")
	assert.NoError(t, err)
}
