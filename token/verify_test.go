package token_test

import (
	"crypto/elliptic"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// TestVerifyHostile feeds an HS256 manager hand-crafted tokens: every way a
// token can be forged, altered or incomplete (SECURITY.md, Tokens 1-5).
func TestVerifyHostile(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	now := c.Now()
	good := claimsAt(now)
	expired := edit(good, "iat", now.Add(-2*time.Hour).Unix(), "exp", now.Add(-time.Hour).Unix())
	refresh := edit(good, "token_type", "refresh")

	rsaPriv := rsaKey(t, "rsa2048")
	ecPriv := ecKey(t, elliptic.P256())
	edPriv := edKey(t)
	other := signWith(jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes!!"))
	jwk := map[string]any{"kty": "oct", "k": b64([]byte("another-secret-of-at-least-32-bytes!!"))}

	tests := []struct {
		name    string
		header  map[string]any
		payload map[string]any
		sign    signer
		want    token.Type
		wantErr error // nil: accepted
	}{
		{name: "genuine control", header: header("HS256"), payload: good, sign: hs256()},
		{name: "kid is ignored for HMAC", header: header("HS256", "kid", "anything"), payload: good, sign: hs256()},
		{name: "aud as a single string", header: header("HS256"), payload: edit(good, "aud", token.DefaultAudience), sign: hs256()},
		{name: "aud among others", header: header("HS256"), payload: edit(good, "aud", []string{"x", token.DefaultAudience}), sign: hs256()},
		{name: "nbf inside leeway", header: header("HS256"), payload: edit(good, "nbf", now.Add(20*time.Second).Unix()), sign: hs256()},
		{name: "iat inside leeway", header: header("HS256"), payload: edit(good, "iat", now.Add(20*time.Second).Unix()), sign: hs256()},
		{name: "refresh token wanted as refresh", header: header("HS256"), payload: refresh, sign: hs256(), want: token.TypeRefresh},

		// 1. algorithms and keys
		{name: "alg none", header: header("none"), payload: good, sign: unsigned(), wantErr: token.ErrInvalid},
		{name: "alg None", header: header("None"), payload: good, sign: unsigned(), wantErr: token.ErrInvalid},
		{name: "alg none with HMAC signature", header: header("none"), payload: good, sign: hs256(), wantErr: token.ErrInvalid},
		{name: "alg missing", header: map[string]any{"typ": "JWT"}, payload: good, sign: hs256(), wantErr: token.ErrInvalid},
		{name: "alg not a string", header: map[string]any{"alg": 256, "typ": "JWT"}, payload: good, sign: hs256(), wantErr: token.ErrInvalid},
		{name: "HS384 same secret", header: header("HS384"), payload: good, sign: signWith(jwt.SigningMethodHS384, []byte(testSecret)), wantErr: token.ErrInvalid},
		{name: "HS512 same secret", header: header("HS512"), payload: good, sign: signWith(jwt.SigningMethodHS512, []byte(testSecret)), wantErr: token.ErrInvalid},
		{name: "RS256 header", header: header("RS256"), payload: good, sign: signWith(jwt.SigningMethodRS256, rsaPriv), wantErr: token.ErrInvalid},
		{name: "ES256 header", header: header("ES256"), payload: good, sign: signWith(jwt.SigningMethodES256, ecPriv), wantErr: token.ErrInvalid},
		{name: "EdDSA header", header: header("EdDSA"), payload: good, sign: signWith(jwt.SigningMethodEdDSA, edPriv), wantErr: token.ErrInvalid},
		{name: "kid naming another key", header: header("HS256", "kid", "attacker"), payload: good, sign: other, wantErr: token.ErrInvalid},
		{name: "jku naming another key", header: header("HS256", "jku", "https://attacker.example/jwks.json"), payload: good, sign: other, wantErr: token.ErrInvalid},
		{name: "jwk embedding another key", header: header("HS256", "jwk", jwk), payload: good, sign: other, wantErr: token.ErrInvalid},
		{name: "jku even when genuinely signed", header: header("HS256", "jku", "https://attacker.example/jwks.json"), payload: good, sign: hs256(), wantErr: token.ErrInvalid},
		{name: "x5u even when genuinely signed", header: header("HS256", "x5u", "https://attacker.example/cert.pem"), payload: good, sign: hs256(), wantErr: token.ErrInvalid},
		{name: "crit header", header: header("HS256", "crit", []string{"exp"}), payload: good, sign: hs256(), wantErr: token.ErrInvalid},
		{name: "typ missing", header: map[string]any{"alg": "HS256"}, payload: good, sign: hs256(), wantErr: token.ErrInvalid},
		{name: "typ other", header: header("HS256", "typ", "at+jwt"), payload: good, sign: hs256(), wantErr: token.ErrInvalid},
		{name: "wrong secret", header: header("HS256"), payload: good, sign: other, wantErr: token.ErrInvalid},
		{name: "empty signature", header: header("HS256"), payload: good, sign: unsigned(), wantErr: token.ErrInvalid},

		// 2. time
		{name: "no exp", header: header("HS256"), payload: edit(good, "exp", nil), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "exp 0", header: header("HS256"), payload: edit(good, "exp", 0), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "exp not a number", header: header("HS256"), payload: edit(good, "exp", "tomorrow"), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "exp equal to iat", header: header("HS256"), payload: edit(good, "exp", now.Unix()), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "expired", header: header("HS256"), payload: expired, sign: hs256(), wantErr: token.ErrExpired},
		{name: "future nbf", header: header("HS256"), payload: edit(good, "nbf", now.Add(time.Minute).Unix()), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "missing iat", header: header("HS256"), payload: edit(good, "iat", nil), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "future iat", header: header("HS256"), payload: edit(good, "iat", now.Add(time.Minute).Unix()), sign: hs256(), wantErr: token.ErrInvalid},

		// 3. issuer and audience
		{name: "wrong iss", header: header("HS256"), payload: edit(good, "iss", "someone-else"), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "missing iss", header: header("HS256"), payload: edit(good, "iss", nil), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "wrong aud", header: header("HS256"), payload: edit(good, "aud", []string{"someone-else"}), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "missing aud", header: header("HS256"), payload: edit(good, "aud", nil), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "empty aud", header: header("HS256"), payload: edit(good, "aud", []string{}), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "aud of wrong type", header: header("HS256"), payload: edit(good, "aud", 7), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "missing sub", header: header("HS256"), payload: edit(good, "sub", nil), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "missing user_id", header: header("HS256"), payload: edit(good, "user_id", nil), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "missing jti", header: header("HS256"), payload: edit(good, "jti", nil), sign: hs256(), wantErr: token.ErrInvalid},

		// 4. token type
		{name: "refresh as access", header: header("HS256"), payload: refresh, sign: hs256(), wantErr: token.ErrWrongType},
		{name: "access as refresh", header: header("HS256"), payload: good, sign: hs256(), want: token.TypeRefresh, wantErr: token.ErrWrongType},
		{name: "missing token_type", header: header("HS256"), payload: edit(good, "token_type", nil), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "unknown token_type", header: header("HS256"), payload: edit(good, "token_type", "id"), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "refresh without sid", header: header("HS256"), payload: edit(refresh, "sid", nil), sign: hs256(), want: token.TypeRefresh, wantErr: token.ErrInvalid},

		// 5. combinations: expired is reported only when nothing else is wrong
		{name: "expired and badly signed", header: header("HS256"), payload: expired, sign: other, wantErr: token.ErrInvalid},
		{name: "expired and alg none", header: header("none"), payload: expired, sign: unsigned(), wantErr: token.ErrInvalid},
		{name: "expired and wrong iss", header: header("HS256"), payload: edit(expired, "iss", "x"), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "expired and missing iat", header: header("HS256"), payload: edit(expired, "iat", nil), sign: hs256(), wantErr: token.ErrInvalid},
		{name: "expired refresh as access", header: header("HS256"), payload: edit(expired, "token_type", "refresh"), sign: hs256(), wantErr: token.ErrWrongType},
		{name: "wrong type and wrong aud", header: header("HS256"), payload: edit(refresh, "aud", "x"), sign: hs256(), wantErr: token.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := craft(t, tt.header, tt.payload, tt.sign)
			want := tt.want
			if want == "" {
				want = token.TypeAccess
			}
			got, err := m.Verify(tok, want)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, "alice", got.Subject)
				assert.Equal(t, want, got.Type)
				return
			}
			requireVerifyErr(t, err, tt.wantErr)
			assert.Equal(t, token.Claims{}, got)
			assert.NotContains(t, err.Error(), tok)
			assert.NotContains(t, err.Error(), testSecret)
		})
	}
}

