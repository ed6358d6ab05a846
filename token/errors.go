package token

import (
	"errors"

	"github.com/golang-jwt/jwt/v5"
)

var (
	// ErrInvalid is returned by [Manager.Verify] and [Verifier.Verify] for
	// every token they refuse except one that is merely expired: a malformed
	// or oversized token, a disallowed algorithm, a header other than the one
	// this package writes (typ JWT; a known kid for the asymmetric
	// algorithms; no jku, jwk, x5u, crit or other parameter), a bad
	// signature, a wrong or missing iss or aud, a missing exp, iat, sub,
	// user_id or jti, an exp not after iat, an iat or nbf in the future
	// beyond the leeway, a missing or unknown token_type, a refresh token
	// without sid, and an ext claim that is not an object. Errors that match
	// [ErrWrongType] match ErrInvalid as well, so a caller that checks only
	// ErrInvalid and [ErrExpired] has covered every failure.
	ErrInvalid = errors.New("token: invalid")

	// ErrExpired is returned by [Manager.Verify] and [Verifier.Verify] when
	// a token is genuine and well-formed but its exp lies further in the past
	// than the leeway. A token that is expired and also fails another check
	// (its signature, its issuer, ...) is [ErrInvalid] instead: the signature
	// is checked first, and only a token that is wrong in no other way is
	// called expired.
	ErrExpired = errors.New("token: expired")

	// ErrWrongType is returned by [Manager.Verify] and [Verifier.Verify] when
	// a genuine token of one known type is presented where the other is
	// wanted: a refresh token on a protected route, or an access token to the
	// refresh endpoint. An error matching ErrWrongType also matches
	// [ErrInvalid].
	ErrWrongType = errors.New("token: wrong token type")

	// ErrWeakSecret is returned, wrapped with the required and the actual
	// length (never the secret), by [New] when the HMAC secret is shorter than
	// the hash output of the algorithm (RFC 7518, section 3.2): 32 bytes for
	// HS256, 48 for HS384, 64 for HS512.
	ErrWeakSecret = errors.New("token: secret too short")

	// ErrIncompleteIdentity is returned, wrapped with the name of the missing
	// field, by [Manager.IssueAccess] and [Manager.IssueRefresh] when the
	// [Identity] lacks a UserID or a Username, and by IssueRefresh when it
	// lacks a SessionID.
	ErrIncompleteIdentity = errors.New("token: incomplete identity")

	// ErrCustomClaims is returned, wrapped with the reason, by
	// [Manager.IssueAccess] when [Identity.Custom] is not valid JSON, is not
	// a JSON object, or is over 4 KiB once compacted.
	ErrCustomClaims = errors.New("token: custom claims refused")

	// ErrKeyMismatch is returned, wrapped with the reason, by [CheckKey],
	// [Thumbprint], [New] and [NewVerifier] for a key that cannot serve the
	// algorithm: a key of another kind or curve, a malformed key, or a key
	// given for an HMAC algorithm; and by [ParsePublicKeysPEM] for a key of a
	// type this package does not use.
	ErrKeyMismatch = errors.New("token: key does not match the algorithm")

	// ErrWeakKey is returned, wrapped with the actual and the required size,
	// by [CheckKey], [New] and [NewVerifier] for an RSA key under 2048 bits.
	ErrWeakKey = errors.New("token: key too weak")

	// ErrKeysUnavailable is returned, wrapped with the cause, by
	// [Verifier.Verify] when the Verifier reads its keys from a JWK Set URL
	// and has not yet been able to load any: the endpoint failed, answered
	// something that is not a usable JWK Set, or the ctx ended first. It does
	// not match [ErrInvalid]: the token was not judged, so the caller should
	// answer with a server error (503), not ask for a new token.
	ErrKeysUnavailable = errors.New("token: verification keys unavailable")
)

// verifyError is the error [Manager.Verify] and [Verifier.Verify] return. Its chain holds only the
// sentinels of this package; the underlying reason, which may come from the
// JWT library, is kept for the message alone so that no library error type
// becomes part of this package's contract. The reason never includes the
// token, a key or a claim value.
type verifyError struct {
	kind   error  // ErrInvalid, ErrExpired or ErrWrongType
	reason string // a fixed description, when there is no cause
	cause  error  // the library's error, for the message only
	// unknownKey is set when the kid named no known key: a Verifier that
	// reads a JWK Set may then fetch it again.
	unknownKey bool
}

func (e *verifyError) Error() string {
	if e.cause != nil {
		return e.kind.Error() + ": " + e.cause.Error()
	}
	return e.kind.Error() + ": " + e.reason
}

func (e *verifyError) Unwrap() []error {
	if e.kind == ErrWrongType {
		return []error{ErrWrongType, ErrInvalid}
	}
	return []error{e.kind}
}

func invalid(reason string) error { return &verifyError{kind: ErrInvalid, reason: reason} }

// classify converts an error of the JWT library into one of this package's.
// The library joins every failed claim check into one error; the token is
// expired (or of the wrong type) only when nothing else failed.
func classify(err error) error {
	var expired, wrongType, other, unknownKey bool
	eachLeaf(err, func(leaf error) {
		switch leaf {
		case errUnknownKey:
			unknownKey, other = true, true
		case jwt.ErrTokenInvalidClaims:
			// The category the library puts above every claim failure.
		case jwt.ErrTokenExpired:
			expired = true
		case errTypeMismatch:
			wrongType = true
		default:
			other = true
		}
	})
	kind := ErrInvalid
	switch {
	case other:
	case wrongType:
		kind = ErrWrongType
	case expired:
		kind = ErrExpired
	}
	return &verifyError{kind: kind, cause: err, unknownKey: unknownKey}
}

// eachLeaf calls f for every error in err's tree that wraps nothing (a nil
// in the tree is passed too, and so counts as a failure in classify).
func eachLeaf(err error, f func(error)) {
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			eachLeaf(e, f)
		}
	case interface{ Unwrap() error }:
		eachLeaf(u.Unwrap(), f)
	default:
		f(err)
	}
}
