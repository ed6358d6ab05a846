package token_test

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// jwksServer serves a JWK Set that a test can change, and counts requests.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int32

	mu      sync.Mutex
	handler http.HandlerFunc // nil: serve body with 200
	body    []byte
}

func newJWKSServer(tb testing.TB, body []byte) *jwksServer {
	tb.Helper()
	s := &jwksServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		h, b := s.handler, s.body
		s.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.handler = body, nil
}

func (s *jwksServer) serveFunc(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

func jwksOf(tb testing.TB, m *token.Manager) []byte {
	tb.Helper()
	doc, err := m.JWKS()
	require.NoError(tb, err)
	return doc
}

func newVerifier(tb testing.TB, cfg token.VerifierConfig) *token.Verifier {
	tb.Helper()
	v, err := token.NewVerifier(cfg)
	require.NoError(tb, err)
	return v
}

func TestNewVerifierErrors(t *testing.T) {
	ed := edKey(t)
	rsa1024 := rsaKey(t, "rsa1024")
	tests := []struct {
		name    string
		cfg     token.VerifierConfig
		wantErr error // nil: any error, but neither of the key errors
	}{
		{name: "zero value", cfg: token.VerifierConfig{}},
		{name: "keys and a URL", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{ed.Public()}, JWKSURL: "https://auth.example/jwks.json"}},
		{name: "client without a URL", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{ed.Public()}, HTTPClient: http.DefaultClient}},
		{name: "plain http to another host", cfg: token.VerifierConfig{JWKSURL: "http://auth.example/jwks.json"}},
		{name: "plain http to a private address", cfg: token.VerifierConfig{JWKSURL: "http://10.0.0.1/jwks.json"}},
		{name: "another scheme", cfg: token.VerifierConfig{JWKSURL: "file:///etc/jwks.json"}},
		{name: "no host", cfg: token.VerifierConfig{JWKSURL: "https:///jwks.json"}},
		{name: "unparsable URL", cfg: token.VerifierConfig{JWKSURL: "https://a b\x7f/"}},
		{name: "negative leeway", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{ed.Public()}, Leeway: -time.Second}},
		{name: "empty kid", cfg: token.VerifierConfig{VerifyKeys: map[string]crypto.PublicKey{"": ed.Public()}}},
		{name: "one kid, two keys", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{ed.Public()},
			VerifyKeys: map[string]crypto.PublicKey{thumbprint(t, ed): edKey(t).Public()}}},
		// SECURITY.md, Tokens 7, for a verifier: no secrets, no weak keys.
		{name: "HMAC secret", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{[]byte(testSecret)}}, wantErr: token.ErrKeyMismatch},
		{name: "HMAC secret by kid", cfg: token.VerifierConfig{VerifyKeys: map[string]crypto.PublicKey{"k": testSecret}}, wantErr: token.ErrKeyMismatch},
		{name: "RSA 1024", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{rsa1024.Public()}}, wantErr: token.ErrWeakKey},
		{name: "P-384", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{ecKey(t, elliptic.P384()).Public()}}, wantErr: token.ErrKeyMismatch},
		{name: "nil key", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{nil}}, wantErr: token.ErrKeyMismatch},
		{name: "private key", cfg: token.VerifierConfig{PublicKeys: []crypto.PublicKey{ed}}, wantErr: token.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := token.NewVerifier(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, v)
			assert.True(t, strings.HasPrefix(err.Error(), "token: "), err.Error())
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NotErrorIs(t, err, token.ErrKeyMismatch)
			require.NotErrorIs(t, err, token.ErrWeakKey)
		})
	}

	for _, ok := range []string{"https://auth.example/jwks.json", "http://127.0.0.1:8080/jwks.json", "http://localhost/jwks", "http://[::1]/jwks"} {
		_, err := token.NewVerifier(token.VerifierConfig{JWKSURL: ok})
		require.NoError(t, err, ok)
	}
}

