package store

import (
	"errors"
	"strings"
)

var (
	// ErrNotFound is returned when no record matches.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict is returned when a unique field is taken. Backends return
	// it wrapped in a *[ConflictError] naming the field.
	ErrConflict = errors.New("store: conflict")

	// ErrReused is returned by [Store.RotateRefreshToken] when the presented
	// token exists but was already rotated or revoked.
	ErrReused = errors.New("store: refresh token already rotated or revoked")

	// ErrUnavailable is wrapped by backends around errors that mean the
	// backend cannot be reached right now (a refused or broken connection, a
	// server shutting down, a lock timeout), so callers can answer "try again"
	// and fail closed rather than report an internal error.
	ErrUnavailable = errors.New("store: backend unavailable")

	// ErrCodeMismatch is returned by [Store.ConsumeCode] when an active code
	// exists but the presented digest does not match it; the attempt has been
	// counted.
	ErrCodeMismatch = errors.New("store: code does not match")
)

// The fields a [ConflictError] can name.
const (
	FieldUsername = "username"
	FieldEmail    = "email"
)

// ConflictError reports which unique field a write collided on.
type ConflictError struct {
	Field string // FieldUsername or FieldEmail
}

func (e *ConflictError) Error() string { return "store: " + e.Field + " already exists" }

// Unwrap returns [ErrConflict].
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Fold returns the form of a username or email under which uniqueness and
// look-ups are decided: surrounding white space removed and simple Unicode
// lower-casing applied. It does not apply compatibility normalisation, so
// look-alike characters stay distinct. Every backend uses Fold.
func Fold(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
