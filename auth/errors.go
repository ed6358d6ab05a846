package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The conditions of the flows. The HTTP adapter maps each one to a status and
// a stable code; any other error a [Service] method returns is internal.
var (
	// ErrInvalidCredentials: login with an unknown user or a wrong password
	// (one answer for both, with the same timing).
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrInvalidToken: a missing, malformed, expired or revoked access token,
	// or a token of a user who is gone or disabled.
	ErrInvalidToken = errors.New("auth: invalid access token")
	// ErrInvalidRefreshToken: a bad, expired, revoked or reused refresh token.
	ErrInvalidRefreshToken = errors.New("auth: invalid refresh token")
	// ErrInvalidPassword: change-password with a wrong current password.
	ErrInvalidPassword = errors.New("auth: invalid current password")
	// ErrNoPassword: a flow that confirms with the current password, for
	// an account that has none (it signs in with passkeys or providers
	// only; forgot-password sets one).
	ErrNoPassword = errors.New("auth: the account has no password")
	// ErrInvalidCode: a verification or reset code that is wrong, expired,
	// used, out of attempts or for another purpose (one answer for all).
	ErrInvalidCode = errors.New("auth: invalid or expired code")
	// ErrEmailNotVerified: login before the email is verified, when that is
	// required.
	ErrEmailNotVerified = errors.New("auth: email not verified")
	// ErrInactiveUser: the account is disabled.
	ErrInactiveUser = errors.New("auth: inactive user")
	// ErrNotFound: an unknown device (or a device of another user).
	ErrNotFound = errors.New("auth: not found")
	// ErrUserExists is always returned inside an [*ExistsError].
	ErrUserExists = errors.New("auth: user exists")
	// ErrValidation is always returned inside a [*ValidationError].
	ErrValidation = errors.New("auth: validation failed")
	// ErrRateLimited is always returned inside a [*RateLimitError].
	ErrRateLimited = errors.New("auth: rate limited")
	// ErrUnavailable is always returned inside an [*UnavailableError]: the
	// store cannot be reached or password hashing is saturated.
	ErrUnavailable = errors.New("auth: temporarily unavailable")
	// ErrNotEnabled: the flow exists only in [ModeComplete].
	ErrNotEnabled = errors.New("auth: not enabled in basic mode")
)

// FieldError is one failed rule of one input field.
type FieldError struct {
	Field   string // "username", "email", "password", "new_password"
	Code    string // stable, e.g. "username_invalid", "email_invalid", "password_too_short"
	Message string // English, for people
}

// ValidationError lists every failed rule of a request. It matches
// [ErrValidation].
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	codes := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		codes[i] = f.Field + ": " + f.Code
	}
	return "auth: validation failed (" + strings.Join(codes, ", ") + ")"
}

// Unwrap returns [ErrValidation].
func (e *ValidationError) Unwrap() error { return ErrValidation }

// ExistsError reports that a username or email is taken. It matches
// [ErrUserExists].
type ExistsError struct {
	Field string // "username" or "email"
}

func (e *ExistsError) Error() string { return "auth: " + e.Field + " already registered" }

// Unwrap returns [ErrUserExists].
func (e *ExistsError) Unwrap() error { return ErrUserExists }

// RateLimitError reports that a limit was reached and when to try again. It
// matches [ErrRateLimited].
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("auth: rate limited, retry after %s", e.RetryAfter.Round(time.Second))
}

// Unwrap returns [ErrRateLimited].
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// UnavailableError reports a temporary failure (the store cannot be reached,
// hashing is saturated). It matches [ErrUnavailable] and its cause.
type UnavailableError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return ErrUnavailable.Error()
	}
	return ErrUnavailable.Error() + ": " + e.Err.Error()
}

// Unwrap returns [ErrUnavailable] and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }
