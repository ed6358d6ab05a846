package store

import (
	"context"
	"errors"
	"time"
)

// Identity links an account of another sign-in provider (OpenID Connect,
// GitHub) to a user. (Provider, Subject) is unique: one provider account
// belongs to at most one user.
type Identity struct {
	ID       string
	UserID   string
	Provider string // the provider's configured name, such as "google"
	// Subject is the provider's stable identifier of the account (the ID
	// token's "sub", GitHub's numeric user id); never an email.
	Subject string
	// Email is the address the provider gave when the identity was linked,
	// for the user to recognise it; it is never used to find a user.
	Email     string
	CreatedAt time.Time
}

// FieldIdentity is the key a [ConflictError] names when a (provider,
// subject) pair is linked already.
const FieldIdentity = "identity"

// ErrLastLoginMethod is returned by [Identities.DeleteIdentity] when the
// identity is the user's last way to sign in.
var ErrLastLoginMethod = errors.New("store: last way to sign in")

// Identities is the capability of keeping provider identities. A user may
// have no password (HashedPassword ""): such a user signs in only through
// an identity. [Users.DeleteUser] removes the user's identities too.
type Identities interface {
	// CreateUserWithIdentity inserts u and id (id.UserID == u.ID) in one
	// atomic step: a sign-up through a provider. When replaceUnverified is
	// true, a user who holds u's email and has not verified it is first
	// deleted with every record of theirs, as [Users.ReplaceUnverifiedUser]
	// does; otherwise any holder of the email is a conflict. It returns the
	// errors of CreateUser, and a *[ConflictError] naming [FieldIdentity]
	// when (id.Provider, id.Subject) is linked already; on an error it
	// changes nothing. u.ID, id.ID, id.Provider and id.Subject must be set.
	CreateUserWithIdentity(ctx context.Context, u User, id Identity, replaceUnverified bool) error

	// AddIdentity links id to the existing user id.UserID. It returns
	// [ErrNotFound] for an unknown user, and a *[ConflictError] naming
	// [FieldIdentity] when (id.Provider, id.Subject) is linked already (to
	// this user or another) or [FieldID] when id.ID is taken.
	AddIdentity(ctx context.Context, id Identity) error

	// IdentityBySubject returns the identity of (provider, subject), or
	// [ErrNotFound].
	IdentityBySubject(ctx context.Context, provider, subject string) (Identity, error)

	// Identities lists the user's identities, oldest first; none (or an
	// unknown user) is an empty slice and no error.
	Identities(ctx context.Context, userID string) ([]Identity, error)

	// DeleteIdentity removes the user's identity with the ID, in one
	// atomic step taken only if the user keeps another way to sign in (a
	// password, another identity, or, when the store implements
	// [Passkeys], a passkey). It returns [ErrNotFound] when the
	// user has no identity with that ID (which includes another user's),
	// and [ErrLastLoginMethod], changing nothing, when it is the last way.
	DeleteIdentity(ctx context.Context, userID, identityID string) error
}
