package store

import (
	"context"
	"time"
)

// Store is what forgeauth needs from a backend: exactly the methods the
// flows of package auth call. Implementations must be safe for concurrent
// use and must pass [github.com/forgeauth/forgeauth/store/storetest.Run].
//
// Features beyond the core (one-time tickets, and in later releases second
// factors, passkeys, provider identities and administration) are optional
// capabilities: small interfaces such as [Tickets] that a backend may also
// implement, detected with a type assertion the way io/fs detects
// ReadDirFS. auth.New names the capability a configured feature needs when
// the store lacks it, and storetest runs each capability's cases only when
// the store implements it.
//
// Times are stored at microsecond precision at least and returned in UTC.
// A method given a canceled context returns an error wrapping the context's
// error and changes nothing. Errors other than the sentinels of this package
// wrap the backend's cause; callers must not show them to end users.
type Store interface {
	Users
	RefreshTokens
	Codes
}

// Users keeps accounts.
type Users interface {
	// CreateUser inserts u. u.ID must be set. It returns a *[ConflictError]
	// (matching [ErrConflict]) when the ID, the username or the email is
	// taken, the latter two compared through [Fold]; of two concurrent
	// creations with one email, exactly one succeeds. Text the backend
	// cannot store (a NUL byte, invalid UTF-8) is [ErrInvalidInput].
	CreateUser(ctx context.Context, u User) error

	// ReplaceUnverifiedUser inserts u like CreateUser, except that a user
	// who holds u's email (through [Fold]) and has not verified it is
	// deleted first, with every record of theirs, in the same atomic step:
	// a registration for an unverified address replaces the pending one,
	// so a password chosen by whoever registered the address first never
	// survives the owner's own registration (pre-account takeover). A
	// verified holder of the email, or any other holder of the username,
	// is a *[ConflictError] and changes nothing.
	ReplaceUnverifiedUser(ctx context.Context, u User) error

	// UserByID, UserByUsername and UserByEmail return [ErrNotFound] when no
	// user matches. Username and email are compared through [Fold]; text
	// the backend cannot store matches no user.
	UserByID(ctx context.Context, id string) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)

	// UserWithSession returns the user and, in the same round trip, checks
	// the session: when sessionID is not empty, the user must have an
	// active token in that family (unrevoked, expiring after at), or it
	// returns [ErrSessionEnded]. An unknown user is [ErrNotFound]. It is
	// the one store call of an authenticated request.
	UserWithSession(ctx context.Context, userID, sessionID string, at time.Time) (User, error)

	// RecordLogin sets the user's LastLoginAt. It returns [ErrNotFound] for
	// an unknown user.
	RecordLogin(ctx context.Context, userID string, at time.Time) error

	// ReplacePasswordHash swaps the user's hash from oldHash to newHash (a
	// rehash with new parameters) only if it is still oldHash, so that a
	// concurrent password change is never overwritten. It returns
	// [ErrNotFound] when the user is gone and [ErrStale] when the hash has
	// changed.
	ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string) error

	// SetPassword is one atomic step, taken only if the user's hash is
	// still oldHash (the one the caller verified): it sets the hash to
	// newHash and UpdatedAt to at, sets TokensValidAfter to
	// [NextRevocation](TokensValidAfter, at), revokes every refresh-token
	// family of the user except keepFamily ("" keeps none), and voids the
	// user's unused password-reset codes. It returns [ErrNotFound] for an
	// unknown user and [ErrStale], changing nothing, when the hash is no
	// longer oldHash (a reset or another change won the race).
	SetPassword(ctx context.Context, userID, oldHash, newHash string, at time.Time, keepFamily string) error

	// SetActive sets IsActive and UpdatedAt. Disabling (active false) also
	// revokes every refresh-token family of the user and sets
	// TokensValidAfter to [NextRevocation](TokensValidAfter, at) in the same
	// atomic step, so that enabling the user again brings no old session or
	// access token back. It returns [ErrNotFound] for an unknown user.
	SetActive(ctx context.Context, userID string, active bool, at time.Time) error

	// DeleteUser removes the user with every record of theirs (refresh
	// tokens, codes, and the records of every capability the store
	// implements). It returns [ErrNotFound] for an unknown user.
	DeleteUser(ctx context.Context, userID string) error
}

