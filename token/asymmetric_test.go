package token_test

import (
	"crypto"
	"crypto/elliptic"
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// asymmetric is one of the asymmetric algorithms with a way to make keys.
type asymmetric struct {
	alg    string
	method jwt.SigningMethod
	// newKeys returns two distinct signing keys.
	newKeys func(testing.TB) (crypto.Signer, crypto.Signer)
}

func asymmetrics() []asymmetric {
	return []asymmetric{
		{"EdDSA", jwt.SigningMethodEdDSA, func(tb testing.TB) (crypto.Signer, crypto.Signer) {
			return edKey(tb), edKey(tb)
		}},
		{"ES256", jwt.SigningMethodES256, func(tb testing.TB) (crypto.Signer, crypto.Signer) {
			return ecKey(tb, elliptic.P256()), ecKey(tb, elliptic.P256())
		}},
		{"RS256", jwt.SigningMethodRS256, func(tb testing.TB) (crypto.Signer, crypto.Signer) {
			return rsaKey(tb, "rsa2048"), rsaKey(tb, "rsa2048b")
		}},
	}
}

func TestAsymmetricRoundTrip(t *testing.T) {
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			c := newClock()
			key, _ := a.newKeys(t)
			m := newManager(t, token.Config{Algorithm: a.alg, SigningKey: key, SigningKeyID: "k1", Now: c.Now})
			for _, is := range []token.Issued{issueAccess(t, m), issueRefresh(t, m)} {
				h, _, _ := segments(t, is.Token)
				assert.Equal(t, map[string]any{"alg": a.alg, "typ": "JWT", "kid": "k1"}, decodeSegment(t, h))
				got, err := m.Verify(is.Token, is.Claims.Type)
				require.NoError(t, err)
				assert.Equal(t, is.Claims, got)
			}
		})
	}
}

// TestAsymmetricHostile crafts tokens against an asymmetric manager.
func TestAsymmetricHostile(t *testing.T) {
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			c := newClock()
			key, other := a.newKeys(t)
			m := newManager(t, token.Config{Algorithm: a.alg, SigningKey: key, SigningKeyID: "k1", Now: c.Now})
			good := claimsAt(c.Now())
			genuine := signWith(a.method, key)
			attackerSign := signWith(a.method, other)
			// The attacker's public key as a JWK, to embed in the header.
			attackerJWKS, err := newManager(t, token.Config{Algorithm: a.alg, SigningKey: other, SigningKeyID: "k1"}).JWKS()
			require.NoError(t, err)
			var attackerSet struct{ Keys []map[string]string }
			require.NoError(t, json.Unmarshal(attackerJWKS, &attackerSet))
			attackerJWK := attackerSet.Keys[0]

			tests := []struct {
				name    string
				header  map[string]any
				sign    signer
				wantErr error
			}{
				{name: "genuine control", header: header(a.alg, "kid", "k1"), sign: genuine},
				{name: "missing kid", header: header(a.alg), sign: genuine, wantErr: token.ErrInvalid},
				{name: "empty kid", header: header(a.alg, "kid", ""), sign: genuine, wantErr: token.ErrInvalid},
				{name: "kid not a string", header: header(a.alg, "kid", 1), sign: genuine, wantErr: token.ErrInvalid},
				{name: "unknown kid", header: header(a.alg, "kid", "k2"), sign: genuine, wantErr: token.ErrInvalid},
				{name: "known kid, another key", header: header(a.alg, "kid", "k1"), sign: attackerSign, wantErr: token.ErrInvalid},
				{name: "jwk naming another key", header: header(a.alg, "kid", "k1", "jwk", attackerJWK), sign: attackerSign, wantErr: token.ErrInvalid},
				{name: "jwk without kid", header: header(a.alg, "jwk", attackerJWK), sign: attackerSign, wantErr: token.ErrInvalid},
				{name: "jku naming another key", header: header(a.alg, "kid", "k1", "jku", "https://attacker.example/"), sign: attackerSign, wantErr: token.ErrInvalid},
				{name: "alg none", header: header("none", "kid", "k1"), sign: unsigned(), wantErr: token.ErrInvalid},
				{name: "HS256 with the kid", header: header("HS256", "kid", "k1"), sign: hs256(), wantErr: token.ErrInvalid},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := m.Verify(craft(t, tt.header, good, tt.sign), token.TypeAccess)
					if tt.wantErr == nil {
						require.NoError(t, err)
						return
					}
					requireVerifyErr(t, err, tt.wantErr)
				})
			}
		})
	}
}

// TestAsymmetricRotation walks through a key rotation: the new manager signs
// with the new key and still accepts the old key's tokens while the old
// public key is in VerifyKeys; once it is removed, they are refused.
func TestAsymmetricRotation(t *testing.T) {
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			c := newClock()
			oldKey, newKey := a.newKeys(t)
			before := newManager(t, token.Config{Algorithm: a.alg, SigningKey: oldKey, SigningKeyID: "2025-01", Now: c.Now})
			during := newManager(t, token.Config{Algorithm: a.alg, SigningKey: newKey, SigningKeyID: "2025-06", Now: c.Now,
				VerifyKeys: map[string]crypto.PublicKey{"2025-01": oldKey.Public()}})
			after := newManager(t, token.Config{Algorithm: a.alg, SigningKey: newKey, SigningKeyID: "2025-06", Now: c.Now})

			oldTok := issueAccess(t, before).Token
			newTok := issueAccess(t, during).Token
			h, _, _ := segments(t, newTok)
			assert.Equal(t, "2025-06", decodeSegment(t, h)["kid"])

			tests := []struct {
				name    string
				m       *token.Manager
				tok     string
				wantErr error
			}{
				{"old token, old manager", before, oldTok, nil},
				{"old token, during rotation", during, oldTok, nil},
				{"new token, during rotation", during, newTok, nil},
				{"new token, after rotation", after, newTok, nil},
				{"old token, after rotation", after, oldTok, token.ErrInvalid},
				{"new token, old manager", before, newTok, token.ErrInvalid},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := tt.m.Verify(tt.tok, token.TypeAccess)
					if tt.wantErr == nil {
						require.NoError(t, err)
						return
					}
					requireVerifyErr(t, err, tt.wantErr)
				})
			}
		})
	}
}
