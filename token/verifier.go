package token

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The timing of a Verifier that reads a JWK Set.
const (
	// jwksMinInterval is the least time between two fetches, whatever
	// prompts them: tokens naming unknown keys cannot make a storm of
	// requests to the issuer.
	jwksMinInterval = time.Minute
	// jwksMaxAge is how long fetched keys are used before a Verify fetches
	// them again, so that a key the issuer removes stops verifying. It
	// matches the max-age with which forgeauth serves its JWK Set.
	jwksMaxAge = 5 * time.Minute
	// jwksFetchTimeout bounds a fetch by the default client.
	jwksFetchTimeout = 10 * time.Second
)

// VerifierConfig configures a [Verifier]. The keys come either from the
// configuration (PublicKeys, VerifyKeys) or from a JWK Set URL (JWKSURL),
// never both; the zero value has no keys and is refused by [NewVerifier].
// The other zero fields mean the same defaults as in [Config], so a Verifier
// and the Manager it trusts agree when both leave them empty. NewVerifier
// copies what it needs; changing a VerifierConfig afterwards has no effect.
type VerifierConfig struct {
	// PublicKeys are the keys whose tokens Verify accepts, each under its
	// RFC 7638 thumbprint as kid ([Thumbprint]): the kid a Manager gives a
	// key when its Config names none. [ParsePublicKeysPEM] reads them from
	// PKIX files. Each key decides its algorithm: ed25519.PublicKey EdDSA,
	// *ecdsa.PublicKey (P-256) ES256, *rsa.PublicKey (2048 bits or more)
	// RS256.
	PublicKeys []crypto.PublicKey

	// VerifyKeys are further keys, by the kid their tokens carry, for a
	// Manager configured with a SigningKeyID. The same kinds as PublicKeys.
	VerifyKeys map[string]crypto.PublicKey

	// JWKSURL is where to fetch the keys: a JWK Set (RFC 7517) such as
	// forgeauth serves at {prefix}/auth/jwks.json. It must be https, or http
	// to a loopback host (localhost, 127.0.0.0/8, ::1). Keys without a kid,
	// of another type or curve (HMAC "oct" keys included), for "use" other
	// than "sig", or whose "alg" disagrees with their type are ignored.
	JWKSURL string

	// HTTPClient fetches JWKSURL; nil means a client with a 10-second
	// timeout. Only with JWKSURL.
	HTTPClient *http.Client

	// Issuer is the iss that tokens must carry; "forgeauth" when empty.
	Issuer string

	// Audience must be among the aud of tokens; "forgeauth" when empty.
	Audience string

	// Leeway is the clock skew tolerated on exp, iat and nbf; 30 seconds when
	// zero. Negative is an error.
	Leeway time.Duration

	// Now is the clock, for the tokens' times and for the spacing of
	// fetches; nil means time.Now.
	Now func() time.Time
}

// Verifier verifies the access and refresh tokens of a [Manager] with public
// keys alone, for a service that trusts forgeauth tokens but does not issue
// them. It applies exactly the checks of [Manager.Verify]; only where the
// keys come from differs. Create it with [NewVerifier]; the zero value is
// not usable. A Verifier is safe for concurrent use by multiple goroutines.
type Verifier struct {
	check  checker
	now    func() time.Time
	static keySet // the configured keys, or nil with a JWK Set URL

	url    *url.URL // the JWK Set, or nil with configured keys
	client *http.Client
	loaded atomic.Pointer[loadedKeys] // nil until the first good fetch

	mu          sync.Mutex // guards the fields below
	lastAttempt time.Time  // when the last fetch began
	lastErr     error      // how it failed; nil if it succeeded
	inflight    *fetchCall // the fetch under way, or nil
}

// loadedKeys is a key set fetched from the JWK Set URL.
type loadedKeys struct {
	keys keySet
	at   time.Time
}

// fetchCall lets the Verify calls that need keys while a fetch is under way
// wait for its result instead of fetching again.
type fetchCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// NewVerifier checks cfg and returns a Verifier. It does no I/O: with a
// JWKSURL, the keys are fetched by the first Verify.
//
// NewVerifier returns an error wrapping [ErrWeakKey] for an RSA key under
// 2048 bits, one wrapping [ErrKeyMismatch] for a key of another kind or
// curve, a malformed key, or an HMAC secret, and a descriptive error
// (prefixed "token: ") when cfg has no keys or both keys and a JWKSURL, for
// a JWKSURL that does not parse or is neither https nor http to a loopback
// host, an HTTPClient without a JWKSURL, a VerifyKeys entry with an empty
// kid, one kid naming two different keys, and a negative Leeway.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	r, err := newRules(cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.Now)
	if err != nil {
		return nil, err
	}
	v := &Verifier{now: r.now}
	static := len(cfg.PublicKeys) > 0 || len(cfg.VerifyKeys) > 0
	switch {
	case static && cfg.JWKSURL != "":
		return nil, errors.New("token: a Verifier takes PublicKeys and VerifyKeys or a JWKSURL, not both")
	case !static && cfg.JWKSURL == "":
		return nil, errors.New("token: a Verifier needs PublicKeys, VerifyKeys or a JWKSURL")
	case cfg.HTTPClient != nil && cfg.JWKSURL == "":
		return nil, errors.New("token: HTTPClient is set without a JWKSURL")
	}

	algs := []string{"EdDSA", "ES256", "RS256"}
	if static {
		if v.static, err = staticKeys(cfg); err != nil {
			return nil, err
		}
		// Only the algorithms of the keys at hand.
		algs = algs[:0]
		for _, k := range v.static {
			if !slices.Contains(algs, k.alg) {
				algs = append(algs, k.alg)
			}
		}
	} else {
		if v.url, err = checkJWKSURL(cfg.JWKSURL); err != nil {
			return nil, err
		}
		v.client = cfg.HTTPClient
		if v.client == nil {
			v.client = &http.Client{
				Timeout: jwksFetchTimeout,
				// A redirect must not lead to a URL NewVerifier would refuse.
				CheckRedirect: func(req *http.Request, via []*http.Request) error {
					if len(via) >= 10 {
						return errors.New("token: JWKS: too many redirects")
					}
					_, err := checkJWKSURL(req.URL.String())
					return err
				},
			}
		}
	}
	v.check = r.checker(algs, v.key)
	return v, nil
}

