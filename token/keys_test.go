package token_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// TestThumbprintVectors checks Thumbprint against published RFC 7638 values.
func TestThumbprintVectors(t *testing.T) {
	// RFC 7638, section 3.1.
	rfc7638 := &rsa.PublicKey{
		N: new(big.Int).SetBytes(decodeB64(t, "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")),
		E: 65537,
	}
	// RFC 8037, appendix A.3.
	rfc8037 := ed25519.PublicKey(decodeB64(t, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
	// The P-256 key of RFC 7517, appendix A.1; the thumbprint was computed
	// apart from this package, over the canonical JSON.
	rfc7517, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4},
		decodeB64(t, "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4")...),
		decodeB64(t, "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM")...))
	require.NoError(t, err)

	tests := []struct {
		name string
		key  crypto.PublicKey
		want string
	}{
		{"RSA, RFC 7638 3.1", rfc7638, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"Ed25519, RFC 8037 A.3", rfc8037, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
		{"P-256, RFC 7517 A.1", rfc7517, "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := token.Thumbprint(tt.key)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestThumbprintSigner checks that a private key stands for its public half.
func TestThumbprintSigner(t *testing.T) {
	for _, key := range []crypto.Signer{edKey(t), ecKey(t, elliptic.P256()), ecKey(t, elliptic.P384()), rsaKey(t, "rsa2048")} {
		fromPrivate, err := token.Thumbprint(key)
		require.NoError(t, err)
		fromPublic, err := token.Thumbprint(key.Public())
		require.NoError(t, err)
		assert.Equal(t, fromPublic, fromPrivate)
		assert.Len(t, fromPublic, 43, "unpadded base64url of 32 bytes")
	}
}

func TestThumbprintErrors(t *testing.T) {
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	for name, key := range map[string]crypto.PublicKey{
		"nil":                 nil,
		"HMAC secret":         []byte(testSecret),
		"X25519":              x25519.PublicKey(),
		"short Ed25519":       ed25519.PublicKey(make([]byte, 31)),
		"nil ECDSA":           (*ecdsa.PublicKey)(nil),
		"ECDSA without point": &ecdsa.PublicKey{Curve: elliptic.P256()},
		"ECDSA off the curve": offCurve(),
		"ECDSA on P-224":      &p224.PublicKey,
		"nil RSA":             (*rsa.PublicKey)(nil),
		"RSA without modulus": &rsa.PublicKey{E: 65537},
	} {
		t.Run(name, func(t *testing.T) {
			tp, err := token.Thumbprint(key)
			require.ErrorIs(t, err, token.ErrKeyMismatch)
			assert.Empty(t, tp)
		})
	}
}

func TestCheckKey(t *testing.T) {
	ed := edKey(t)
	ec := ecKey(t, elliptic.P256())
	ec384 := ecKey(t, elliptic.P384())
	rsa2048 := rsaKey(t, "rsa2048")
	rsa1024 := rsaKey(t, "rsa1024")
	exponent := func(e int) *rsa.PublicKey { return &rsa.PublicKey{N: rsa2048.N, E: e} }

	tests := []struct {
		name    string
		alg     string
		key     crypto.PublicKey
		wantErr error // nil: accepted
	}{
		{"Ed25519 for EdDSA", "EdDSA", ed.Public(), nil},
		{"Ed25519 private key for EdDSA", "EdDSA", ed, nil},
		{"P-256 for ES256", "ES256", ec.Public(), nil},
		{"P-256 private key for ES256", "ES256", ec, nil},
		{"RSA 2048 for RS256", "RS256", rsa2048.Public(), nil},
		{"RSA 2048 private key for RS256", "RS256", rsa2048, nil},

		{"RSA 1024 for RS256", "RS256", rsa1024.Public(), token.ErrWeakKey},
		{"RSA 1024 private key for RS256", "RS256", rsa1024, token.ErrWeakKey},
		{"RSA exponent 1", "RS256", exponent(1), token.ErrKeyMismatch},
		{"RSA even exponent", "RS256", exponent(65536), token.ErrKeyMismatch},
		{"nil RSA", "RS256", (*rsa.PublicKey)(nil), token.ErrKeyMismatch},
		{"RSA without modulus", "RS256", &rsa.PublicKey{E: 65537}, token.ErrKeyMismatch},
		{"P-384 for ES256", "ES256", ec384.Public(), token.ErrKeyMismatch},
		{"nil ECDSA", "ES256", (*ecdsa.PublicKey)(nil), token.ErrKeyMismatch},
		{"ECDSA off the curve", "ES256", offCurve(), token.ErrKeyMismatch},
		{"ECDSA without point", "ES256", &ecdsa.PublicKey{Curve: elliptic.P256()}, token.ErrKeyMismatch},
		{"short Ed25519", "EdDSA", ed25519.PublicKey(make([]byte, 31)), token.ErrKeyMismatch},
		{"Ed25519 for ES256", "ES256", ed.Public(), token.ErrKeyMismatch},
		{"Ed25519 for RS256", "RS256", ed.Public(), token.ErrKeyMismatch},
		{"P-256 for EdDSA", "EdDSA", ec.Public(), token.ErrKeyMismatch},
		{"P-256 for RS256", "RS256", ec.Public(), token.ErrKeyMismatch},
		{"RSA for EdDSA", "EdDSA", rsa2048.Public(), token.ErrKeyMismatch},
		{"RSA for ES256", "ES256", rsa2048.Public(), token.ErrKeyMismatch},
		{"secret for HS256", "HS256", []byte(testSecret), token.ErrKeyMismatch},
		{"public key for HS512", "HS512", ed.Public(), token.ErrKeyMismatch},
		{"alg none", "none", ed.Public(), token.ErrKeyMismatch},
		{"unsupported ES384", "ES384", ec384.Public(), token.ErrKeyMismatch},
		{"empty alg", "", ed.Public(), token.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := token.CheckKey(tt.alg, tt.key)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			other := token.ErrWeakKey
			if tt.wantErr == token.ErrWeakKey {
				other = token.ErrKeyMismatch
			}
			require.NotErrorIs(t, err, other)
			assert.Regexp(t, `^token: `, err.Error())
		})
	}
}
