package store

import (
	"errors"
	"strings"
)

var (
	// ErrNotFound is returned when no record matches.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict is returned when a unique key is taken. Backends always
	// return it wrapped in a *[ConflictError] naming the key, for every
	// unique key alike: a username or email, a record's ID, a refresh
	// token's or ticket's digest.
	ErrConflict = errors.New("store: conflict")

	// ErrReused is returned by [RefreshTokens.RotateRefreshToken] when the
	// presented token was already rotated: a copy of it is being replayed.
	ErrReused = errors.New("store: refresh token already rotated")

	// ErrSessionEnded is returned by [RefreshTokens.RotateRefreshToken] for
	// a token whose session was ended without it being rotated, and by
	// [Users.UserWithSession] for a session that is no longer active.
	ErrSessionEnded = errors.New("store: session ended")

	// ErrStale is returned by a conditional write when the record changed
	// since the caller read it: the password hash the caller verified is no
	// longer the user's, or the user was disabled.
	ErrStale = errors.New("store: record changed since it was read")

	// ErrUnavailable is wrapped by backends around errors that mean the
	// backend cannot be reached right now (a refused or broken connection, a
	// server shutting down, a lock timeout), so callers can answer "try again"
	// and fail closed rather than report an internal error.
	ErrUnavailable = errors.New("store: backend unavailable")

	// ErrInvalidInput is returned by a write given text that the backend
	// cannot store, such as a NUL byte or invalid UTF-8 on PostgreSQL. It is
	// the caller's input that is wrong, never the backend.
	ErrInvalidInput = errors.New("store: text cannot be stored")

	// ErrCodeMismatch is returned by the methods of [Codes] when an active
	// code exists but the presented digest does not match it; the attempt
	// has been counted.
	ErrCodeMismatch = errors.New("store: code does not match")
)

// The keys a [ConflictError] can name.
const (
	FieldUsername  = "username"
	FieldEmail     = "email"
	FieldID        = "id"     // a record's ID
	FieldTokenHash = "token"  // a refresh token's digest
	FieldDigest    = "digest" // a ticket's digest
)

// ConflictError reports which unique key a write collided on.
type ConflictError struct {
	Field string // one of the Field constants
}

func (e *ConflictError) Error() string { return "store: " + e.Field + " already exists" }

// Unwrap returns [ErrConflict].
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Fold returns the form of a username or email under which uniqueness and
// look-ups are decided: surrounding white space removed and simple Unicode
// lower-casing applied. It does not apply compatibility normalisation, so
// look-alike characters stay distinct; callers normalise to NFC before
// they store or look up (package auth does). Every backend uses Fold.
func Fold(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