// TestVerifierStatic verifies a Manager's tokens with its public keys, by
// thumbprint and by a given kid.
func TestVerifierStatic(t *testing.T) {
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			c := newClock()
			key, other := a.newKeys(t)
			byThumbprint := newManager(t, token.Config{Algorithm: a.alg, SigningKey: key, Now: c.Now})
			byName := newManager(t, token.Config{Algorithm: a.alg, SigningKey: other, SigningKeyID: "2025-06", Now: c.Now})
			v := newVerifier(t, token.VerifierConfig{
				PublicKeys: []crypto.PublicKey{key.Public()},
				VerifyKeys: map[string]crypto.PublicKey{"2025-06": other.Public()},
				Now:        c.Now,
			})
			ctx := context.Background()
			for _, m := range []*token.Manager{byThumbprint, byName} {
				for _, is := range []token.Issued{issueAccess(t, m), issueRefresh(t, m)} {
					got, err := v.Verify(ctx, is.Token, is.Claims.Type)
					require.NoError(t, err)
					assert.Equal(t, is.Claims, got)
				}
			}

			// A key the verifier does not know.
			onlyKey := newVerifier(t, token.VerifierConfig{PublicKeys: []crypto.PublicKey{key.Public()}, Now: c.Now})
			_, err := onlyKey.Verify(ctx, issueAccess(t, byName).Token, token.TypeAccess)
			requireVerifyErr(t, err, token.ErrInvalid)
		})
	}
}

// TestVerifierMixedKeys: one verifier holds keys of every kind; each kid
// accepts only its key's algorithm.
func TestVerifierMixedKeys(t *testing.T) {
	c := newClock()
	ed, ec, rs := edKey(t), ecKey(t, elliptic.P256()), rsaKey(t, "rsa2048")
	v := newVerifier(t, token.VerifierConfig{PublicKeys: []crypto.PublicKey{ed.Public(), ec.Public(), rs.Public()}, Now: c.Now})
	good := claimsAt(c.Now())
	tests := []struct {
		name    string
		header  map[string]any
		sign    signer
		wantErr error
	}{
		{"EdDSA", header("EdDSA", "kid", thumbprint(t, ed)), signWith(jwt.SigningMethodEdDSA, ed), nil},
		{"ES256", header("ES256", "kid", thumbprint(t, ec)), signWith(jwt.SigningMethodES256, ec), nil},
		{"RS256", header("RS256", "kid", thumbprint(t, rs)), signWith(jwt.SigningMethodRS256, rs), nil},
		{"RS256 header on the EdDSA kid", header("RS256", "kid", thumbprint(t, ed)), signWith(jwt.SigningMethodRS256, rs), token.ErrInvalid},
		{"ES256 header on the RSA kid", header("ES256", "kid", thumbprint(t, rs)), signWith(jwt.SigningMethodES256, ec), token.ErrInvalid},
		{"PS256 on the RSA kid", header("PS256", "kid", thumbprint(t, rs)), signWith(jwt.SigningMethodPS256, rs), token.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), craft(t, tt.header, good, tt.sign), token.TypeAccess)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			requireVerifyErr(t, err, tt.wantErr)
		})
	}
}

// hostileCase is a hand-crafted token for TestVerifierSameAsManager.
type hostileCase struct {
	name    string
	header  map[string]any
	payload map[string]any
	sign    signer
	want    token.Type
	wantErr error
}

// hostileCases are SECURITY.md, Tokens 1-5, against a key of algorithm a
// under the kid "k1".
func hostileCases(tb testing.TB, a asymmetric, key, attacker crypto.Signer, now time.Time) []hostileCase {
	good := claimsAt(now)
	expired := edit(good, "iat", now.Add(-2*time.Hour).Unix(), "exp", now.Add(-time.Hour).Unix())
	refresh := edit(good, "token_type", "refresh")
	genuine := signWith(a.method, key)
	forged := signWith(a.method, attacker)
	h := header(a.alg, "kid", "k1")
	pubDER := mustJSON(tb, thumbprint(tb, key.Public())) // some public bytes a confused verifier might use as a secret

	return []hostileCase{
		{name: "genuine control", header: h, payload: good, sign: genuine},
		{name: "refresh wanted as refresh", header: h, payload: refresh, sign: genuine, want: token.TypeRefresh},
		{name: "nbf inside leeway", header: h, payload: edit(good, "nbf", now.Add(20*time.Second).Unix()), sign: genuine},
		{name: "expired inside leeway", header: h, payload: edit(good, "exp", now.Add(-20*time.Second).Unix(), "iat", now.Add(-time.Hour).Unix()), sign: genuine},

		// 1. algorithms and keys
		{name: "alg none", header: header("none", "kid", "k1"), payload: good, sign: unsigned(), wantErr: token.ErrInvalid},
		{name: "alg none, signed", header: header("none", "kid", "k1"), payload: good, sign: genuine, wantErr: token.ErrInvalid},
		{name: "HS256 keyed with public bytes", header: header("HS256", "kid", "k1"), payload: good, sign: signWith(jwt.SigningMethodHS256, pubDER), wantErr: token.ErrInvalid},
		{name: "HS384", header: header("HS384", "kid", "k1"), payload: good, sign: signWith(jwt.SigningMethodHS384, []byte(strings.Repeat(testSecret, 2))), wantErr: token.ErrInvalid},
		{name: "HS512", header: header("HS512", "kid", "k1"), payload: good, sign: signWith(jwt.SigningMethodHS512, []byte(strings.Repeat(testSecret, 2))), wantErr: token.ErrInvalid},
		{name: "missing kid", header: header(a.alg), payload: good, sign: genuine, wantErr: token.ErrInvalid},
		{name: "unknown kid", header: header(a.alg, "kid", "k2"), payload: good, sign: genuine, wantErr: token.ErrInvalid},
		{name: "known kid, another key", header: h, payload: good, sign: forged, wantErr: token.ErrInvalid},
		{name: "jku naming another key", header: header(a.alg, "kid", "k1", "jku", "https://attacker.example/"), payload: good, sign: forged, wantErr: token.ErrInvalid},
		{name: "jwk header", header: header(a.alg, "kid", "k1", "jwk", map[string]string{"kty": "OKP"}), payload: good, sign: forged, wantErr: token.ErrInvalid},
		{name: "x5u, genuinely signed", header: header(a.alg, "kid", "k1", "x5u", "https://attacker.example/"), payload: good, sign: genuine, wantErr: token.ErrInvalid},
		{name: "crit", header: header(a.alg, "kid", "k1", "crit", []string{"exp"}), payload: good, sign: genuine, wantErr: token.ErrInvalid},
		{name: "typ other", header: header(a.alg, "kid", "k1", "typ", "at+jwt"), payload: good, sign: genuine, wantErr: token.ErrInvalid},

		// 2. time
		{name: "no exp", header: h, payload: edit(good, "exp", nil), sign: genuine, wantErr: token.ErrInvalid},
		{name: "exp 0", header: h, payload: edit(good, "exp", 0), sign: genuine, wantErr: token.ErrInvalid},
		{name: "expired", header: h, payload: expired, sign: genuine, wantErr: token.ErrExpired},
		{name: "future nbf", header: h, payload: edit(good, "nbf", now.Add(time.Minute).Unix()), sign: genuine, wantErr: token.ErrInvalid},
		{name: "missing iat", header: h, payload: edit(good, "iat", nil), sign: genuine, wantErr: token.ErrInvalid},
		{name: "future iat", header: h, payload: edit(good, "iat", now.Add(time.Minute).Unix()), sign: genuine, wantErr: token.ErrInvalid},

		// 3. issuer, audience and the other required claims
		{name: "wrong iss", header: h, payload: edit(good, "iss", "someone-else"), sign: genuine, wantErr: token.ErrInvalid},
		{name: "missing iss", header: h, payload: edit(good, "iss", nil), sign: genuine, wantErr: token.ErrInvalid},
		{name: "wrong aud", header: h, payload: edit(good, "aud", []string{"someone-else"}), sign: genuine, wantErr: token.ErrInvalid},
		{name: "missing aud", header: h, payload: edit(good, "aud", nil), sign: genuine, wantErr: token.ErrInvalid},
		{name: "missing sub", header: h, payload: edit(good, "sub", nil), sign: genuine, wantErr: token.ErrInvalid},
		{name: "missing user_id", header: h, payload: edit(good, "user_id", nil), sign: genuine, wantErr: token.ErrInvalid},
		{name: "missing jti", header: h, payload: edit(good, "jti", nil), sign: genuine, wantErr: token.ErrInvalid},
		{name: "ext not an object", header: h, payload: edit(good, "ext", []int{1}), sign: genuine, wantErr: token.ErrInvalid},

		// 4. token type
		{name: "refresh as access", header: h, payload: refresh, sign: genuine, wantErr: token.ErrWrongType},
		{name: "access as refresh", header: h, payload: good, sign: genuine, want: token.TypeRefresh, wantErr: token.ErrWrongType},
		{name: "missing token_type", header: h, payload: edit(good, "token_type", nil), sign: genuine, wantErr: token.ErrInvalid},
		{name: "unknown token_type", header: h, payload: edit(good, "token_type", "id"), sign: genuine, wantErr: token.ErrInvalid},
		{name: "refresh without sid", header: h, payload: edit(refresh, "sid", nil), sign: genuine, want: token.TypeRefresh, wantErr: token.ErrInvalid},

		// 5. combinations
		{name: "expired and badly signed", header: h, payload: expired, sign: forged, wantErr: token.ErrInvalid},
		{name: "expired and wrong iss", header: h, payload: edit(expired, "iss", "x"), sign: genuine, wantErr: token.ErrInvalid},
	}
}

