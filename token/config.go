package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
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
	// of at least 2048 bits for RS256 ([ParsePrivateKeyPEM] reads one from a
	// PKCS #8 file). Its public half is added to the verification keys under
	// SigningKeyID.
	SigningKey crypto.Signer

	// SigningKeyID is the kid written in the header of every token the
	// Manager issues. When empty, it is the RFC 7638 thumbprint of the
	// SigningKey's public half ([Thumbprint]), which needs no coordination:
	// every party computes the same kid from the key alone.
	SigningKeyID string

	// PublicKeys are further public keys whose tokens Verify accepts, each
	// under its RFC 7638 thumbprint as kid: during a key rotation, the
	// previous key stays here until the last token it signed has expired, and
	// is then removed ([ParsePublicKeysPEM] reads them from PKIX files). Each
	// key must be of the Algorithm's kind (see VerifyKeys). A key equal to the
	// SigningKey is allowed and has no effect. They are published by
	// [Manager.JWKS].
	PublicKeys []crypto.PublicKey

	// VerifyKeys are further public keys, by a kid of the caller's choosing,
	// whose tokens Verify accepts: PublicKeys for keys whose tokens carry a
	// kid other than their thumbprint. Each key must be of the Algorithm's
	// kind (ed25519.PublicKey, *ecdsa.PublicKey on P-256, *rsa.PublicKey of
	// at least 2048 bits). They are published by [Manager.JWKS].
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
	keys       keySet // the verification keys of the asymmetric algorithms
	issuer     string
	audience   string
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time
	rand       io.Reader
	check      checker
	quick      *quickHMAC // nil for the asymmetric algorithms
	jwks       []byte
}

// New checks cfg, applies its defaults and returns a Manager.
//
// New returns an error wrapping [ErrWeakSecret] when the HMAC secret is too
// short; an error wrapping [ErrWeakKey] for an RSA key under 2048 bits; an
// error wrapping [ErrKeyMismatch] for a SigningKey, PublicKeys or VerifyKeys
// entry of the wrong kind or curve, or malformed; and a descriptive error
// (prefixed "token: ") for an unknown algorithm, a Secret given with an
// asymmetric algorithm or keys given with an HMAC one, a missing SigningKey,
// a VerifyKeys entry with an empty kid, one kid naming two different keys,
// a negative Leeway, and a negative or sub-second TTL. No message contains a
// secret.
func New(cfg Config) (*Manager, error) {
	r, err := newRules(cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.Now)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		alg:        cfg.Algorithm,
		issuer:     r.issuer,
		audience:   r.audience,
		accessTTL:  cfg.AccessTTL,
		refreshTTL: cfg.RefreshTTL,
		now:        r.now,
		rand:       cfg.Rand,
	}
	if m.alg == "" {
		m.alg = DefaultAlgorithm
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.accessTTL, err = lifetime("AccessTTL", m.accessTTL, DefaultAccessTTL); err != nil {
		return nil, err
	}
	if m.refreshTTL, err = lifetime("RefreshTTL", m.refreshTTL, DefaultRefreshTTL); err != nil {
		return nil, err
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
	m.check = r.checker([]string{m.alg}, m.key)
	if secret, ok := m.hmacKey.([]byte); ok {
		m.quick = newQuickHMAC(m.method, secret, r)
	}
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
	if cfg.SigningKey != nil || cfg.SigningKeyID != "" || len(cfg.VerifyKeys) > 0 || len(cfg.PublicKeys) > 0 {
		return fmt.Errorf("token: %s uses Secret; SigningKey, SigningKeyID, PublicKeys and VerifyKeys must be empty", m.alg)
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
	if err := m.checkSigner(cfg.SigningKey); err != nil {
		return err
	}
	public := cfg.SigningKey.Public()
	if err := CheckKey(m.alg, public); err != nil {
		return fmt.Errorf("token: SigningKey: %w", err)
	}
	m.kid = cfg.SigningKeyID
	if m.kid == "" {
		m.kid = thumbprintOf(public)
	}
	m.signKey = cfg.SigningKey
	m.keys = keySet{m.kid: {key: public, alg: m.alg}}

	add := func(where, kid string, key crypto.PublicKey) error {
		if err := CheckKey(m.alg, key); err != nil {
			return fmt.Errorf("token: %s: %w", where, err)
		}
		if kid == "" {
			kid = thumbprintOf(key)
		}
		if err := m.keys.add(kid, publicKey{key: key, alg: m.alg}); err != nil {
			return fmt.Errorf("token: %s: %w", where, err)
		}
		return nil
	}
	// Sorted, so that a configuration with two faults reports the same one
	// every time.
	for _, kid := range slices.Sorted(maps.Keys(cfg.VerifyKeys)) {
		if kid == "" {
			return errors.New("token: VerifyKeys has an empty kid")
		}
		if err := add(fmt.Sprintf("VerifyKeys[%q]", kid), kid, cfg.VerifyKeys[kid]); err != nil {
			return err
		}
	}
	for i, key := range cfg.PublicKeys {
		if err := add(fmt.Sprintf("PublicKeys[%d]", i), "", key); err != nil {
			return err
		}
	}
	m.jwks = encodeJWKS(m.keys.jwks())
	return nil
}

// checkSigner accepts the private key types the JWT library signs with.
func (m *Manager) checkSigner(k crypto.Signer) error {
	switch m.alg {
	case "ES256":
		if _, ok := k.(*ecdsa.PrivateKey); !ok {
			return fmt.Errorf("token: SigningKey: %w: ES256 needs an *ecdsa.PrivateKey, got %T", ErrKeyMismatch, k)
		}
	case "RS256":
		if _, ok := k.(*rsa.PrivateKey); !ok {
			return fmt.Errorf("token: SigningKey: %w: RS256 needs an *rsa.PrivateKey, got %T", ErrKeyMismatch, k)
		}
	}
	// For EdDSA the library signs with any crypto.Signer whose public half
	// is Ed25519, which CheckKey checks.
	return nil
}

// KeyID returns the kid the Manager writes in the header of its tokens: the
// configured SigningKeyID or the thumbprint of the SigningKey; empty for the
// HMAC algorithms, whose tokens carry no kid.
func (m *Manager) KeyID() string { return m.kid }

// AccessTTL returns the lifetime of the access tokens the Manager issues.
func (m *Manager) AccessTTL() time.Duration { return m.accessTTL }

// RefreshTTL returns the lifetime of the refresh tokens the Manager issues.
func (m *Manager) RefreshTTL() time.Duration { return m.refreshTTL }
