package totp

import "errors"

var (
	// ErrInvalidCode is returned by [Validate] for a code that is wrong,
	// outside the window of [Skew] steps, or malformed (not exactly
	// [Digits] ASCII digits), and by [NormalizeRecoveryCode] and
	// [RecoveryCodeDigest] for text that cannot be a recovery code. An HTTP
	// layer answers both with the one invalid_code.
	ErrInvalidCode = errors.New("totp: invalid code")

	// ErrInvalidSecret is returned by [Code], [Validate] and [URI] when the
	// shared secret is shorter than [MinSecretSize] bytes: such a secret,
	// an empty one above all, would let anyone compute the codes.
	ErrInvalidSecret = errors.New("totp: secret too short")

	// ErrInvalidLabel is returned by [URI] when the issuer or the account
	// is empty, is not valid UTF-8, or holds a control character.
	ErrInvalidLabel = errors.New("totp: invalid issuer or account")

	// ErrInvalidKey is returned by [SealSecret] and [OpenSecret] when the
	// encryption key is not [KeySize] bytes, and by [DeriveKey] and
	// [RecoveryCodeDigest] when the secret or key is shorter than
	// [KeySize] bytes. It is a configuration error, never the user's.
	ErrInvalidKey = errors.New("totp: invalid key size")

	// ErrDecrypt is returned by [OpenSecret] when the sealed secret does
	// not open: a wrong key, a sealed value that was altered, truncated or
	// copied from another user's row, or an unknown version byte.
	ErrDecrypt = errors.New("totp: cannot decrypt secret")
)
