package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The defaults [New] applies to the zero fields of a [Config].
const (
	DefaultAlgorithm  = "HS256"
	DefaultIssuer     = "forgeauth"
	DefaultAudience   = "forgeauth"
	DefaultAccessTTL  = 30 * time.Minute
	DefaultRefreshTTL = 24 * time.Hour
	DefaultLeeway     = 30 * time.Second
)

// minRSABits is the smallest RSA modulus New accepts (NIST SP 800-131A).
const minRSABits = 2048

// Config configures a [Manager]. Every zero field means its secure default, so
// the smallest valid Config holds only a Secret of 32 random bytes. New copies
// what it needs; changing a Config (or the Secret's bytes) after New has no
// effect on the Manager.
type Config struct {
	// Algorithm is the one JWS algorithm the Manager signs with and accepts:
	// "HS256" (the default when empty), "HS384", "HS512", "EdDSA" (Ed25519),
	// "ES256" (ECDSA P-256) or "RS256" (RSA PKCS #1 v1.5, at least 2048
	// bits). A token with any other alg header is refused.
	Algorithm string

	// Secret is the HMAC key for the HS algorithms, used as raw bytes. It must
	// be at least as long as the hash output (RFC 7518, section 3.2): 32 bytes
	// for HS256, 48 for HS384, 64 for HS512; New returns [ErrWeakSecret]
	// otherwise. It should come from a cryptographic random source, not be a
	// memorable phrase. It must be empty for the asymmetric algorithms.
	Secret []byte

	// SigningKey signs tokens for the asymmetric algorithms: an
	// ed25519.PrivateKey (or any crypto.Signer with an Ed25519 public key)
	// for EdDSA, an *ecdsa.PrivateKey on P-256 for ES256, an *rsa.PrivateKey
	// of at least 2048 bits for RS256. Its public half is added to the
	// verification keys under SigningKeyID.
	SigningKey crypto.Signer

	// SigningKeyID is the kid written in the header of every token the
	// Manager issues; required with SigningKey.
	SigningKeyID string

	// VerifyKeys are further public keys, by kid, whose tokens Verify accepts:
	// during a key rotation, the previous key stays here until the last token
	// it signed has expired. Each key must be of the Algorithm's kind
	// (ed25519.PublicKey, *ecdsa.PublicKey on P-256, *rsa.PublicKey of at
	// least 2048 bits). They are published by [Manager.JWKS].
	VerifyKeys map[string]crypto.PublicKey

	// Issuer is written as iss and required on verification; "forgeauth"
	// when empty.
	Issuer string

	// Audience is written as aud and required on verification; "forgeauth"
	// when empty.
	Audience string

	// AccessTTL is the lifetime of access tokens; 30 minutes when zero.
	// Lifetimes are whole seconds on the wire: a negative value or one under a
	// second is an error.
	AccessTTL time.Duration

	// RefreshTTL is the lifetime of refresh tokens; 24 hours when zero. A
	// negative value or one under a second is an error.
	RefreshTTL time.Duration

	// Leeway is the clock skew tolerated on exp, iat and nbf; 30 seconds when
	// zero. Negative is an error.
	Leeway time.Duration

	// Now is the clock; nil means time.Now. Tests inject a fixed clock.
	Now func() time.Time

	// Rand is the source of the jti of each token; nil means crypto/rand.
	// Signing does not use it: ES256 signatures take their randomness from
	// crypto/rand, and the other algorithms are deterministic.
	Rand io.Reader
}

// Manager issues and verifies the access and refresh tokens of one issuer and
// audience with one algorithm. Create it with [New]; the zero value is not
// usable. A Manager is safe for concurrent use by multiple goroutines.
type Manager struct {
	alg        string
	method     jwt.SigningMethod
	signKey    any    // []byte for HMAC, the crypto.Signer otherwise
	kid        string // empty for HMAC
	hmacKey    any    // the secret, boxed once so Verify does not allocate for it
	verifyKeys map[string]crypto.PublicKey
	issuer     string
	audience   string
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time
	rand       io.Reader
	parser     *jwt.Parser
	keyfunc    jwt.Keyfunc
	jwks       []byte
}