// TestVerifierSameAsManager runs SECURITY.md, Tokens 1-5, through a Manager,
// a Verifier with static keys and a Verifier reading a JWK Set, and requires
// the same answer from all three.
func TestVerifierSameAsManager(t *testing.T) {
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			c := newClock()
			key, attacker := a.newKeys(t)
			m := newManager(t, token.Config{Algorithm: a.alg, SigningKey: key, SigningKeyID: "k1", Now: c.Now})
			static := newVerifier(t, token.VerifierConfig{VerifyKeys: map[string]crypto.PublicKey{"k1": key.Public()}, Now: c.Now})
			srv := newJWKSServer(t, jwksOf(t, m))
			remote := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now})

			for _, tt := range hostileCases(t, a, key, attacker, c.Now()) {
				t.Run(tt.name, func(t *testing.T) {
					tok := craft(t, tt.header, tt.payload, tt.sign)
					want := tt.want
					if want == "" {
						want = token.TypeAccess
					}
					verifiers := map[string]func() (token.Claims, error){
						"manager": func() (token.Claims, error) { return m.Verify(tok, want) },
						"static":  func() (token.Claims, error) { return static.Verify(context.Background(), tok, want) },
						"jwks":    func() (token.Claims, error) { return remote.Verify(context.Background(), tok, want) },
					}
					for name, verify := range verifiers {
						got, err := verify()
						if tt.wantErr == nil {
							require.NoError(t, err, name)
							assert.Equal(t, "alice", got.Subject, name)
							continue
						}
						requireVerifyErr(t, err, tt.wantErr)
						assert.Equal(t, token.Claims{}, got, name)
						assert.NotContains(t, err.Error(), tok, name)
					}
				})
			}
			assert.Equal(t, int32(1), srv.fetches.Load(), "the unknown kid k2 came within the minute of the first fetch")
		})
	}
}

// TestVerifierAltered covers SECURITY.md, Tokens 5 and 6, for a verifier.
func TestVerifierAltered(t *testing.T) {
	c := newClock()
	key := edKey(t)
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: key, Now: c.Now})
	srv := newJWKSServer(t, jwksOf(t, m))
	for name, v := range map[string]*token.Verifier{
		"static": newVerifier(t, token.VerifierConfig{PublicKeys: []crypto.PublicKey{key.Public()}, Now: c.Now}),
		"jwks":   newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now}),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tok := issueAccess(t, m).Token
			h, p, s := segments(t, tok)
			forged := decodeSegment(t, p)
			forged["sub"] = "admin"
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, s[len(s)-1])
			for name, bad := range map[string]string{
				"tampered payload":                 h + "." + b64(mustJSON(t, forged)) + "." + s,
				"last signature character changed": h + "." + p + "." + s[:len(s)-1] + string(alphabet[last^1]),
				"signature dropped":                h + "." + p + ".",
				"bearer prefix":                    "Bearer " + tok,
			} {
				_, err := v.Verify(ctx, bad, token.TypeAccess)
				requireVerifyErr(t, err, token.ErrInvalid)
				assert.NotEmpty(t, name)
			}
			_, err := v.Verify(ctx, tok, token.TypeAccess)
			require.NoError(t, err)

			// 6. A megabyte of dots: refused before parsing, without
			// allocating and without a fetch.
			fetches := srv.fetches.Load()
			for _, junk := range []string{strings.Repeat(".", 1<<20), "Bearer " + strings.Repeat(".", 1<<20), strings.Repeat("a.", 1<<19)} {
				allocs := testing.AllocsPerRun(20, func() {
					_, err = v.Verify(ctx, junk, token.TypeAccess)
				})
				requireVerifyErr(t, err, token.ErrInvalid)
				assert.Zero(t, allocs)
			}
			assert.Equal(t, fetches, srv.fetches.Load())
		})
	}
}

