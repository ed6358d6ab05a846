package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
)

// maxJWKSSize bounds the JWK Set a Verifier reads. forgeauth's holds a few
// keys of under 500 bytes each.
const maxJWKSSize = 256 << 10

// fetch reads the JWK Set at v.url.
func (v *Verifier) fetch(ctx context.Context) (keySet, error) {
	u := *v.url // a request of its own, however the client treats it
	req := (&http.Request{
		Method: http.MethodGet,
		URL:    &u,
		Host:   u.Host,
		Header: http.Header{"Accept": {"application/jwk-set+json, application/json"}},
	}).WithContext(ctx)
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token: JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token: JWKS: status %d", resp.StatusCode)
	}
	if resp.ContentLength > maxJWKSSize {
		return nil, fmt.Errorf("token: JWKS: %d bytes, more than %d", resp.ContentLength, maxJWKSSize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("token: JWKS: reading: %w", err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("token: JWKS: more than %d bytes", maxJWKSSize)
	}
	return parseJWKS(body)
}

// parseJWKS returns the usable signature keys of a JWK Set. Keys this
// package cannot use are skipped, as RFC 7517 (section 5) asks; a kid that
// appears twice is dropped, since it is not clear which key it names.
func parseJWKS(body []byte) (keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("token: JWKS: not a JWK Set: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New("token: JWKS: no keys array")
	}
	set := keySet{}
	twice := map[string]bool{}
	for _, raw := range doc.Keys {
		var j jwkMembers
		if json.Unmarshal(raw, &j) != nil {
			continue
		}
		k, ok := j.publicKey()
		if !ok || twice[j.Kid] {
			continue
		}
		if _, dup := set[j.Kid]; dup {
			delete(set, j.Kid)
			twice[j.Kid] = true
			continue
		}
		set[j.Kid] = k
	}
	if len(set) == 0 {
		return nil, errors.New("token: JWKS: no usable signature key")
	}
	return set, nil
}

// jwkMembers are the members of a JWK a Verifier reads.
type jwkMembers struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Kid    string   `json:"kid"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	N      string   `json:"n"`
	E      string   `json:"e"`
}

// publicKey returns the key if it is a signature key this package uses.
func (j jwkMembers) publicKey() (publicKey, bool) {
	if j.Kid == "" || j.Use != "" && j.Use != "sig" || j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return publicKey{}, false
	}
	b64 := base64.RawURLEncoding.Strict().DecodeString
	var key crypto.PublicKey
	var alg string
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := b64(j.X)
		if err != nil {
			return publicKey{}, false
		}
		key, alg = ed25519.PublicKey(x), "EdDSA"
	case j.Kty == "EC" && j.Crv == "P-256":
		x, errX := b64(j.X)
		y, errY := b64(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return publicKey{}, false
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return publicKey{}, false
		}
		key, alg = pub, "ES256"
	case j.Kty == "RSA":
		n, errN := b64(j.N)
		e, errE := b64(j.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			return publicKey{}, false
		}
		key, alg = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, "RS256"
	default: // "oct" (HMAC) keys, other curves and types
		return publicKey{}, false
	}
	if j.Alg != "" && j.Alg != alg || CheckKey(alg, key) != nil {
		return publicKey{}, false
	}
	return publicKey{key: key, alg: alg}, true
}
