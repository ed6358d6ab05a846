package store

import (
	"fmt"
	"log/slog"
	"time"
)

// User is an account. Username and Email are unique case-insensitively
// (compared through [Fold]).
//
// HashedPassword is a PHC string from package password ("" for a user
// without a password) and never leaves the server: it is left out of JSON
// (`json:"-"`), and of what String and LogValue print, so a User passed to
// a logger or an encoder by accident does not carry it.
type User struct {
	ID             string
	Username       string
	Email          string
	HashedPassword string `json:"-"`
	IsActive       bool
	IsVerified     bool
	IsSuperuser    bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// LastLoginAt is the zero time until the first successful login.
	LastLoginAt time.Time
	// TokensValidAfter is the moment before which issued access tokens are no
	// longer accepted (set by logout-all, change and reset of the password).
	// The zero time accepts every token.
	TokensValidAfter time.Time
}

// String describes u without its password hash.
func (u User) String() string {
	return fmt.Sprintf("store.User{ID:%q Username:%q Email:%q IsActive:%t IsVerified:%t IsSuperuser:%t}",
		u.ID, u.Username, u.Email, u.IsActive, u.IsVerified, u.IsSuperuser)
}

// LogValue logs u by its ID and username, never its hash or email.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", u.ID), slog.String("username", u.Username))
}

// RefreshToken is one refresh token of one device login. Every token of one
// login shares a FamilyID (the session id, "sid" in the access token); rotation
// revokes a token and records which token replaced it.
type RefreshToken struct {
	ID     string
	UserID string
	// TokenHash is the hex SHA-256 digest of the token; the token itself is
	// never stored.
	TokenHash  string
	FamilyID   string
	ExpiresAt  time.Time
	IsRevoked  bool
	ReplacedBy string // ID of the token that replaced this one by rotation
	// SessionExpiresAt is the absolute end of the token's session, set when
	// the session starts and carried over by every rotation: however often
	// it is refreshed, no token of the session outlives it.
	SessionExpiresAt time.Time
	DeviceName       string
	DeviceType       string
	IPAddress        string
	UserAgent        string
	CreatedAt        time.Time
	LastUsedAt       time.Time
}

// CodeType is the purpose of a verification code. A code of one type never
// satisfies a check of another.
type CodeType string

// The code types.
const (
	CodeEmailVerification CodeType = "email_verification"
	CodePasswordReset     CodeType = "password_reset"
)

// VerificationCode is a one-time code sent by email. CodeHash is a keyed
// digest (HMAC) of the code; the code itself is never stored.
type VerificationCode struct {
	ID        string
	UserID    string
	CodeHash  string
	Type      CodeType
	ExpiresAt time.Time
	IsUsed    bool
	// Attempts counts the wrong guesses made against this code.
	Attempts  int
	CreatedAt time.Time
}

// Session is one active device login: the refresh-token family and the device
// information of its newest token.
type Session struct {
	ID         string // the FamilyID
	UserID     string
	DeviceName string
	DeviceType string
	IPAddress  string
	UserAgent  string
	CreatedAt  time.Time // when the family's first token was issued
	LastUsedAt time.Time // when the family was last refreshed or created
	ExpiresAt  time.Time // expiry of the family's active token
}

// NextRevocation returns the TokensValidAfter that a revocation at moment at
// records for a user whose current value is prev: at itself, or one second
// after prev when that is later. Access tokens carry their issue time in
// whole seconds and tokens issued after a revocation are dated at its
// moment, so two revocations in one second must not record the same moment:
// a token issued between them would survive the second. Stores apply this
// in [Users.SetPassword] and [RefreshTokens.RevokeAllSessions].
func NextRevocation(prev, at time.Time) time.Time {
	if next := prev.Add(time.Second); !prev.IsZero() && !next.Before(at) {
		return next
	}
	return at
}

// Ticket is a one-time value kept by a store that implements [Tickets]:
// a second-factor challenge, a passkey ceremony, an exchange code.
type Ticket struct {
	// Kind keeps the tickets of one flow apart from those of another; a
	// ticket is taken only under its own kind.
	Kind string
	// Digest identifies the ticket: a digest of the value handed out, never
	// the value itself.
	Digest    string
	UserID    string // the user the ticket belongs to, if any
	Data      []byte // the flow's own state, opaque to the store
	ExpiresAt time.Time
	CreatedAt time.Time
}
