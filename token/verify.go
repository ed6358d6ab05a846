package token

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

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
// audience; non-empty sub, user_id and jti; a token_type equal to want; and
// a sid in a refresh token.
//
// Every error Verify returns matches [ErrInvalid] or [ErrExpired] with
// errors.Is: ErrExpired for a genuine token that has merely expired,
// [ErrWrongType] (which also matches ErrInvalid) for a genuine token of the
// other type, and ErrInvalid for everything else, including a want that is
// neither [TypeAccess] nor [TypeRefresh]. The message gives the reason for
// logs and never contains the token.
//
// Verify is a pure CPU function and is safe for concurrent use.
func (m *Manager) Verify(tokenString string, want Type) (Claims, error) {
	if want != TypeAccess && want != TypeRefresh {
		return Claims{}, errWant
	}
	if err := precheck(tokenString); err != nil {
		return Claims{}, err
	}
	c := wireClaims{want: want}
	if _, err := m.parser.ParseWithClaims(tokenString, &c, m.keyfunc); err != nil {
		return Claims{}, classify(err)
	}
	return c.claims(), nil
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

// precheck refuses, without allocating, what cannot be a compact JWS.
func precheck(s string) error {
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

// Why key refuses a header. The header is not yet authenticated, so none of
// its values is echoed.
var (
	errHeaderType  = errors.New("typ header is not JWT")
	errHeaderParam = errors.New("unexpected header parameter")
	errNoKeyID     = errors.New("kid header is missing")
	errUnknownKey  = errors.New("kid names no known key")
)

// key is the jwt.Keyfunc: it vets the (not yet authenticated) header and
// picks the verification key. The library has already checked alg against
// the one allowed algorithm.
func (m *Manager) key(t *jwt.Token) (any, error) {
	for name := range t.Header {
		switch name {
		case "alg", "typ", "kid":
		default:
			return nil, errHeaderParam
		}
	}
	if typ, _ := t.Header["typ"].(string); typ != "JWT" {
		return nil, errHeaderType
	}
	if m.hmacKey != nil {
		return m.hmacKey, nil
	}
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errNoKeyID
	}
	k, ok := m.verifyKeys[kid]
	if !ok {
		return nil, errUnknownKey
	}
	return k, nil
}

// Digest returns the hex SHA-256 of a token string: what a store keeps for a
// refresh token, so that a copy of the table cannot be replayed. Refresh
// tokens carry 128 random bits, so an unkeyed hash suffices.
func Digest(tokenString string) string {
	sum := sha256.Sum256([]byte(tokenString))
	return hex.EncodeToString(sum[:])
}