// New checks cfg, applies its defaults and returns a Manager.
//
// New returns an error wrapping [ErrWeakSecret] when the HMAC secret is too
// short, and a descriptive error (prefixed "token: ") for an unknown
// algorithm, a Secret given with an asymmetric algorithm or keys given with an
// HMAC one, a missing SigningKey or SigningKeyID, a key of the wrong kind or
// curve, an RSA key under 2048 bits, a VerifyKeys entry with an empty kid or
// one that names a different key under SigningKeyID, a negative Leeway, and a
// negative or sub-second TTL. No message contains a secret.
func New(cfg Config) (*Manager, error) {
	m := &Manager{
		alg:        cfg.Algorithm,
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		accessTTL:  cfg.AccessTTL,
		refreshTTL: cfg.RefreshTTL,
		now:        cfg.Now,
		rand:       cfg.Rand,
	}
	if m.alg == "" {
		m.alg = DefaultAlgorithm
	}
	if m.issuer == "" {
		m.issuer = DefaultIssuer
	}
	if m.audience == "" {
		m.audience = DefaultAudience
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	var err error
	if m.accessTTL, err = lifetime("AccessTTL", m.accessTTL, DefaultAccessTTL); err != nil {
		return nil, err
	}
	if m.refreshTTL, err = lifetime("RefreshTTL", m.refreshTTL, DefaultRefreshTTL); err != nil {
		return nil, err
	}
	leeway := cfg.Leeway
	switch {
	case leeway < 0:
		return nil, errors.New("token: Leeway must not be negative")
	case leeway == 0:
		leeway = DefaultLeeway
	}

	switch m.alg {
	case "HS256", "HS384", "HS512":
		err = m.setSecret(cfg)
	case "EdDSA", "ES256", "RS256":
		err = m.setKeys(cfg)
	default:
		// The name is the caller's configuration, not a secret.
		err = fmt.Errorf("token: unsupported algorithm %q (want HS256, HS384, HS512, EdDSA, ES256 or RS256)", m.alg)
	}
	if err != nil {
		return nil, err
	}
	m.method = jwt.GetSigningMethod(m.alg)

	// One parser for every call: its options are read-only after
	// construction, so sharing it is safe and saves rebuilding it per token.
	m.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{m.alg}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(m.issuer),
		jwt.WithAudience(m.audience),
		jwt.WithLeeway(leeway),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(m.now),
	)
	m.keyfunc = m.key
	return m, nil
}

func lifetime(name string, d, def time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return def, nil
	case d < time.Second:
		return 0, fmt.Errorf("token: %s must be at least one second, got %v", name, d)
	}
	return d, nil
}

func (m *Manager) setSecret(cfg Config) error {
	if cfg.SigningKey != nil || cfg.SigningKeyID != "" || len(cfg.VerifyKeys) > 0 {
		return fmt.Errorf("token: %s uses Secret; SigningKey, SigningKeyID and VerifyKeys must be empty", m.alg)
	}
	need := 32 // RFC 7518, section 3.2: at least the size of the hash output
	switch m.alg {
	case "HS384":
		need = 48
	case "HS512":
		need = 64
	}
	if len(cfg.Secret) < need {
		return fmt.Errorf("%w: %s needs at least %d bytes, got %d", ErrWeakSecret, m.alg, need, len(cfg.Secret))
	}
	secret := append([]byte(nil), cfg.Secret...)
	m.signKey = secret
	m.hmacKey = secret
	m.jwks = encodeJWKS(nil) // the key is secret: nothing to publish
	return nil
}