// TestVerifyAltered alters genuine tokens (SECURITY.md, Tokens 5 and 6).
func TestVerifyAltered(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	tok := issueAccess(t, m).Token
	h, p, s := segments(t, tok)

	// A payload naming another user, under the original signature.
	forged := decodeSegment(t, p)
	forged["sub"] = "admin"
	forged["user_id"] = "u-0"
	tampered := h + "." + b64(mustJSON(t, forged)) + "." + s

	// The last character of an HS256 signature carries 4 bits of the MAC and
	// 2 padding bits; changing only the padding bits decodes to the same MAC
	// under lax base64 decoding.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	require.GreaterOrEqual(t, last, 0)
	malleable := h + "." + p + "." + s[:len(s)-1] + string(alphabet[last^1])

	tests := []struct {
		name string
		tok  string
	}{
		{"tampered payload", tampered},
		{"tampered header", b64([]byte(`{"alg":"HS256","typ":"JWT","x":1}`)) + "." + p + "." + s},
		{"last signature character changed", malleable},
		{"signature truncated", h + "." + p + "." + s[:len(s)-1]},
		{"signature padded", tok + "="},
		{"line break in signature", h + "." + p + "." + s[:10] + "\n" + s[10:]},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+"},
		{"signature dropped", h + "." + p + "."},
		{"two segments", h + "." + p},
		{"four segments", tok + "." + s},
		{"empty", ""},
		{"only dots", ".."},
		{"bearer prefix", "Bearer " + tok},
		{"header not JSON", b64([]byte("not json")) + "." + p + "." + s},
		{"payload not JSON", h + "." + b64([]byte("[1,2")) + "." + s},
		{"payload not base64", h + ".@@@." + s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Verify(tt.tok, token.TypeAccess)
			requireVerifyErr(t, err, token.ErrInvalid)
		})
	}

	t.Run("genuine control", func(t *testing.T) {
		_, err := m.Verify(tok, token.TypeAccess)
		require.NoError(t, err)
	})
}

