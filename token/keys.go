package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted (NIST SP 800-131A).
const minRSABits = 2048

// Thumbprint returns the JWK thumbprint of a public key ([RFC 7638]): the
// unpadded base64url SHA-256 of the key's required JWK members in
// lexicographic order, without white space. It is the kid that [New] and
// [NewVerifier] give a key when the caller names none, and the kid any JOSE
// library computes for the same key.
//
// key is an ed25519.PublicKey, an *ecdsa.PublicKey on P-256, P-384 or P-521,
// or an *rsa.PublicKey; a crypto.Signer stands for its public half. Any other
// type, or a key without a valid point or modulus, gives an error wrapping
// [ErrKeyMismatch]. Thumbprint does not judge the key's strength: see
// [CheckKey]. It is a pure function, safe for concurrent use.
//
// [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638
func Thumbprint(key crypto.PublicKey) (string, error) {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	b64 := base64.RawURLEncoding.EncodeToString
	var canonical string
	switch k := key.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: Ed25519 public key has %d bytes, want %d", ErrKeyMismatch, len(k), ed25519.PublicKeySize)
		}
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + b64(k) + `"}`
	case *ecdsa.PublicKey:
		crv, x, y, err := ecPoint(k)
		if err != nil {
			return "", err
		}
		canonical = `{"crv":"` + crv + `","kty":"EC","x":"` + b64(x) + `","y":"` + b64(y) + `"}`
	case *rsa.PublicKey:
		if k == nil || k.N == nil || k.N.Sign() <= 0 || k.E <= 0 {
			return "", fmt.Errorf("%w: RSA public key is empty", ErrKeyMismatch)
		}
		canonical = `{"e":"` + b64(big.NewInt(int64(k.E)).Bytes()) + `","kty":"RSA","n":"` + b64(k.N.Bytes()) + `"}`
	default:
		return "", fmt.Errorf("%w: unsupported key type %T", ErrKeyMismatch, key)
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:]), nil
}

// thumbprintOf is the Thumbprint of a key that CheckKey has accepted, which
// Thumbprint accepts too.
func thumbprintOf(key crypto.PublicKey) string {
	tp, _ := Thumbprint(key)
	return tp
}

// ecPoint returns the JWK curve name and the fixed-size coordinates of k.
func ecPoint(k *ecdsa.PublicKey) (crv string, x, y []byte, err error) {
	if k == nil || k.Curve == nil {
		return "", nil, nil, fmt.Errorf("%w: ECDSA public key is empty", ErrKeyMismatch)
	}
	switch k.Curve {
	case elliptic.P256(), elliptic.P384(), elliptic.P521():
	default:
		return "", nil, nil, fmt.Errorf("%w: ECDSA curve %s is not supported", ErrKeyMismatch, k.Curve.Params().Name)
	}
	//lint:ignore SA1019 only checked for nil: Bytes panics on a key without coordinates
	if k.X == nil || k.Y == nil {
		return "", nil, nil, fmt.Errorf("%w: ECDSA public key has no point", ErrKeyMismatch)
	}
	point, err := k.Bytes() // 0x04 || X || Y; refuses a point off the curve
	if err != nil {
		return "", nil, nil, fmt.Errorf("%w: ECDSA public key: %v", ErrKeyMismatch, err)
	}
	size := (len(point) - 1) / 2
	return k.Curve.Params().Name, point[1 : 1+size], point[1+size:], nil
}

