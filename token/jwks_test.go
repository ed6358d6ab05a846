package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// jwksDoc is a JWK Set as a relying party would read it.
type jwksDoc struct {
	Keys []map[string]string `json:"keys"`
}

func decodeB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(tb, err)
	return b
}

// publicFromJWK rebuilds a public key the way a relying party would.
func publicFromJWK(tb testing.TB, k map[string]string) crypto.PublicKey {
	tb.Helper()
	switch k["kty"] {
	case "OKP":
		require.Equal(tb, "Ed25519", k["crv"])
		x := decodeB64(tb, k["x"])
		require.Len(tb, x, ed25519.PublicKeySize)
		return ed25519.PublicKey(x)
	case "EC":
		require.Equal(tb, "P-256", k["crv"])
		x, y := decodeB64(tb, k["x"]), decodeB64(tb, k["y"])
		require.Len(tb, x, 32)
		require.Len(tb, y, 32)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		require.NoError(tb, err)
		return pub
	case "RSA":
		return &rsa.PublicKey{
			N: new(big.Int).SetBytes(decodeB64(tb, k["n"])),
			E: int(new(big.Int).SetBytes(decodeB64(tb, k["e"])).Int64()),
		}
	}
	tb.Fatalf("unexpected kty %q", k["kty"])
	return nil
}

func TestJWKSHMAC(t *testing.T) {
	doc, err := hsManager(t, newClock()).JWKS()
	require.NoError(t, err)
	assert.JSONEq(t, `{"keys":[]}`, string(doc))
	assert.Equal(t, `{"keys":[]}`, string(doc))
}

func TestJWKSAsymmetric(t *testing.T) {
	wantFields := map[string][]string{
		"EdDSA": {"alg", "crv", "kid", "kty", "use", "x"},
		"ES256": {"alg", "crv", "kid", "kty", "use", "x", "y"},
		"RS256": {"alg", "e", "kid", "kty", "n", "use"},
	}
	wantKty := map[string]string{"EdDSA": "OKP", "ES256": "EC", "RS256": "RSA"}
	for _, a := range asymmetrics() {
		t.Run(a.alg, func(t *testing.T) {
			c := newClock()
			current, previous := a.newKeys(t)
			m := newManager(t, token.Config{Algorithm: a.alg, SigningKey: current, SigningKeyID: "b-current", Now: c.Now,
				VerifyKeys: map[string]crypto.PublicKey{"a-previous": previous.Public()}})
			raw, err := m.JWKS()
			require.NoError(t, err)

			var doc jwksDoc
			require.NoError(t, json.Unmarshal(raw, &doc))
			require.Len(t, doc.Keys, 2)
			assert.Equal(t, "a-previous", doc.Keys[0]["kid"], "keys are sorted by kid")
			assert.Equal(t, "b-current", doc.Keys[1]["kid"])
			for i, want := range []crypto.Signer{previous, current} {
				k := doc.Keys[i]
				var fields []string
				for f := range k {
					fields = append(fields, f)
				}
				assert.ElementsMatch(t, wantFields[a.alg], fields)
				assert.Equal(t, wantKty[a.alg], k["kty"])
				assert.Equal(t, a.alg, k["alg"])
				assert.Equal(t, "sig", k["use"])
				pub := publicFromJWK(t, k)
				assert.True(t, want.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub), "JWK %d is the configured key", i)
			}
			if a.alg == "RS256" {
				assert.Equal(t, "AQAB", doc.Keys[0]["e"], "e=65537")
			}

			// A relying party that knows only the published key verifies a
			// token of the manager.
			relyingKey, _ := a.newKeys(t)
			relying := newManager(t, token.Config{Algorithm: a.alg, SigningKey: relyingKey, SigningKeyID: "relying", Now: c.Now,
				VerifyKeys: map[string]crypto.PublicKey{"b-current": publicFromJWK(t, doc.Keys[1])}})
			is := issueAccess(t, m)
			got, err := relying.Verify(is.Token, token.TypeAccess)
			require.NoError(t, err)
			assert.Equal(t, is.Claims, got)
		})
	}
}

// TestJWKSCopy checks that the caller may modify the returned document.
func TestJWKSCopy(t *testing.T) {
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: edKey(t), SigningKeyID: "k"})
	first, err := m.JWKS()
	require.NoError(t, err)
	want := string(first)
	clear(first)
	second, err := m.JWKS()
	require.NoError(t, err)
	assert.Equal(t, want, string(second))
}
