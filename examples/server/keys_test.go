package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// keyFiles is an Ed25519 key pair written as the server reads it.
type keyFiles struct {
	private, public string // paths of the PKCS #8 and PKIX PEM files
	kid             string // its RFC 7638 thumbprint
}

func newKeyFiles(tb testing.TB, dir, name string) keyFiles {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(tb, err)
	write := func(file, typ string, der []byte, err error) string {
		require.NoError(tb, err)
		path := filepath.Join(dir, file)
		require.NoError(tb, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return path
	}
	privDER, privErr := x509.MarshalPKCS8PrivateKey(priv)
	pubDER, pubErr := x509.MarshalPKIXPublicKey(pub)
	kid, err := token.Thumbprint(crypto.PublicKey(pub))
	require.NoError(tb, err)
	return keyFiles{
		private: write(name+".pem", "PRIVATE KEY", privDER, privErr),
		public:  write(name+".pub", "PUBLIC KEY", pubDER, pubErr),
		kid:     kid,
	}
}

// jwksKids fetches the JWK Set at both of its paths, checks that they
// agree and may be cached, and returns its kids, sorted.
func (c *client) jwksKids(tb testing.TB) []string {
	tb.Helper()
	r := c.do(tb, "GET", "/.well-known/jwks.json", "", nil)
	r.expect(tb, http.StatusOK, "")
	assert.Equal(tb, "public, max-age=300", r.Header.Get("Cache-Control"))
	assert.Equal(tb, "application/jwk-set+json", r.Header.Get("Content-Type"))
	assert.Equal(tb, r.Body, c.do(tb, "GET", "/api/v1/auth/jwks.json", "", nil).Body)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	require.NoError(tb, json.Unmarshal(r.Body, &set))
	var kids []string
	for _, k := range set.Keys {
		assert.Equal(tb, "EdDSA", k.Alg)
		kids = append(kids, k.Kid)
	}
	sort.Strings(kids)
	return kids
}

// kidOf returns the kid in a JWT's header.
func kidOf(tb testing.TB, jwt string) string {
	tb.Helper()
	seg, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(tb, err)
	var hdr struct {
		Kid string `json:"kid"`
	}
	require.NoError(tb, json.Unmarshal(b, &hdr))
	return hdr.Kid
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

// TestKeyRotation runs the rotation procedure of the README on the server,
// restarted over one database at each step: the tokens of the old key keep
// working after the new key signs, for as long as the old public key is in
// JWT_PUBLIC_KEY_FILES, and fail once it is removed; meanwhile the JWK Set
// lists both keys, and a verify-only service trusts both from it.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := newKeyFiles(t, dir, "old"), newKeyFiles(t, dir, "new")
	base := map[string]string{
		"DATABASE_URL":               "sqlite:" + filepath.Join(dir, "rotation.db"),
		"JWT_ALGORITHM":              "EdDSA",
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
	}
	const pw = "Corr3ct-Horse-Battery!"

	// Before: the old key signs. No secret is made up for it, and the code
	// key is (for development, with a warning).
	ts := startServer(t, envOf(fastHashing, base, map[string]string{"JWT_PRIVATE_KEY_FILE": oldKey.private}))
	c := ts.client("rotation-test/1.0")
	c.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "alice", "email": "alice@example.com", "password": pw}).
		expect(t, http.StatusCreated, "")
	code := ts.Logs.logMailCode(t, "alice@example.com", "Verify your email", 0)
	c.do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"email": "alice@example.com", "code": code}).
		expect(t, http.StatusOK, "")
	before := c.login(t, "alice", pw)
	assert.Equal(t, oldKey.kid, kidOf(t, before.Access))
	assert.Equal(t, []string{oldKey.kid}, c.jwksKids(t))
	require.NoError(t, ts.stop(t))
	log := ts.Logs.String()
	assert.NotContains(t, log, "JWT_SECRET_KEY is not set")
	assert.Contains(t, log, `level=WARN msg="AUTH_CODE_KEY is not set: using a random key`)

	// Step 1: the new key signs; the old public key still verifies.
	codeKey := map[string]string{"AUTH_CODE_KEY": strings.Repeat("c0de", 16)}
	ts = startServer(t, envOf(fastHashing, base, codeKey, map[string]string{
		"JWT_PRIVATE_KEY_FILE": newKey.private,
		"JWT_PUBLIC_KEY_FILES": oldKey.public,
	}))
	c = ts.client("rotation-test/1.0")
	c.hello(t, before.Access).expect(t, http.StatusOK, "")
	during := c.login(t, "alice", pw)
	assert.Equal(t, newKey.kid, kidOf(t, during.Access))
	c.hello(t, during.Access).expect(t, http.StatusOK, "")
	assert.Equal(t, sorted(oldKey.kid, newKey.kid), c.jwksKids(t))
	verifier, err := token.NewVerifier(token.VerifierConfig{JWKSURL: ts.URL + "/.well-known/jwks.json"})
	require.NoError(t, err)
	for _, tok := range []string{before.Access, during.Access} {
		_, err := verifier.Verify(t.Context(), tok, token.TypeAccess)
		assert.NoError(t, err)
	}
	// A session of the old key that refreshes now moves to the new key.
	r := c.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": before.Refresh})
	r.expect(t, http.StatusOK, "")
	refreshed := r.object(t)["access_token"].(string)
	assert.Equal(t, newKey.kid, kidOf(t, refreshed))
	require.NoError(t, ts.stop(t))
	assert.NotContains(t, ts.Logs.String(), "is not set: using a random")

	// Step 2, one access-token lifetime later: the old key is removed.
	ts = startServer(t, envOf(fastHashing, base, codeKey, map[string]string{"JWT_PRIVATE_KEY_FILE": newKey.private}))
	c = ts.client("rotation-test/1.0")
	c.hello(t, before.Access).expect(t, http.StatusUnauthorized, "invalid_token")
	c.hello(t, during.Access).expect(t, http.StatusOK, "")
	c.hello(t, refreshed).expect(t, http.StatusOK, "")
	assert.Equal(t, []string{newKey.kid}, c.jwksKids(t))
	verifier, err = token.NewVerifier(token.VerifierConfig{JWKSURL: ts.URL + "/api/v1/auth/jwks.json"})
	require.NoError(t, err)
	_, err = verifier.Verify(t.Context(), before.Access, token.TypeAccess)
	assert.ErrorIs(t, err, token.ErrInvalid)
	_, err = verifier.Verify(t.Context(), during.Access, token.TypeAccess)
	assert.NoError(t, err)
}

