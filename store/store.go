package store

import (
	"context"
	"time"
)

// Store is what forgeauth needs from a backend. Implementations must be safe
// for concurrent use and must pass [github.com/forgeauth/forgeauth/store/storetest.Run].
//
// Times are stored at microsecond precision at least and returned in UTC.
// A method given a canceled context returns an error wrapping the context's
// error. Errors other than the sentinels of this package wrap the backend's
// cause; callers must not show them to end users.
type Store interface {
	Users
	RefreshTokens
	Codes
}

// Users keeps accounts.
type Users interface {
	// CreateUser inserts u. u.ID must be set. It returns a *[ConflictError]
	// (matching [ErrConflict]) when the username or the email is taken,
	// compared through [Fold]; of two concurrent creations with one email,
	// exactly one succeeds.
	CreateUser(ctx context.Context, u User) error

	// UserByID, UserByUsername and UserByEmail return [ErrNotFound] when no
	// user matches. Username and email are compared through [Fold].
	UserByID(ctx context.Context, id string) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)

	// RecordLogin sets the user's LastLoginAt. It returns [ErrNotFound] for
	// an unknown user.
	RecordLogin(ctx context.Context, userID string, at time.Time) error

	// ReplacePasswordHash swaps the user's hash from oldHash to newHash (a
	// rehash with new parameters) only if it is still oldHash, so that a
	// concurrent password change is never overwritten. It returns
	// [ErrNotFound] when the user is gone or the hash has changed.
	ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string) error

	// SetPassword is one atomic step: it sets the user's hash and UpdatedAt,
	// sets TokensValidAfter to [NextRevocation](TokensValidAfter, at),
	// revokes every refresh-token family of the
	// user except keepFamily ("" keeps none), and voids the user's unused
	// password-reset codes. It returns [ErrNotFound] for an unknown user.
	SetPassword(ctx context.Context, userID, hash string, at time.Time, keepFamily string) error

	// MarkVerified sets IsVerified and UpdatedAt. It returns [ErrNotFound]
	// for an unknown user.
	MarkVerified(ctx context.Context, userID string, at time.Time) error

	// SetActive sets IsActive and UpdatedAt. It returns [ErrNotFound] for an
	// unknown user.
	SetActive(ctx context.Context, userID string, active bool, at time.Time) error

	// DeleteUser removes the user with its refresh tokens and codes. It
	// returns [ErrNotFound] for an unknown user.
	DeleteUser(ctx context.Context, userID string) error
}

// RefreshTokens keeps refresh tokens by their digest, grouped in families
// (sessions).
type RefreshTokens interface {
	// CreateRefreshToken inserts t, the first token of a new family or a
	// token of an existing one. t.ID, t.UserID, t.TokenHash and t.FamilyID
	// must be set.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error

	// RefreshTokenByHash returns the token with the digest, revoked or not,
	// or [ErrNotFound].
	RefreshTokenByHash(ctx context.Context, tokenHash string) (RefreshToken, error)

	// RotateRefreshToken atomically replaces the active token whose digest is
	// oldHash by next. It succeeds only if that token exists, is not revoked,
	// expires after at, and belongs to next.UserID and next.FamilyID. Then the
	// old token is revoked with ReplacedBy = next.ID and LastUsedAt = at, and
	// next is inserted with the old token's DeviceName and DeviceType (next
	// brings IPAddress, UserAgent, ExpiresAt, CreatedAt and LastUsedAt). Of
	// concurrent rotations of one token, exactly one succeeds.
	//
	// It returns the old token's record. When the token is unknown, expired or
	// belongs to another user or family it returns [ErrNotFound]. When it was
	// already rotated or revoked it revokes the token's whole family and
	// returns [ErrReused], together with the old token's record so the caller
	// can report which user and family were affected.
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken, at time.Time) (RefreshToken, error)

	// RevokeFamily revokes every token of the user's family. It returns
	// [ErrNotFound] when the user has no active (unrevoked, unexpired at at)
	// token in that family, which includes a family of another user.
	RevokeFamily(ctx context.Context, userID, familyID string, at time.Time) error

	// RevokeAllSessions revokes every refresh token of the user and sets the
	// user's TokensValidAfter to [NextRevocation](TokensValidAfter, at), in
	// one atomic step. It returns
	// [ErrNotFound] for an unknown user.
	RevokeAllSessions(ctx context.Context, userID string, at time.Time) error

	// Sessions lists the user's active families (one entry per family with an
	// unrevoked token that expires after at), oldest first. A user with none
	// gets an empty slice and no error.
	Sessions(ctx context.Context, userID string, at time.Time) ([]Session, error)
}

// Codes keeps one-time verification codes by their digest.
type Codes interface {
	// CreateCode inserts c and, in the same atomic step, marks every unused
	// code of the same user and type as used, so only the newest code works.
	// c.ID, c.UserID, c.CodeHash and c.Type must be set.
	CreateCode(ctx context.Context, c VerificationCode) error

	// ConsumeCode checks codeHash against the user's active code of the type:
	// the newest one that is unused, expires after at, and has fewer than
	// maxAttempts wrong attempts. In one atomic step it either marks the code
	// used and returns it, or counts a wrong attempt and returns
	// [ErrCodeMismatch]. With no active code it returns [ErrNotFound].
	// Concurrent calls never evaluate more than maxAttempts wrong guesses.
	ConsumeCode(ctx context.Context, userID string, typ CodeType, codeHash string, maxAttempts int, at time.Time) (VerificationCode, error)

	// VerifyEmailWithCode consumes the user's email-verification code as
	// ConsumeCode does and, in the same atomic step, marks the user verified
	// (IsVerified, UpdatedAt = at) and returns the updated user; a failure
	// leaves neither half done. A wrong code counts an attempt and returns
	// [ErrCodeMismatch]; no active code, or an unknown user, [ErrNotFound].
	VerifyEmailWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, at time.Time) (User, error)

	// ResetPasswordWithCode consumes the user's password-reset code as
	// ConsumeCode does and, in the same atomic step, does what SetPassword
	// does with keepFamily "" (new hash, revocation moment, every session
	// and reset code ended); a failure leaves neither half done. A wrong code
	// counts an attempt and returns [ErrCodeMismatch]; no active code, or an
	// unknown user, [ErrNotFound].
	ResetPasswordWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, hash string, at time.Time) error
}

// Pinger is implemented by stores that can tell whether their backend
// answers (a readiness check).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Cleaner is implemented by stores that can delete refresh tokens and codes
// that expired before a moment.
type Cleaner interface {
	DeleteExpired(ctx context.Context, before time.Time) (int64, error)
}