// TestVerifierRotation: the issuer starts signing with a new key and adds it
// to its JWK Set; the verifier fetches the set again once, when the new kid
// first appears, if a minute has passed since the last fetch.
func TestVerifierRotation(t *testing.T) {
	c := newClock()
	oldKey, newKey := edKey(t), edKey(t)
	before := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: oldKey, Now: c.Now})
	after := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: newKey, PublicKeys: []crypto.PublicKey{oldKey.Public()}, Now: c.Now})
	srv := newJWKSServer(t, jwksOf(t, before))
	v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now})
	ctx := context.Background()

	_, err := v.Verify(ctx, issueAccess(t, before).Token, token.TypeAccess)
	require.NoError(t, err)
	require.Equal(t, int32(1), srv.fetches.Load())

	srv.serve(jwksOf(t, after))
	c.Advance(30 * time.Second)
	newTok := issueAccess(t, after).Token
	_, err = v.Verify(ctx, newTok, token.TypeAccess)
	requireVerifyErr(t, err, token.ErrInvalid)
	assert.Equal(t, int32(1), srv.fetches.Load(), "no second fetch within the minute")

	c.Advance(30 * time.Second)
	for range 3 {
		_, err = v.Verify(ctx, newTok, token.TypeAccess)
		require.NoError(t, err)
	}
	_, err = v.Verify(ctx, issueAccess(t, before).Token, token.TypeAccess)
	require.NoError(t, err, "the old key is still in the set")
	assert.Equal(t, int32(2), srv.fetches.Load(), "exactly one fetch for the new kid")
}

// TestVerifierMaxAge: a key the issuer removes stops verifying once the
// fetched set is older than five minutes.
func TestVerifierMaxAge(t *testing.T) {
	c := newClock()
	oldKey, newKey := edKey(t), edKey(t)
	during := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: newKey, PublicKeys: []crypto.PublicKey{oldKey.Public()}, Now: c.Now})
	done := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: newKey, Now: c.Now})
	old := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: oldKey, Now: c.Now, AccessTTL: time.Hour})
	srv := newJWKSServer(t, jwksOf(t, during))
	v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now})
	ctx := context.Background()
	oldTok := issueAccess(t, old).Token

	_, err := v.Verify(ctx, oldTok, token.TypeAccess)
	require.NoError(t, err)
	srv.serve(jwksOf(t, done))
	c.Advance(4 * time.Minute)
	_, err = v.Verify(ctx, oldTok, token.TypeAccess)
	require.NoError(t, err, "the set is still fresh")
	assert.Equal(t, int32(1), srv.fetches.Load())

	c.Advance(time.Minute)
	_, err = v.Verify(ctx, oldTok, token.TypeAccess)
	requireVerifyErr(t, err, token.ErrInvalid)
	assert.Equal(t, int32(2), srv.fetches.Load())
}

func randomKid(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return b64(b)
}

// TestVerifierUnknownKidStorm: tokens naming random kids cause at most one
// fetch a minute, even all at once.
func TestVerifierUnknownKidStorm(t *testing.T) {
	c := newClock()
	key := edKey(t)
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: key, Now: c.Now})
	srv := newJWKSServer(t, jwksOf(t, m))
	v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now})
	ctx := context.Background()
	good := issueAccess(t, m).Token
	_, err := v.Verify(ctx, good, token.TypeAccess)
	require.NoError(t, err)
	require.Equal(t, int32(1), srv.fetches.Load())

	storm := func() {
		toks := make([]string, 100)
		for i := range toks {
			toks[i] = craft(t, header("EdDSA", "kid", randomKid(t)), claimsAt(c.Now()), signWith(jwt.SigningMethodEdDSA, key))
		}
		var wg sync.WaitGroup
		errs := make([]error, len(toks))
		for i, tok := range toks {
			wg.Go(func() { _, errs[i] = v.Verify(ctx, tok, token.TypeAccess) })
		}
		wg.Wait()
		for _, err := range errs {
			requireVerifyErr(t, err, token.ErrInvalid)
		}
	}

	storm()
	assert.Equal(t, int32(1), srv.fetches.Load(), "within the minute of the first fetch: none")
	for minute := 1; minute <= 3; minute++ {
		c.Advance(time.Minute)
		storm()
		storm()
		assert.Equal(t, int32(1+minute), srv.fetches.Load(), "one fetch in minute %d", minute)
	}
	_, err = v.Verify(ctx, good, token.TypeAccess)
	require.NoError(t, err, "the storm did not disturb the keys")
}

