package store

import "time"

// User is an account. Username and Email are unique case-insensitively
// (compared through [Fold]); HashedPassword is a PHC string from package
// password and never leaves the server.
type User struct {
	ID             string
	Username       string
	Email          string
	HashedPassword string
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
	DeviceName string
	DeviceType string
	IPAddress  string
	UserAgent  string
	CreatedAt  time.Time
	LastUsedAt time.Time
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