// CheckKey reports whether key may verify (or, for a crypto.Signer, sign)
// tokens of the JWS algorithm alg: "EdDSA" needs an Ed25519 key, "ES256" an
// ECDSA key on the P-256 curve with a valid point, "RS256" an RSA key of at
// least 2048 bits with an odd public exponent of at least 3. A crypto.Signer
// (what [ParsePrivateKeyPEM] returns) is judged by its public half.
//
// CheckKey returns nil for a suitable key, an error wrapping [ErrWeakKey]
// for an RSA key under 2048 bits, and an error wrapping [ErrKeyMismatch] for
// everything else: a key of another kind or curve, a malformed key, an HMAC
// algorithm (whose key is a secret, not a public key) or an unsupported
// algorithm. The message says why and never holds key material. CheckKey is
// a pure function, safe for concurrent use.
func CheckKey(alg string, key crypto.PublicKey) error {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	switch alg {
	case "EdDSA":
		k, ok := key.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("%w: EdDSA needs an Ed25519 key, got %T", ErrKeyMismatch, key)
		}
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 public key has %d bytes, want %d", ErrKeyMismatch, len(k), ed25519.PublicKeySize)
		}
	case "ES256":
		k, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: ES256 needs an ECDSA P-256 key, got %T", ErrKeyMismatch, key)
		}
		if k != nil && k.Curve != nil && k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ES256 needs an ECDSA key on P-256, got %s", ErrKeyMismatch, k.Curve.Params().Name)
		}
		if _, _, _, err := ecPoint(k); err != nil {
			return err
		}
	case "RS256":
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: RS256 needs an RSA key, got %T", ErrKeyMismatch, key)
		}
		if k == nil || k.N == nil || k.N.Sign() <= 0 {
			return fmt.Errorf("%w: RSA public key is empty", ErrKeyMismatch)
		}
		if bits := k.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("%w: RSA key has %d bits, want at least %d", ErrWeakKey, bits, minRSABits)
		}
		// An exponent of 1 would make every value its own signature.
		if k.E < 3 || k.E%2 == 0 {
			return fmt.Errorf("%w: RSA public exponent %d is not an odd number of at least 3", ErrKeyMismatch, k.E)
		}
	case "HS256", "HS384", "HS512":
		return fmt.Errorf("%w: %s uses a secret, not a public key", ErrKeyMismatch, alg)
	default:
		return fmt.Errorf("%w: unsupported algorithm %q (want EdDSA, ES256 or RS256)", ErrKeyMismatch, alg)
	}
	return nil
}

// algorithmOf returns the one algorithm a public key verifies, having checked
// the key with CheckKey.
func algorithmOf(key crypto.PublicKey) (string, error) {
	var alg string
	switch key.(type) {
	case ed25519.PublicKey:
		alg = "EdDSA"
	case *ecdsa.PublicKey:
		alg = "ES256"
	case *rsa.PublicKey:
		alg = "RS256"
	case []byte, string:
		return "", fmt.Errorf("%w: an HMAC secret cannot be a public key", ErrKeyMismatch)
	default:
		return "", fmt.Errorf("%w: unsupported key type %T (want ed25519.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey)", ErrKeyMismatch, key)
	}
	return alg, CheckKey(alg, key)
}

// publicKey is a verification key with the one algorithm it accepts.
type publicKey struct {
	key crypto.PublicKey
	alg string
}

// keySet holds the verification keys by kid. It is never modified once in
// use, so readers need no lock.
type keySet map[string]publicKey

// add puts key under kid. The same key again under its kid is a no-op;
// another key under a kid already taken is an error.
func (s keySet) add(kid string, key publicKey) error {
	if old, ok := s[kid]; ok {
		if !equalKeys(old.key, key.key) {
			return fmt.Errorf("kid %q names two different keys", kid)
		}
		return nil
	}
	s[kid] = key
	return nil
}

// jwks returns the public JWKs of the set, sorted by kid.
func (s keySet) jwks() []jwk {
	out := make([]jwk, 0, len(s))
	for kid, k := range s {
		out = append(out, toJWK(kid, k))
	}
	return out
}

func equalKeys(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// Why a key lookup fails. The header is not yet authenticated, so none of
// its values is echoed.
var (
	errNoKeyID      = errors.New("kid header is missing")
	errUnknownKey   = errors.New("kid names no known key")
	errKeyAlgorithm = errors.New("alg header does not match the key of the kid")
)

// lookup returns the key named by the kid of t, if it is of t's algorithm.
func (s keySet) lookup(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errNoKeyID
	}
	k, ok := s[kid]
	if !ok {
		return nil, errUnknownKey
	}
	if t.Method.Alg() != k.alg {
		return nil, errKeyAlgorithm
	}
	return k.key, nil
}