// TestVerifierJWKSFailures: an endpoint that is down, slow, huge or answers
// garbage. Before any keys are loaded Verify says ErrKeysUnavailable (not
// ErrInvalid); once keys are loaded, a failed refresh keeps them.
func TestVerifierJWKSFailures(t *testing.T) {
	huge := []byte(`{"keys":[` + strings.Repeat(`{"kty":"oct","k":"AAAA"},`, 20000) + `{}]}`)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		down    bool
	}{
		{name: "down", down: true},
		{name: "status 500", handler: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) }},
		{name: "status 404", handler: http.NotFound},
		{name: "redirect to plain http elsewhere", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://attacker.example/jwks.json", http.StatusFound)
		}},
		{name: "slow", handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{name: "huge with length", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(huge) }},
		{name: "huge streamed", handler: func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i < len(huge); i += 1000 {
				_, _ = w.Write(huge[i:min(i+1000, len(huge))])
				w.(http.Flusher).Flush()
			}
		}},
		{name: "huge by Content-Length", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(huge)))
			_, _ = w.Write(huge)
		}},
		{name: "cut short", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte(`{"keys":[`))
		}},
		{name: "HTML", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>maintenance</html>")) }},
		{name: "empty body", handler: func(http.ResponseWriter, *http.Request) {}},
		{name: "JSON array", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`[]`)) }},
		{name: "no keys member", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"key":[]}`)) }},
		{name: "keys null", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"keys":null}`)) }},
		{name: "keys not an array", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"keys":{}}`)) }},
		{name: "no usable key", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`))
		}},
		{name: "truncated", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"keys":[{"kty":"OKP",`)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: edKey(t), Now: c.Now})
			tok := issueAccess(t, m).Token
			fail := func(srv *jwksServer) {
				if tt.down {
					srv.Close()
					return
				}
				srv.serveFunc(tt.handler)
			}
			verify := func(v *token.Verifier) error {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_, err := v.Verify(ctx, tok, token.TypeAccess)
				return err
			}

			t.Run("before any keys", func(t *testing.T) {
				srv := newJWKSServer(t, nil)
				fail(srv)
				v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now, HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
				err := verify(v)
				require.ErrorIs(t, err, token.ErrKeysUnavailable)
				require.False(t, errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrExpired), err.Error())
				assert.NotContains(t, err.Error(), tok)

				// The next try is a minute away; until then, the same answer
				// without a request.
				fetches := srv.fetches.Load()
				require.ErrorIs(t, verify(v), token.ErrKeysUnavailable)
				assert.Equal(t, fetches, srv.fetches.Load())
			})

			t.Run("after keys were loaded", func(t *testing.T) {
				srv := newJWKSServer(t, jwksOf(t, m))
				v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now, HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
				require.NoError(t, verify(v))
				fail(srv)
				c.Advance(6 * time.Minute) // the keys are stale: Verify refreshes
				require.NoError(t, verify(v), "the old keys stay")
				c.Advance(time.Minute)
				require.NoError(t, verify(v))
			})
		})
	}
}

// TestVerifierJWKSKeySelection: a JWK Set with keys the verifier must not
// use (HMAC, encryption, another curve, a weak RSA key, a kid given twice,
// ...) beside one good key.
func TestVerifierJWKSKeySelection(t *testing.T) {
	c := newClock()
	key := edKey(t)
	ec384 := ecKey(t, elliptic.P384())
	rsa1024 := rsaKey(t, "rsa1024")
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: key, SigningKeyID: "good", Now: c.Now})
	var doc jwksDoc
	require.NoError(t, json.Unmarshal(jwksOf(t, m), &doc))
	goodJWK := doc.Keys[0]
	with := func(kv ...string) map[string]string {
		j := map[string]string{}
		for k, v := range goodJWK {
			j[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(j, kv[i])
				continue
			}
			j[kv[i]] = kv[i+1]
		}
		return j
	}
	rsaJWK := map[string]any{"kty": "RSA", "kid": "rsa1024", "n": b64(rsa1024.N.Bytes()), "e": "AQAB"}
	ecPoint, err := ec384.PublicKey.Bytes()
	require.NoError(t, err)
	p384 := map[string]any{"kty": "EC", "crv": "P-384", "kid": "p384", "x": b64(ecPoint[1:49]), "y": b64(ecPoint[49:])}
	keys := []any{
		goodJWK,
		map[string]any{"kty": "oct", "kid": "hmac", "k": b64([]byte(testSecret)), "alg": "HS256"},
		with("kid", "enc", "use", "enc"),
		with("kid", "ops", "use", "", "key_ops", ""), // replaced below
		with("kid", "wrong-alg", "alg", "RS256"),
		with("kid", ""),
		with("kid", "bad-x", "x", "!!!"),
		with("kid", "short-x", "x", b64([]byte("short"))),
		with("kid", "dup"), with("kid", "dup"),
		rsaJWK, p384,
		"not an object",
		map[string]any{"kty": "EC", "crv": "P-256", "kid": "ec-short", "x": b64(make([]byte, 31)), "y": b64(make([]byte, 32))},
		map[string]any{"kty": "EC", "crv": "P-256", "kid": "ec-off-curve", "x": b64(append(make([]byte, 31), 1)), "y": b64(append(make([]byte, 31), 1))},
		map[string]any{"kty": "EC", "crv": "P-256", "kid": "ec-bad-y", "x": b64(make([]byte, 32)), "y": "!"},
		map[string]any{"kty": "RSA", "kid": "rsa-long-e", "n": rsaJWK["n"], "e": b64([]byte{1, 0, 0, 0, 1})},
		map[string]any{"kty": "RSA", "kid": "rsa-no-e", "n": rsaJWK["n"]},
		map[string]any{"kty": "RSA", "kid": "rsa-bad-n", "n": "!", "e": "AQAB"},
	}
	opsJWK := map[string]any{}
	for k, v := range with("kid", "ops", "use", "") {
		opsJWK[k] = v
	}
	opsJWK["key_ops"] = []string{"encrypt"}
	keys[3] = opsJWK
	srv := newJWKSServer(t, mustJSON(t, map[string]any{"keys": keys}))
	v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now})
	ctx := context.Background()
	good := claimsAt(c.Now())
	ed := signWith(jwt.SigningMethodEdDSA, key)

	tests := []struct {
		name    string
		header  map[string]any
		sign    signer
		wantErr error
	}{
		{"the good key", header("EdDSA", "kid", "good"), ed, nil},
		{"HS256 with the oct key", header("HS256", "kid", "hmac"), hs256(), token.ErrInvalid},
		{"EdDSA with the oct kid", header("EdDSA", "kid", "hmac"), ed, token.ErrInvalid},
		{"use enc", header("EdDSA", "kid", "enc"), ed, token.ErrInvalid},
		{"key_ops without verify", header("EdDSA", "kid", "ops"), ed, token.ErrInvalid},
		{"alg disagreeing with the key", header("EdDSA", "kid", "wrong-alg"), ed, token.ErrInvalid},
		{"bad base64", header("EdDSA", "kid", "bad-x"), ed, token.ErrInvalid},
		{"kid given twice", header("EdDSA", "kid", "dup"), ed, token.ErrInvalid},
		{"RSA 1024", header("RS256", "kid", "rsa1024"), signWith(jwt.SigningMethodRS256, rsa1024), token.ErrInvalid},
		{"P-384", header("ES384", "kid", "p384"), signWith(jwt.SigningMethodES384, ec384), token.ErrInvalid},
		{"EC coordinate too short", header("ES256", "kid", "ec-short"), signWith(jwt.SigningMethodES256, ecKey(t, elliptic.P256())), token.ErrInvalid},
		{"EC point off the curve", header("ES256", "kid", "ec-off-curve"), signWith(jwt.SigningMethodES256, ecKey(t, elliptic.P256())), token.ErrInvalid},
		{"EC y not base64url", header("ES256", "kid", "ec-bad-y"), signWith(jwt.SigningMethodES256, ecKey(t, elliptic.P256())), token.ErrInvalid},
		{"RSA exponent of 5 bytes", header("RS256", "kid", "rsa-long-e"), signWith(jwt.SigningMethodRS256, rsa1024), token.ErrInvalid},
		{"RSA without e", header("RS256", "kid", "rsa-no-e"), signWith(jwt.SigningMethodRS256, rsa1024), token.ErrInvalid},
		{"RSA n not base64url", header("RS256", "kid", "rsa-bad-n"), signWith(jwt.SigningMethodRS256, rsa1024), token.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(ctx, craft(t, tt.header, good, tt.sign), token.TypeAccess)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			requireVerifyErr(t, err, tt.wantErr)
		})
	}
	assert.Equal(t, int32(1), srv.fetches.Load())
}

// TestVerifierContext: a caller whose ctx has ended gets ErrKeysUnavailable
// and does not use up the minute's fetch.
func TestVerifierContext(t *testing.T) {
	c := newClock()
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: edKey(t), Now: c.Now})
	srv := newJWKSServer(t, jwksOf(t, m))
	v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now})
	tok := issueAccess(t, m).Token

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Verify(ctx, tok, token.TypeAccess)
	require.ErrorIs(t, err, token.ErrKeysUnavailable)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, srv.fetches.Load())

	_, err = v.Verify(context.Background(), tok, token.TypeAccess)
	require.NoError(t, err)
	assert.Equal(t, int32(1), srv.fetches.Load())
}

// TestVerifierSharedFetch: calls that arrive while a fetch is under way wait
// for it rather than fetch again; one whose ctx ends while waiting gives up.
func TestVerifierSharedFetch(t *testing.T) {
	c := newClock()
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: edKey(t), Now: c.Now})
	doc := jwksOf(t, m)
	srv := newJWKSServer(t, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	srv.serveFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = w.Write(doc)
	})
	v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now})
	tok := issueAccess(t, m).Token

	first := make(chan error)
	go func() {
		_, err := v.Verify(context.Background(), tok, token.TypeAccess)
		first <- err
	}()
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() {
		_, err := v.Verify(ctx, tok, token.TypeAccess)
		gaveUp <- err
	}()
	cancel()
	err := <-gaveUp
	require.ErrorIs(t, err, token.ErrKeysUnavailable)
	require.ErrorIs(t, err, context.Canceled)

	waiters := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := v.Verify(context.Background(), tok, token.TypeAccess)
			waiters <- err
		}()
	}
	close(release)
	require.NoError(t, <-first)
	for range 10 {
		require.NoError(t, <-waiters)
	}
	assert.Equal(t, int32(1), srv.fetches.Load())
}

// TestVerifierWithManagerJWKS is the whole path between two services: the
// issuer serves Manager.JWKS, the other service verifies with the URL.
func TestVerifierWithManagerJWKS(t *testing.T) {
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			c := newClock()
			key, _ := a.newKeys(t)
			m := newManager(t, token.Config{Algorithm: a.alg, SigningKey: key, Now: c.Now})
			srv := newJWKSServer(t, jwksOf(t, m))
			v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now, HTTPClient: srv.Client()})
			id := alice()
			id.Superuser = true
			id.Custom = json.RawMessage(`{"tenant":"acme"}`)
			is, err := m.IssueAccess(id)
			require.NoError(t, err)
			got, err := v.Verify(context.Background(), is.Token, token.TypeAccess)
			require.NoError(t, err)
			assert.Equal(t, is.Claims, got)
			assert.True(t, got.Superuser)
			assert.JSONEq(t, `{"tenant":"acme"}`, string(got.Custom))
		})
	}
}

// TestVerifierConcurrent shares verifiers between goroutines while keys are
// fetched and refreshed (run with -race).
func TestVerifierConcurrent(t *testing.T) {
	c := newClock()
	key := edKey(t)
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: key, Now: c.Now})
	srv := newJWKSServer(t, jwksOf(t, m))
	v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL, Now: c.Now})
	tok := issueAccess(t, m).Token
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				tt := tok
				if (g+i)%5 == 0 {
					tt = craft(t, header("EdDSA", "kid", fmt.Sprint("k", g, i)), claimsAt(c.Now()), signWith(jwt.SigningMethodEdDSA, key))
				}
				_, err := v.Verify(context.Background(), tt, token.TypeAccess)
				if tt == tok && err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), srv.fetches.Load())
}

// TestVerifierRedirects: the default client follows redirects only to URLs
// NewVerifier would accept, and not forever.
func TestVerifierRedirects(t *testing.T) {
	c := newClock()
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: edKey(t), Now: c.Now})
	doc := jwksOf(t, m)
	tok := issueAccess(t, m).Token
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr error
	}{
		{"to another loopback path", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/moved" {
				_, _ = w.Write(doc)
				return
			}
			http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
		}, nil},
		{"to plain http elsewhere", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://attacker.example/jwks.json", http.StatusFound)
		}, token.ErrKeysUnavailable},
		{"in a loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		}, token.ErrKeysUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t, nil)
			srv.serveFunc(tt.handler)
			v := newVerifier(t, token.VerifierConfig{JWKSURL: srv.URL + "/jwks.json", Now: c.Now})
			_, err := v.Verify(context.Background(), tok, token.TypeAccess)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}