// TestVerifyOversized covers SECURITY.md, Tokens 6: a megabyte of dots is
// refused before any parsing, so it allocates nothing.
func TestVerifyOversized(t *testing.T) {
	m := hsManager(t, newClock())
	tests := []struct {
		name string
		tok  string
	}{
		{"a megabyte of dots", strings.Repeat(".", 1<<20)},
		{"bearer and a megabyte of dots", "Bearer " + strings.Repeat(".", 1<<20)},
		{"just over 8 KiB of base64url", "a." + strings.Repeat("b", 8<<10) + ".c"},
		{"a megabyte of segments", strings.Repeat("a.", 1<<19)},
		{"many dots under the bound", strings.Repeat(".", 4<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			allocs := testing.AllocsPerRun(20, func() {
				_, err = m.Verify(tt.tok, token.TypeAccess)
			})
			requireVerifyErr(t, err, token.ErrInvalid)
			assert.True(t, strings.HasPrefix(err.Error(), "token: invalid: "), err.Error())
			assert.Less(t, len(err.Error()), 100, "the message does not echo the input")
			assert.Zero(t, allocs, "refusing junk must not allocate")
		})
	}
}

// TestVerifyLeeway moves the clock around the expiry of a genuine token.
func TestVerifyLeeway(t *testing.T) {
	tests := []struct {
		name    string
		leeway  time.Duration // 0: the default
		after   time.Duration // clock moved past exp by this much
		wantErr error
	}{
		{name: "just before exp", after: -time.Second},
		{name: "inside the default leeway", after: token.DefaultLeeway - time.Second},
		{name: "past the default leeway", after: token.DefaultLeeway + time.Second, wantErr: token.ErrExpired},
		{name: "long expired", after: 48 * time.Hour, wantErr: token.ErrExpired},
		{name: "inside a custom leeway", leeway: 5 * time.Second, after: 4 * time.Second},
		{name: "past a custom leeway", leeway: 5 * time.Second, after: 6 * time.Second, wantErr: token.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			m := newManager(t, token.Config{Secret: []byte(testSecret), Now: c.Now, Leeway: tt.leeway})
			for _, issued := range []struct {
				is   token.Issued
				want token.Type
			}{{issueAccess(t, m), token.TypeAccess}, {issueRefresh(t, m), token.TypeRefresh}} {
				c.t = issued.is.ExpiresAt.Add(tt.after)
				_, err := m.Verify(issued.is.Token, issued.want)
				if tt.wantErr == nil {
					require.NoError(t, err)
					continue
				}
				requireVerifyErr(t, err, tt.wantErr)
				c.t = start()
			}
		})
	}
}

// TestVerifyWantedType checks tokens against the type asked for.
func TestVerifyWantedType(t *testing.T) {
	m := hsManager(t, newClock())
	access, refresh := issueAccess(t, m), issueRefresh(t, m)
	tests := []struct {
		name    string
		tok     string
		want    token.Type
		wantErr error
	}{
		{"access as access", access.Token, token.TypeAccess, nil},
		{"refresh as refresh", refresh.Token, token.TypeRefresh, nil},
		{"refresh as access", refresh.Token, token.TypeAccess, token.ErrWrongType},
		{"access as refresh", access.Token, token.TypeRefresh, token.ErrWrongType},
		{"unknown wanted type", access.Token, token.Type("id"), token.ErrInvalid},
		{"empty wanted type", access.Token, "", token.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Verify(tt.tok, tt.want)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got.Type)
				return
			}
			requireVerifyErr(t, err, tt.wantErr)
		})
	}
}

// TestVerifyOtherIssuer checks that managers with the same secret but another
// issuer or audience refuse each other's tokens.
func TestVerifyOtherIssuer(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	tok := issueAccess(t, m).Token
	tests := []struct {
		name string
		cfg  token.Config
	}{
		{"other issuer", token.Config{Secret: []byte(testSecret), Now: c.Now, Issuer: "billing"}},
		{"other audience", token.Config{Secret: []byte(testSecret), Now: c.Now, Audience: "billing"}},
		{"other secret", token.Config{Secret: []byte(strings.Repeat("z", 32)), Now: c.Now}},
		{"same secret, HS384", token.Config{Algorithm: "HS384", Secret: []byte(strings.Repeat(testSecret, 2)), Now: c.Now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newManager(t, tt.cfg).Verify(tok, token.TypeAccess)
			requireVerifyErr(t, err, token.ErrInvalid)
		})
	}
}

// TestVerifyAlgorithmConfusion signs HS256 tokens with the public key of an
// asymmetric manager, in the encodings a confused verifier might use as an
// HMAC secret.
func TestVerifyAlgorithmConfusion(t *testing.T) {
	c := newClock()
	priv := rsaKey(t, "rsa2048")
	m := newManager(t, token.Config{Algorithm: "RS256", SigningKey: priv, SigningKeyID: "k1", Now: c.Now})
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	for name, secret := range map[string][]byte{
		"DER":     der,
		"modulus": priv.N.Bytes(),
	} {
		t.Run(name, func(t *testing.T) {
			tok := craft(t, header("HS256", "kid", "k1"), claimsAt(c.Now()), signWith(jwt.SigningMethodHS256, secret))
			_, err := m.Verify(tok, token.TypeAccess)
			requireVerifyErr(t, err, token.ErrInvalid)
		})
	}
}

// TestVerifyConcurrent shares one manager between goroutines (run with -race).
func TestVerifyConcurrent(t *testing.T) {
	m := hsManager(t, newClock())
	done := make(chan error)
	for range 4 {
		go func() {
			for range 50 {
				is, err := m.IssueAccess(alice())
				if err == nil {
					_, err = m.Verify(is.Token, token.TypeAccess)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		require.NoError(t, <-done)
	}
}
