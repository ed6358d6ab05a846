package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

func TestNewErrors(t *testing.T) {
	ed := edKey(t)
	ec := ecKey(t, elliptic.P256())
	ec384 := ecKey(t, elliptic.P384())
	rsa2048 := rsaKey(t, "rsa2048")
	rsa1024 := rsaKey(t, "rsa1024")
	require.Equal(t, 1024, rsa1024.N.BitLen())
	secret := []byte(testSecret)
	other := edKey(t)

	tests := []struct {
		name    string
		cfg     token.Config
		wantErr error // nil: any error; checked to be no ErrWeakSecret
	}{
		{name: "no secret", cfg: token.Config{}, wantErr: token.ErrWeakSecret},
		{name: "31-byte secret", cfg: token.Config{Secret: secret[:31]}, wantErr: token.ErrWeakSecret},
		{name: "HS384 with 47 bytes", cfg: token.Config{Algorithm: "HS384", Secret: []byte(strings.Repeat("k", 47))}, wantErr: token.ErrWeakSecret},
		{name: "HS384 with 32 bytes", cfg: token.Config{Algorithm: "HS384", Secret: secret}, wantErr: token.ErrWeakSecret},
		{name: "HS512 with 63 bytes", cfg: token.Config{Algorithm: "HS512", Secret: []byte(strings.Repeat("k", 63))}, wantErr: token.ErrWeakSecret},
		{name: "alg none", cfg: token.Config{Algorithm: "none", Secret: secret}},
		{name: "lower-case alg", cfg: token.Config{Algorithm: "hs256", Secret: secret}},
		{name: "unsupported ES384", cfg: token.Config{Algorithm: "ES384", SigningKey: ec384, SigningKeyID: "k"}},
		{name: "unsupported PS256", cfg: token.Config{Algorithm: "PS256", SigningKey: rsa2048, SigningKeyID: "k"}},
		{name: "HMAC with a signing key", cfg: token.Config{Secret: secret, SigningKey: ed, SigningKeyID: "k"}},
		{name: "HMAC with a kid", cfg: token.Config{Secret: secret, SigningKeyID: "k"}},
		{name: "HMAC with verify keys", cfg: token.Config{Secret: secret, VerifyKeys: map[string]crypto.PublicKey{"k": ed.Public()}}},
		{name: "EdDSA with a secret", cfg: token.Config{Algorithm: "EdDSA", Secret: secret, SigningKey: ed, SigningKeyID: "k"}},
		{name: "EdDSA without a key", cfg: token.Config{Algorithm: "EdDSA", SigningKeyID: "k"}},
		{name: "EdDSA with an ECDSA key", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ec, SigningKeyID: "k"}, wantErr: token.ErrKeyMismatch},
		{name: "ES256 with an Ed25519 key", cfg: token.Config{Algorithm: "ES256", SigningKey: ed, SigningKeyID: "k"}, wantErr: token.ErrKeyMismatch},
		{name: "ES256 with a P-384 key", cfg: token.Config{Algorithm: "ES256", SigningKey: ec384, SigningKeyID: "k"}, wantErr: token.ErrKeyMismatch},
		{name: "ES256 with an RSA key", cfg: token.Config{Algorithm: "ES256", SigningKey: rsa2048, SigningKeyID: "k"}},
		{name: "RS256 with an ECDSA key", cfg: token.Config{Algorithm: "RS256", SigningKey: ec, SigningKeyID: "k"}},
		{name: "RS256 with 1024 bits", cfg: token.Config{Algorithm: "RS256", SigningKey: rsa1024, SigningKeyID: "k"}, wantErr: token.ErrWeakKey},
		{name: "RS256 verify key of 1024 bits", cfg: token.Config{Algorithm: "RS256", SigningKey: rsa2048, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": rsa1024.Public()}}, wantErr: token.ErrWeakKey},
		{name: "verify key of the wrong kind", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": ec.Public()}}, wantErr: token.ErrKeyMismatch},
		{name: "verify key on the wrong curve", cfg: token.Config{Algorithm: "ES256", SigningKey: ec, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": ec384.Public()}}, wantErr: token.ErrKeyMismatch},
		{name: "nil ECDSA verify key", cfg: token.Config{Algorithm: "ES256", SigningKey: ec, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": (*ecdsa.PublicKey)(nil)}}},
		{name: "ECDSA verify key without a point", cfg: token.Config{Algorithm: "ES256", SigningKey: ec, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": &ecdsa.PublicKey{Curve: elliptic.P256()}}}},
		{name: "ECDSA verify key off the curve", cfg: token.Config{Algorithm: "ES256", SigningKey: ec, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": offCurve()}}},
		{name: "ES256 verify key of RSA", cfg: token.Config{Algorithm: "ES256", SigningKey: ec, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": rsa2048.Public()}}},
		{name: "RS256 verify key of Ed25519", cfg: token.Config{Algorithm: "RS256", SigningKey: rsa2048, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": ed.Public()}}},
		{name: "nil RSA verify key", cfg: token.Config{Algorithm: "RS256", SigningKey: rsa2048, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": (*rsa.PublicKey)(nil)}}},
		{name: "EdDSA signer with a short public key", cfg: token.Config{Algorithm: "EdDSA",
			SigningKey: fakeSigner{public: ed25519.PublicKey(make([]byte, 5))}, SigningKeyID: "k"}},
		{name: "short Ed25519 verify key", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"old": ed25519.PublicKey(make([]byte, 31))}}},
		{name: "verify key with an empty kid", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"": edKey(t).Public()}}},
		{name: "verify key naming the signing kid", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"k": edKey(t).Public()}}},
		{name: "EdDSA signer with a short public key and no kid", cfg: token.Config{Algorithm: "EdDSA",
			SigningKey: fakeSigner{public: ed25519.PublicKey(make([]byte, 5))}}, wantErr: token.ErrKeyMismatch},
		{name: "HMAC with public keys", cfg: token.Config{Secret: secret, PublicKeys: []crypto.PublicKey{ed.Public()}}},
		{name: "public key of the wrong kind", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed,
			PublicKeys: []crypto.PublicKey{ec.Public()}}, wantErr: token.ErrKeyMismatch},
		{name: "public key of 1024 bits", cfg: token.Config{Algorithm: "RS256", SigningKey: rsa2048,
			PublicKeys: []crypto.PublicKey{rsa1024.Public()}}, wantErr: token.ErrWeakKey},
		{name: "nil public key", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed,
			PublicKeys: []crypto.PublicKey{nil}}, wantErr: token.ErrKeyMismatch},
		{name: "HMAC secret as a public key", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed,
			PublicKeys: []crypto.PublicKey{secret}}, wantErr: token.ErrKeyMismatch},
		{name: "verify key under the thumbprint of another key", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed,
			VerifyKeys: map[string]crypto.PublicKey{thumbprint(t, ed): edKey(t).Public()}}},
		{name: "signing kid naming a public key", cfg: token.Config{Algorithm: "EdDSA", SigningKey: ed, SigningKeyID: thumbprint(t, other),
			PublicKeys: []crypto.PublicKey{other.Public()}}},
		{name: "negative leeway", cfg: token.Config{Secret: secret, Leeway: -time.Second}},
		{name: "negative access TTL", cfg: token.Config{Secret: secret, AccessTTL: -time.Minute}},
		{name: "sub-second access TTL", cfg: token.Config{Secret: secret, AccessTTL: time.Millisecond}},
		{name: "negative refresh TTL", cfg: token.Config{Secret: secret, RefreshTTL: -time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := token.New(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.True(t, strings.HasPrefix(err.Error(), "token: "), err.Error())
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NotErrorIs(t, err, token.ErrWeakSecret)
			}
			if len(tt.cfg.Secret) > 0 {
				assert.NotContains(t, err.Error(), string(tt.cfg.Secret))
			}
		})
	}
}

// offCurve is a P-256 public key whose point is not on the curve.
func offCurve() *ecdsa.PublicKey {
	//lint:ignore SA1019 building an invalid key needs the raw coordinates
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}
}

// fakeSigner is a crypto.Signer (a hardware key, say) with a given public
// half whose Sign fails.
type fakeSigner struct{ public crypto.PublicKey }

func (s fakeSigner) Public() crypto.PublicKey { return s.public }

func (fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errSignerDown
}

var errSignerDown = errors.New("signer unavailable")

func TestNewAccepts(t *testing.T) {
	ed := edKey(t)
	tests := []struct {
		name string
		cfg  token.Config
	}{
		{"HS256 with 32 bytes", token.Config{Secret: []byte(testSecret)}},
		{"explicit HS256", token.Config{Algorithm: "HS256", Secret: []byte(testSecret)}},
		{"HS384 with 48 bytes", token.Config{Algorithm: "HS384", Secret: []byte(strings.Repeat("k", 48))}},
		{"HS512 with 64 bytes", token.Config{Algorithm: "HS512", Secret: []byte(strings.Repeat("k", 64))}},
		{"verify key repeating the signing key", token.Config{Algorithm: "EdDSA", SigningKey: ed, SigningKeyID: "k",
			VerifyKeys: map[string]crypto.PublicKey{"k": ed.Public()}}},
		{"pointer to an Ed25519 key", token.Config{Algorithm: "EdDSA", SigningKey: &ed, SigningKeyID: "k"}},
		{"no kid", token.Config{Algorithm: "EdDSA", SigningKey: ed}},
		{"public key repeating the signing key", token.Config{Algorithm: "EdDSA", SigningKey: ed, PublicKeys: []crypto.PublicKey{ed.Public()}}},
		{"verify key under its thumbprint, also in public keys", token.Config{Algorithm: "EdDSA", SigningKey: edKey(t),
			VerifyKeys: map[string]crypto.PublicKey{thumbprint(t, ed): ed.Public()}, PublicKeys: []crypto.PublicKey{ed.Public()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, tt.cfg)
			is := issueAccess(t, m)
			_, err := m.Verify(is.Token, token.TypeAccess)
			require.NoError(t, err)
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	assert.Equal(t, 30*time.Minute, m.AccessTTL())
	assert.Equal(t, 24*time.Hour, m.RefreshTTL())

	access, refresh := issueAccess(t, m), issueRefresh(t, m)
	assert.Equal(t, start().Add(30*time.Minute), access.ExpiresAt)
	assert.Equal(t, start().Add(24*time.Hour), refresh.ExpiresAt)
	for _, is := range []token.Issued{access, refresh} {
		assert.Equal(t, "forgeauth", is.Claims.Issuer)
		assert.Equal(t, []string{"forgeauth"}, is.Claims.Audience)
		h, _, _ := segments(t, is.Token)
		assert.Equal(t, "HS256", decodeSegment(t, h)["alg"])
	}

	// The default leeway is 30 seconds.
	c.t = access.ExpiresAt.Add(29 * time.Second)
	_, err := m.Verify(access.Token, token.TypeAccess)
	require.NoError(t, err)
	c.t = access.ExpiresAt.Add(31 * time.Second)
	_, err = m.Verify(access.Token, token.TypeAccess)
	requireVerifyErr(t, err, token.ErrExpired)
}

func TestNewCustom(t *testing.T) {
	c := newClock()
	m := newManager(t, token.Config{
		Secret:     []byte(testSecret),
		Issuer:     "https://auth.example.com",
		Audience:   "api.example.com",
		AccessTTL:  5 * time.Minute,
		RefreshTTL: 7 * 24 * time.Hour,
		Now:        c.Now,
	})
	assert.Equal(t, 5*time.Minute, m.AccessTTL())
	assert.Equal(t, 7*24*time.Hour, m.RefreshTTL())
	is := issueAccess(t, m)
	got, err := m.Verify(is.Token, token.TypeAccess)
	require.NoError(t, err)
	assert.Equal(t, "https://auth.example.com", got.Issuer)
	assert.Equal(t, []string{"api.example.com"}, got.Audience)
	assert.Equal(t, start().Add(5*time.Minute), got.ExpiresAt)
}

// TestNewCopiesConfig checks that the Manager does not share the caller's
// secret or key map.
func TestNewCopiesConfig(t *testing.T) {
	c := newClock()
	secret := []byte(testSecret)
	m := newManager(t, token.Config{Secret: secret, Now: c.Now})
	tok := issueAccess(t, m).Token
	copy(secret, strings.Repeat("x", len(secret)))
	_, err := m.Verify(tok, token.TypeAccess)
	require.NoError(t, err)

	oldKey, newKey := edKey(t), edKey(t)
	old := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: oldKey, SigningKeyID: "old", Now: c.Now})
	keys := map[string]crypto.PublicKey{"old": oldKey.Public()}
	m = newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: newKey, SigningKeyID: "new", VerifyKeys: keys, Now: c.Now})
	delete(keys, "old")
	_, err = m.Verify(issueAccess(t, old).Token, token.TypeAccess)
	require.NoError(t, err)
}

func TestNewWeakSecretMessage(t *testing.T) {
	_, err := token.New(token.Config{Secret: []byte(testSecret[:31])})
	require.ErrorIs(t, err, token.ErrWeakSecret)
	assert.Equal(t, "token: secret too short: HS256 needs at least 32 bytes, got 31", err.Error())
	assert.False(t, errors.Is(err, token.ErrInvalid))
}

func thumbprint(tb testing.TB, key crypto.PublicKey) string {
	tb.Helper()
	tp, err := token.Thumbprint(key)
	require.NoError(tb, err)
	return tp
}

// TestNewKeyID: without a SigningKeyID the kid is the RFC 7638 thumbprint of
// the signing key, in the header and in the JWKS; a given kid is kept.
func TestNewKeyID(t *testing.T) {
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			key, _ := a.newKeys(t)
			want := thumbprint(t, key.Public())
			for name, tt := range map[string]struct{ kid, want string }{
				"default": {"", want},
				"given":   {"2025-06", "2025-06"},
			} {
				t.Run(name, func(t *testing.T) {
					m := newManager(t, token.Config{Algorithm: a.alg, SigningKey: key, SigningKeyID: tt.kid})
					assert.Equal(t, tt.want, m.KeyID())
					is := issueAccess(t, m)
					h, _, _ := segments(t, is.Token)
					assert.Equal(t, tt.want, decodeSegment(t, h)["kid"])
					_, err := m.Verify(is.Token, token.TypeAccess)
					require.NoError(t, err)

					raw, err := m.JWKS()
					require.NoError(t, err)
					var doc jwksDoc
					require.NoError(t, json.Unmarshal(raw, &doc))
					require.Len(t, doc.Keys, 1)
					assert.Equal(t, tt.want, doc.Keys[0]["kid"])
				})
			}
		})
	}
	assert.Empty(t, hsManager(t, newClock()).KeyID(), "HMAC tokens carry no kid")
}

// TestNewPublicKeysRotation rotates keys the way configuration from PEM
// files does: the new manager signs with the new key and lists the old one
// in PublicKeys; tokens of the old key verify until it is removed.
func TestNewPublicKeysRotation(t *testing.T) {
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			c := newClock()
			oldKey, newKey := a.newKeys(t)
			before := newManager(t, token.Config{Algorithm: a.alg, SigningKey: oldKey, Now: c.Now})
			during := newManager(t, token.Config{Algorithm: a.alg, SigningKey: newKey, Now: c.Now,
				PublicKeys: []crypto.PublicKey{oldKey.Public()}})
			after := newManager(t, token.Config{Algorithm: a.alg, SigningKey: newKey, Now: c.Now})

			oldTok := issueAccess(t, before).Token
			_, err := during.Verify(oldTok, token.TypeAccess)
			require.NoError(t, err, "the old key still verifies during the rotation")
			_, err = during.Verify(issueAccess(t, during).Token, token.TypeAccess)
			require.NoError(t, err)
			_, err = after.Verify(oldTok, token.TypeAccess)
			requireVerifyErr(t, err, token.ErrInvalid)

			raw, err := during.JWKS()
			require.NoError(t, err)
			var doc jwksDoc
			require.NoError(t, json.Unmarshal(raw, &doc))
			var kids []string
			for _, k := range doc.Keys {
				kids = append(kids, k["kid"])
			}
			assert.ElementsMatch(t, []string{thumbprint(t, oldKey.Public()), thumbprint(t, newKey.Public())}, kids)
		})
	}
}