// TestJWKSWithSecret: with the default HS256 the key is a secret: there is
// nothing to publish.
func TestJWKSWithSecret(t *testing.T) {
	ts := startServer(t, envOf(fastHashing, map[string]string{"DATABASE_URL": "memory", "JWT_SECRET_KEY": testSecret}))
	c := ts.client("")
	c.do(t, "GET", "/.well-known/jwks.json", "", nil).expect(t, http.StatusNotFound, "not_found")
	c.do(t, "GET", "/api/v1/auth/jwks.json", "", nil).expect(t, http.StatusNotFound, "not_found")
}

// TestRunKeyErrors: a bad key setting stops the server at start, naming
// the variable; an asymmetric algorithm never falls back to a made-up
// secret.
func TestRunKeyErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	k := newKeyFiles(t, dir, "k")
	notPEM := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello\n"), 0o600))
	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"no private key", map[string]string{"JWT_ALGORITHM": "EdDSA"}, "JWT_PRIVATE_KEY_FILE"},
		{"missing private key", map[string]string{"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY_FILE": filepath.Join(dir, "nope.pem")}, "JWT_PRIVATE_KEY_FILE"},
		{"key of another algorithm", map[string]string{"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY_FILE": k.private}, "JWT_PRIVATE_KEY_FILE"},
		{"secret with a key pair", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": k.private, "JWT_SECRET_KEY": testSecret}, "JWT_SECRET_KEY"},
		{"public key file not PEM", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": k.private, "JWT_PUBLIC_KEY_FILES": notPEM}, "JWT_PUBLIC_KEY_FILES"},
		{"short code key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": k.private, "AUTH_CODE_KEY": "abcd"}, "AUTH_CODE_KEY"},
		{"key file with HS256", map[string]string{"JWT_PRIVATE_KEY_FILE": k.private}, "JWT_PRIVATE_KEY_FILE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log, err := runErr(t, envOf(fastHashing, tt.env))
			require.ErrorContains(t, err, tt.wantVar)
			assert.NotContains(t, log, "JWT_SECRET_KEY is not set")
			assert.NoFileExists(t, "forgeauth.db")
		})
	}
}