// RefreshTokens keeps refresh tokens by their digest, grouped in families
// (sessions).
type RefreshTokens interface {
	// CreateSession inserts t as the first token of a new family and sets
	// the user's LastLoginAt to t.CreatedAt, in one atomic step taken only
	// if the user still exists, is active, and still has verifiedHash as
	// their password hash ("" for a user without a password): a password
	// reset or change, or a disabling, that commits while a login is being
	// checked leaves that login without a session. It returns [ErrNotFound]
	// for an unknown user and [ErrStale] when the user changed, and a
	// *[ConflictError] when t's ID or digest is taken. t.ID, t.UserID,
	// t.TokenHash, t.FamilyID, t.ExpiresAt and t.SessionExpiresAt must be
	// set; ExpiresAt is kept no later than SessionExpiresAt.
	CreateSession(ctx context.Context, t RefreshToken, verifiedHash string) error

	// RotateRefreshToken atomically replaces the active token whose digest
	// is oldHash by next. It succeeds only if that token exists, is not
	// revoked, expires after at, and belongs to next.UserID and
	// next.FamilyID. Then the old token is revoked with ReplacedBy = next.ID
	// and LastUsedAt = at, and next is inserted with the old token's
	// DeviceName, DeviceType and SessionExpiresAt, its ExpiresAt kept no
	// later than that (next brings IPAddress, UserAgent, ExpiresAt,
	// CreatedAt and LastUsedAt). Of concurrent rotations of one token,
	// exactly one succeeds.
	//
	// When the token is unknown, expired, past its session's absolute end,
	// or belongs to another user or family, it returns [ErrNotFound]. When
	// it was already rotated (it has a ReplacedBy) it revokes the token's
	// whole family and returns [ErrReused]: the theft signal of RFC 9700.
	// When it was revoked without being rotated (its session was ended by
	// logout, device revocation, logout-all, a password change or reset, a
	// disabling, or an earlier reuse detection) it returns
	// [ErrSessionEnded] and changes nothing. A store that also implements
	// [RefreshGrace] can instead let a rotated token through within a
	// short window (two browser tabs refreshing at once).
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken, at time.Time) error

	// RevokeFamily revokes every token of the user's family. It returns
	// [ErrNotFound] when the user has no active (unrevoked, unexpired at at)
	// token in that family, which includes a family of another user.
	RevokeFamily(ctx context.Context, userID, familyID string, at time.Time) error

	// RevokeAllSessions revokes every refresh token of the user and sets the
	// user's TokensValidAfter to [NextRevocation](TokensValidAfter, at), in
	// one atomic step. It returns [ErrNotFound] for an unknown user.
	RevokeAllSessions(ctx context.Context, userID string, at time.Time) error

	// Sessions lists the user's active families (one entry per family with an
	// unrevoked token that expires after at), oldest first. A user with none
	// gets an empty slice and no error.
	Sessions(ctx context.Context, userID string, at time.Time) ([]Session, error)
}

// Codes keeps one-time verification codes by their digest.
//
// The active code of a user and type is the newest one that is unused,
// expires after the moment given, and has fewer than maxAttempts wrong
// attempts. Every method that takes a digest either matches the active code
// or counts one wrong attempt against it, atomically, so concurrent guesses
// never evaluate more than maxAttempts wrong digests.
type Codes interface {
	// CreateCode inserts c and, in the same atomic step, marks every unused
	// code of the same user and type as used, so only the newest code works.
	// c.ID, c.UserID, c.CodeHash and c.Type must be set. A taken ID is a
	// *[ConflictError]; an unknown user is [ErrNotFound].
	CreateCode(ctx context.Context, c VerificationCode) error

	// CheckCode checks codeHash against the user's active code of the type
	// without spending it: it returns nil when the digest matches, counts a
	// wrong attempt and returns [ErrCodeMismatch] when it does not, and
	// returns [ErrNotFound] when there is no active code (or no such user).
	CheckCode(ctx context.Context, userID string, typ CodeType, codeHash string, maxAttempts int, at time.Time) error

	// VerifyEmailWithCode spends the user's email-verification code when
	// codeHash matches it and, in the same atomic step, marks the user
	// verified (IsVerified, UpdatedAt = at) and returns the updated user; a
	// failure leaves neither half done. A wrong code counts an attempt and
	// returns [ErrCodeMismatch]; no active code, or an unknown user,
	// [ErrNotFound].
	VerifyEmailWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, at time.Time) (User, error)

	// ResetPasswordWithCode spends the user's password-reset code when
	// codeHash matches it and, in the same atomic step, does what
	// SetPassword does with keepFamily "" whatever the old hash (new hash,
	// revocation moment, every session and reset code ended); a failure
	// leaves neither half done. A wrong code counts an attempt and returns
	// [ErrCodeMismatch]; no active code, or an unknown user, [ErrNotFound].
	ResetPasswordWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, hash string, at time.Time) error
}

// Tickets is the capability of keeping one-time tickets: short-lived
// values a flow hands out and takes back exactly once, such as a login's
// second-factor challenge, a passkey ceremony, or a provider sign-in's
// exchange code. Because they live in the store, any instance can finish
// what another began. Callers pass the digest of the value they hand out,
// never the value.
type Tickets interface {
	// PutTicket stores t. t.Kind, t.Digest and t.ExpiresAt must be set; a
	// (Kind, Digest) pair that is already stored is a *[ConflictError]
	// naming [FieldDigest], and changes nothing.
	PutTicket(ctx context.Context, t Ticket) error

	// TakeTicket removes the ticket of kind with the digest and returns it,
	// if it expires after at. Of concurrent takes of one ticket exactly one
	// succeeds; the others, and a take of an unknown, expired or already
	// taken ticket, get [ErrNotFound].
	TakeTicket(ctx context.Context, kind, digest string, at time.Time) (Ticket, error)
}

// Pinger is implemented by stores that can tell whether their backend
// answers (a readiness check).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Cleaner is implemented by stores that can delete what has expired: refresh
// tokens and codes that expired before a moment, tickets (when the store
// implements [Tickets]) that expired before it, and users who registered
// before unverifiedBefore and never verified their email (the zero time
// keeps every such user). It returns how many records it deleted.
type Cleaner interface {
	DeleteExpired(ctx context.Context, before, unverifiedBefore time.Time) (int64, error)
}
