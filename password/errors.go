package password

import "errors"

var (
	// ErrMismatch is returned by [Verify] and [Hasher.Verify] when the
	// password does not match a well-formed hash.
	ErrMismatch = errors.New("password: hash and password do not match")

	// ErrMalformed is wrapped by every error that reports a stored hash
	// which cannot be used: not a PHC string, another variant (argon2i,
	// argon2d), a version other than 19, bad or padded base64, or
	// parameters outside the caps. The wrapping error adds a short reason
	// and never quotes the hash itself.
	ErrMalformed = errors.New("password: malformed hash")

	// ErrInvalidParams is wrapped by the errors of [Params.Validate],
	// [Hash] and [NewHasher] when parameters are outside the caps or
	// [HasherConfig.MaxConcurrent] is negative.
	ErrInvalidParams = errors.New("password: invalid parameters")

	// ErrBusy is returned by [Hasher.Hash] and [Hasher.Verify] when no
	// hashing slot is free and the call may not wait for one (the line is
	// full, or waiting is turned off by a negative [HasherConfig.MaxWait]
	// or [HasherConfig.MaxQueue]), or when none became free within
	// MaxWait. An HTTP layer answers it with 503 and Retry-After.
	ErrBusy = errors.New("password: too many hashes in progress")

	// ErrWeak is wrapped by every *[ValidationError]: errors.Is(err, ErrWeak)
	// reports that [Policy.Check] refused a password.
	ErrWeak = errors.New("password: does not meet the policy")
)
