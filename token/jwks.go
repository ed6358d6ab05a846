package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"slices"
	"strings"
)

// jwk is one public key of a JSON Web Key Set (RFC 7517, RFC 7518 section 6,
// RFC 8037 for Ed25519).
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKS returns the JSON Web Key Set (RFC 7517) of the public verification
// keys, the signing key's included, sorted by kid, each with kid, alg and use
// "sig", for serving at /.well-known/jwks.json. For the HMAC algorithms, whose
// key is secret, the set is empty: {"keys":[]}.
//
// The document is built by [New], which has already vetted every key, so the
// error is always nil; it is in the signature so that a future key source that
// can fail does not change the API. The returned slice is the caller's to
// modify. JWKS is safe for concurrent use.
func (m *Manager) JWKS() ([]byte, error) {
	return slices.Clone(m.jwks), nil
}

// encodeJWKS returns the JWK Set of keys, sorted by kid.
func encodeJWKS(keys []jwk) []byte {
	slices.SortFunc(keys, func(a, b jwk) int { return strings.Compare(a.Kid, b.Kid) })
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: keys}
	if set.Keys == nil {
		set.Keys = []jwk{} // "keys" is required to be an array (RFC 7517, 5.1)
	}
	// Marshalling a struct of strings cannot fail.
	b, _ := json.Marshal(set)
	return b
}

// toJWK returns the public JWK of a key that CheckKey has accepted.
func toJWK(kid string, k publicKey) jwk {
	b64 := base64.RawURLEncoding.EncodeToString
	j := jwk{Use: "sig", Alg: k.alg, Kid: kid}
	switch pub := k.key.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
	case *ecdsa.PublicKey:
		crv, x, y, _ := ecPoint(pub) // checked: cannot fail
		j.Kty, j.Crv, j.X, j.Y = "EC", crv, b64(x), b64(y)
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	}
	return j
}
