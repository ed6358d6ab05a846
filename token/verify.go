package token

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenLen bounds the tokens Verify parses. The tokens this package issues
// are well under 1 KiB even with an RSA signature.
const maxTokenLen = 8 << 10

// Verify checks tokenString and returns its claims if it is a genuine,
// current token of type want from this Manager's issuer for its audience.
//
// It refuses, before parsing, a token that is empty, longer than 8 KiB, or
// holds anything but base64url characters and exactly two dots (so padding,
// white space and line breaks never reach the decoder). It then requires the
// one configured algorithm; a typ header of "JWT"; no header parameter other
// than alg, typ and kid (jku, jwk, x5u, x5c and crit are never honoured); for
// the asymmetric algorithms a kid naming one of the Manager's keys (for HMAC
// the kid is ignored); a valid signature in strict base64url (the malleable
// last character is refused); exp and iat present, exp after iat and not
// passed, iat and nbf (if present) not in the future, each within the leeway;
// iss equal to the configured issuer and aud containing the configured
// audience; non-empty sub, user_id and jti; a token_type equal to want; a
// sid in a refresh token; and an ext claim, if present, that is a JSON
// object.
//
// Every error Verify returns matches [ErrInvalid] or [ErrExpired] with
// errors.Is: ErrExpired for a genuine token that has merely expired,
// [ErrWrongType] (which also matches ErrInvalid) for a genuine token of the
// other type, and ErrInvalid for everything else, including a want that is
// neither [TypeAccess] nor [TypeRefresh]. The message gives the reason for
// logs and never contains the token.
//
// With an HMAC algorithm the signature is checked first, so a forged token
// costs one MAC and no JSON decoding; a genuine token in the form this
// package writes is then read in one pass, and any other is judged by the
// JWT library, with the same checks and the same result.
//
// Verify is a pure CPU function and is safe for concurrent use. A [Verifier]
// runs the same checks with public keys alone.
func (m *Manager) Verify(tokenString string, want Type) (Claims, error) {
	if err := precheck(tokenString, want); err != nil {
		return Claims{}, err
	}
	if m.quick != nil {
		if c, done, err := m.quick.verify(tokenString, want); done {
			return c, err
		}
	}
	return m.check.parse(tokenString, want)
}

// checker holds the verification that Manager.Verify and Verifier.Verify
// share; only the keyfunc, which picks the key, differs between them.
type checker struct {
	parser  *jwt.Parser
	keyfunc jwt.Keyfunc
}

// rules are the claim settings Manager and Verifier share.
type rules struct {
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time
}

// newRules applies the defaults of Config and VerifierConfig.
func newRules(issuer, audience string, leeway time.Duration, now func() time.Time) (rules, error) {
	r := rules{issuer: issuer, audience: audience, leeway: leeway, now: now}
	if r.issuer == "" {
		r.issuer = DefaultIssuer
	}
	if r.audience == "" {
		r.audience = DefaultAudience
	}
	if r.now == nil {
		r.now = time.Now
	}
	switch {
	case r.leeway < 0:
		return rules{}, errors.New("token: Leeway must not be negative")
	case r.leeway == 0:
		r.leeway = DefaultLeeway
	}
	return r, nil
}

// checker returns the checks of r for tokens signed with one of algs, whose
// keys keyfunc picks.
func (r rules) checker(algs []string, keyfunc jwt.Keyfunc) checker {
	// One parser for every call: its options are read-only after
	// construction, so sharing it is safe and saves rebuilding it per token.
	return checker{
		parser: jwt.NewParser(
			jwt.WithValidMethods(algs),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(r.issuer),
			jwt.WithAudience(r.audience),
			jwt.WithLeeway(r.leeway),
			jwt.WithStrictDecoding(),
			jwt.WithTimeFunc(r.now),
		),
		keyfunc: keyfunc,
	}
}

// parse verifies a token that precheck has passed.
func (c *checker) parse(tokenString string, want Type) (Claims, error) {
	wc := wireClaims{want: want}
	if _, err := c.parser.ParseWithClaims(tokenString, &wc, c.keyfunc); err != nil {
		return Claims{}, classify(err)
	}
	return wc.claims(), nil
}

// The errors Verify returns before parsing. They are made once so that
// refusing junk allocates nothing.
var (
	errWant     = invalid("unknown wanted token type")
	errEmpty    = invalid("empty token")
	errTooLong  = invalid("token too long")
	errAlphabet = invalid("token has a character outside base64url")
	errSegments = invalid("token does not have three segments")
)

// precheck refuses, without allocating, a wanted type that does not exist
// and what cannot be a compact JWS.
func precheck(s string, want Type) error {
	if want != TypeAccess && want != TypeRefresh {
		return errWant
	}
	if s == "" {
		return errEmpty
	}
	if len(s) > maxTokenLen {
		return errTooLong
	}
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return errAlphabet
		}
	}
	if dots != 2 {
		return errSegments
	}
	return nil
}

// Why vetHeader refuses a header. The header is not yet authenticated, so
// none of its values is echoed.
var (
	errHeaderType  = errors.New("typ header is not JWT")
	errHeaderParam = errors.New("unexpected header parameter")
)

// vetHeader allows only the header this package writes: alg, typ JWT and
// kid. Both keyfuncs call it first.
func vetHeader(t *jwt.Token) error {
	for name := range t.Header {
		switch name {
		case "alg", "typ", "kid":
		default:
			return errHeaderParam
		}
	}
	if typ, _ := t.Header["typ"].(string); typ != "JWT" {
		return errHeaderType
	}
	return nil
}

// key is the Manager's jwt.Keyfunc: it vets the (not yet authenticated)
// header and picks the verification key. The library has already checked
// alg against the one allowed algorithm.
func (m *Manager) key(t *jwt.Token) (any, error) {
	if err := vetHeader(t); err != nil {
		return nil, err
	}
	if m.hmacKey != nil {
		return m.hmacKey, nil
	}
	return m.keys.lookup(t)
}

// Digest returns the hex SHA-256 of a token string: what a store keeps for a
// refresh token, so that a copy of the table cannot be replayed. Refresh
// tokens carry 128 random bits, so an unkeyed hash suffices.
func Digest(tokenString string) string {
	sum := sha256.Sum256([]byte(tokenString))
	return hex.EncodeToString(sum[:])
}