func staticKeys(cfg VerifierConfig) (keySet, error) {
	set := keySet{}
	add := func(where, kid string, key crypto.PublicKey) error {
		alg, err := algorithmOf(key)
		if err != nil {
			return fmt.Errorf("token: %s: %w", where, err)
		}
		if kid == "" {
			kid = thumbprintOf(key)
		}
		if err := set.add(kid, publicKey{key: key, alg: alg}); err != nil {
			return fmt.Errorf("token: %s: %w", where, err)
		}
		return nil
	}
	for _, kid := range slices.Sorted(maps.Keys(cfg.VerifyKeys)) {
		if kid == "" {
			return nil, errors.New("token: VerifyKeys has an empty kid")
		}
		if err := add(fmt.Sprintf("VerifyKeys[%q]", kid), kid, cfg.VerifyKeys[kid]); err != nil {
			return nil, err
		}
	}
	for i, key := range cfg.PublicKeys {
		if err := add(fmt.Sprintf("PublicKeys[%d]", i), "", key); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// checkJWKSURL parses raw and refuses a URL whose answer an attacker on the
// network could replace: keys fetched over plain http would let them sign
// any token.
func checkJWKSURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("token: JWKSURL: %w", err)
	}
	if u.Host == "" {
		return nil, errors.New("token: JWKSURL has no host")
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return u, nil
		}
	}
	return nil, fmt.Errorf("token: JWKSURL must be https (or http to a loopback host), got scheme %q", u.Scheme)
}

// Verify checks tokenString exactly as [Manager.Verify] does and returns its
// claims if it is a genuine, current token of type want from the configured
// issuer for the configured audience: a token whose kid names one of the
// Verifier's keys and whose alg is that key's algorithm (so never an HMAC
// algorithm nor "none").
//
// With a JWKSURL, the keys are fetched with ctx (which bounds the fetch; it
// is not kept) by the first Verify, again by a Verify that finds them older
// than 5 minutes, and again when a token names a kid they lack, as happens
// after the issuer rotates its key. There is at most one fetch a minute,
// whatever the tokens name; concurrent calls share a fetch under way. A
// fetch that fails, answers other than 200, sends more than 256 KiB, or
// yields no usable key leaves the keys in use as they were. A token refused
// before parsing (junk, oversized) never causes a fetch.
//
// Verify returns errors that match [ErrInvalid], [ErrExpired] and
// [ErrWrongType] just as Manager.Verify does (a kid that no fetch could
// find is ErrInvalid), and, with a JWKSURL only, an error wrapping
// [ErrKeysUnavailable] and the cause when no keys could be loaded yet.
func (v *Verifier) Verify(ctx context.Context, tokenString string, want Type) (Claims, error) {
	if err := precheck(tokenString, want); err != nil {
		return Claims{}, err
	}
	if v.url == nil {
		return v.check.parse(tokenString, want)
	}
	if l := v.loaded.Load(); l == nil || v.now().Sub(l.at) >= jwksMaxAge {
		if err := v.refresh(ctx); err != nil && v.loaded.Load() == nil {
			return Claims{}, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
		}
	}
	claims, err := v.check.parse(tokenString, want)
	var ve *verifyError
	if !errors.As(err, &ve) || !ve.unknownKey {
		return claims, err
	}
	if v.refresh(ctx) != nil {
		return Claims{}, err
	}
	return v.check.parse(tokenString, want)
}

// key is the Verifier's jwt.Keyfunc: the header checks of the Manager's,
// then the key of the kid, which must be of the token's algorithm.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	if err := vetHeader(t); err != nil {
		return nil, err
	}
	if v.static != nil {
		return v.static.lookup(t)
	}
	var keys keySet // nil before the first fetch: every kid is unknown
	if l := v.loaded.Load(); l != nil {
		keys = l.keys
	}
	return keys.lookup(t)
}

// errTooSoon is what refresh returns when the last fetch, which succeeded,
// was less than a minute ago.
var errTooSoon = errors.New("token: JWKS: fetched less than a minute ago")

// refresh fetches the JWK Set unless a fetch began less than a minute ago,
// or waits for the one under way. It returns nil when new keys are in place.
func (v *Verifier) refresh(ctx context.Context) error {
	v.mu.Lock()
	if c := v.inflight; c != nil {
		v.mu.Unlock()
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		// A caller that has gone away does not spend the minute's fetch.
		v.mu.Unlock()
		return err
	}
	now := v.now()
	if !v.lastAttempt.IsZero() && now.Sub(v.lastAttempt) < jwksMinInterval {
		err := v.lastErr
		v.mu.Unlock()
		if err == nil {
			err = errTooSoon
		}
		return err
	}
	c := &fetchCall{done: make(chan struct{})}
	v.lastAttempt, v.inflight = now, c
	v.mu.Unlock()

	keys, err := v.fetch(ctx)
	if err == nil {
		v.loaded.Store(&loadedKeys{keys: keys, at: now})
	}
	v.mu.Lock()
	v.lastErr, v.inflight = err, nil
	v.mu.Unlock()
	c.err = err
	close(c.done)
	return err
}
