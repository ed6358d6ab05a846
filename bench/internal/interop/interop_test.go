package interop_test

import (
	"bytes"
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
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// The tests use the standard library only, as the rest of this module
// does, so that they add nothing to its go.mod.

// newSigner makes a private key for alg.
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
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		tb.Fatalf("unknown algorithm %q", alg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// serve runs svc's endpoints on 127.0.0.1 until the test ends.
func serve(tb testing.TB, cfg auth.Config) string {
	tb.Helper()
	cfg.Mode = auth.ModeBasic
	cfg.Store = memstore.New()
	cfg.Password = password.HasherConfig{Params: authtest.Params()}
	svc, err := auth.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	h, err := httpauth.New(svc, httpauth.Options{DisableIPLimit: true})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// issuer is a forgeauth server signing with a new key of alg, and the
// access token of the user it registered.
type issuer struct {
	url    string
	access string
	userID string
}

func newIssuer(tb testing.TB, alg string) issuer {
	tb.Helper()
	url := serve(tb, auth.Config{
		Token: token.Config{Algorithm: alg, SigningKey: newSigner(tb, alg), Issuer: "https://issuer.example", Audience: "notes-api"},
		CustomClaims: func(_ context.Context, u store.User) (json.RawMessage, error) {
			return json.Marshal(map[string]any{"tenant": "acme", "sub": "not-" + u.Username})
		},
	})
	post := func(path, body string, out any) {
		tb.Helper()
		resp, err := http.Post(url+"/api/v1"+path, "application/json", strings.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			tb.Fatalf("POST %s: status %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			tb.Fatal(err)
		}
	}
	var user struct {
		ID string `json:"id"`
	}
	post("/auth/register", `{"username":"alice","email":"alice@example.com","password":"Correct-Horse-7"}`, &user)
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	post("/auth/login", `{"username":"alice","password":"Correct-Horse-7"}`, &tokens)
	return issuer{url: url, access: tokens.AccessToken, userID: user.ID}
}

// TestJWXVerifiesForgeauthTokens: jwx fetches the JWK Set and verifies an
// access token of each algorithm, with its registered and forgeauth
// claims; it refuses a token whose payload was changed and one of another
// key.
func TestJWXVerifiesForgeauthTokens(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			is := newIssuer(t, alg)
			set, err := jwk.Fetch(t.Context(), is.url+"/api/v1/auth/jwks.json")
			if err != nil {
				t.Fatal(err)
			}
			if set.Len() != 1 {
				t.Fatalf("the set has %d keys, want 1", set.Len())
			}
			key, _ := set.Key(0)
			if got := key.Algorithm().String(); got != alg {
				t.Errorf("alg %q, want %q", got, alg)
			}
			if got := key.KeyUsage(); got != "sig" {
				t.Errorf("use %q, want sig", got)
			}
			// The kid is the thumbprint jwx computes itself (RFC 7638).
			tp, err := key.Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(tp); key.KeyID() != want {
				t.Errorf("kid %q, want the thumbprint %q", key.KeyID(), want)
			}

			parse := func(tok string) (jwt.Token, error) {
				return jwt.Parse([]byte(tok),
					jwt.WithKeySet(set),
					jwt.WithValidate(true),
					jwt.WithIssuer("https://issuer.example"),
					jwt.WithAudience("notes-api"),
					jwt.WithRequiredClaim("exp"),
					jwt.WithAcceptableSkew(30*time.Second),
				)
			}
			tok, err := parse(is.access)
			if err != nil {
				t.Fatalf("jwx refuses the token: %v", err)
			}
			if tok.Subject() != "alice" {
				t.Errorf("sub %q, want alice", tok.Subject())
			}
			private := tok.PrivateClaims()
			if private["user_id"] != is.userID || private["token_type"] != "access" {
				t.Errorf("user_id %v, token_type %v", private["user_id"], private["token_type"])
			}
			if _, ok := private["is_superuser"]; ok {
				t.Error("is_superuser is written for a user who is not one")
			}
			if want := map[string]any{"tenant": "acme", "sub": "not-alice"}; !reflect.DeepEqual(private["ext"], want) {
				t.Errorf("ext %v, want %v", private["ext"], want)
			}

			parts := strings.Split(is.access, ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			forged := bytes.Replace(payload, []byte(`"sub":"alice"`), []byte(`"sub":"admin"`), 1)
			if bytes.Equal(forged, payload) {
				t.Fatal("the payload has no sub to change")
			}
			if _, err := parse(parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]); err == nil {
				t.Error("jwx accepts a changed payload")
			}
			if _, err := parse(newIssuer(t, alg).access); err == nil {
				t.Error("jwx accepts a token of a key that is not in the set")
			}
		})
	}
}

// TestJWXFindsNoKeyUnderHS256: with an HMAC secret there is no JWK Set to
// fetch.
func TestJWXFindsNoKeyUnderHS256(t *testing.T) {
	url := serve(t, auth.Config{Token: token.Config{Secret: bytes.Repeat([]byte("k"), 32)}})
	resp, err := http.Get(url + "/api/v1/auth/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
	if _, err := jwk.Fetch(t.Context(), url+"/api/v1/auth/jwks.json"); err == nil {
		t.Error("jwx fetched a key set")
	}
}