func (m *Manager) setKeys(cfg Config) error {
	if len(cfg.Secret) > 0 {
		return fmt.Errorf("token: %s uses SigningKey; Secret must be empty", m.alg)
	}
	if cfg.SigningKey == nil {
		return fmt.Errorf("token: %s needs a SigningKey", m.alg)
	}
	if cfg.SigningKeyID == "" {
		return errors.New("token: SigningKeyID is required with SigningKey")
	}
	if err := m.checkSigner(cfg.SigningKey); err != nil {
		return err
	}
	public := cfg.SigningKey.Public()
	signing, err := m.publicJWK(cfg.SigningKeyID, public)
	if err != nil {
		return fmt.Errorf("token: SigningKey: %w", err)
	}
	m.signKey = cfg.SigningKey
	m.kid = cfg.SigningKeyID
	m.verifyKeys = make(map[string]crypto.PublicKey, len(cfg.VerifyKeys)+1)
	published := make([]jwk, 0, len(cfg.VerifyKeys)+1)
	for kid, key := range cfg.VerifyKeys {
		if kid == "" {
			return errors.New("token: VerifyKeys has an empty kid")
		}
		j, err := m.publicJWK(kid, key)
		if err != nil {
			return fmt.Errorf("token: VerifyKeys[%q]: %w", kid, err)
		}
		if kid == m.kid {
			if !equalKeys(key, public) {
				return fmt.Errorf("token: VerifyKeys[%q] differs from the SigningKey of the same kid", kid)
			}
			continue
		}
		m.verifyKeys[kid] = key
		published = append(published, j)
	}
	m.verifyKeys[m.kid] = public
	m.jwks = encodeJWKS(append(published, signing))
	return nil
}

// checkSigner accepts the private key types the JWT library signs with.
func (m *Manager) checkSigner(k crypto.Signer) error {
	switch m.alg {
	case "ES256":
		if _, ok := k.(*ecdsa.PrivateKey); !ok {
			return fmt.Errorf("token: ES256 needs an *ecdsa.PrivateKey, got %T", k)
		}
	case "RS256":
		if _, ok := k.(*rsa.PrivateKey); !ok {
			return fmt.Errorf("token: RS256 needs an *rsa.PrivateKey, got %T", k)
		}
	}
	// For EdDSA the library signs with any crypto.Signer whose public half
	// is Ed25519, which publicJWK checks.
	return nil
}

// publicJWK checks that k is a sound public key for m.alg and returns its JWK
// (RFC 7518 section 6, RFC 8037 for Ed25519).
func (m *Manager) publicJWK(kid string, k crypto.PublicKey) (jwk, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	j := jwk{Use: "sig", Alg: m.alg, Kid: kid}
	switch m.alg {
	case "EdDSA":
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return jwk{}, fmt.Errorf("EdDSA needs an Ed25519 key, got %T", k)
		}
		if len(pub) != ed25519.PublicKeySize {
			return jwk{}, fmt.Errorf("Ed25519 public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
		}
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
	case "ES256":
		pub, ok := k.(*ecdsa.PublicKey)
		if !ok {
			return jwk{}, fmt.Errorf("ES256 needs an ECDSA P-256 key, got %T", k)
		}
		if pub == nil || pub.Curve != elliptic.P256() {
			return jwk{}, errors.New("ES256 needs an ECDSA key on the P-256 curve")
		}
		//lint:ignore SA1019 only checked for nil: Bytes panics on a key without coordinates
		if pub.X == nil || pub.Y == nil {
			return jwk{}, errors.New("ECDSA public key has no point")
		}
		point, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each on P-256
		if err != nil {
			return jwk{}, fmt.Errorf("ECDSA public key: %w", err)
		}
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(point[1:33]), b64(point[33:])
	case "RS256":
		pub, ok := k.(*rsa.PublicKey)
		if !ok {
			return jwk{}, fmt.Errorf("RS256 needs an RSA key, got %T", k)
		}
		if pub == nil || pub.N == nil {
			return jwk{}, errors.New("RSA public key is empty")
		}
		if bits := pub.N.BitLen(); bits < minRSABits {
			return jwk{}, fmt.Errorf("RSA key has %d bits, want at least %d", bits, minRSABits)
		}
		j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	}
	return j, nil
}

func equalKeys(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// AccessTTL returns the lifetime of the access tokens the Manager issues.
func (m *Manager) AccessTTL() time.Duration { return m.accessTTL }

// RefreshTTL returns the lifetime of the refresh tokens the Manager issues.
func (m *Manager) RefreshTTL() time.Duration { return m.refreshTTL }
