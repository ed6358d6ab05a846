package store

import (
	"context"
	"time"
)

// Passkey is a WebAuthn credential of a user (DESIGN §8) as a store that
// implements [Passkeys] keeps it. CredentialID is the authenticator's own
// identifier, unique across every user; ID is the store's identifier, the
// one the HTTP routes name.
type Passkey struct {
	ID     string
	UserID string
	// CredentialID is the credential's raw id (at most 1023 bytes).
	CredentialID []byte
	// PublicKey is the credential's public key, COSE-encoded.
	PublicKey []byte
	// AAGUID names the authenticator's model (16 bytes, zero when it does
	// not say).
	AAGUID []byte
	// SignCount is the highest signature counter the authenticator has
	// shown; 0 for authenticators that do not count (synced passkeys).
	SignCount  uint32
	Transports []string // "internal", "hybrid", "usb", ...
	// UserVerified is set once the authenticator has verified the user
	// (a PIN, a fingerprint) in a ceremony.
	UserVerified bool
	// BackupEligible and BackupState are the authenticator's flags: the
	// credential can be synced, and it is synced now.
	BackupEligible bool
	BackupState    bool
	// AttestationType and AttestationFormat are what the registration
	// showed ("none" for most passkeys).
	AttestationType   string
	AttestationFormat string
	Name              string // chosen by the user, for telling passkeys apart
	CreatedAt         time.Time
	LastUsedAt        time.Time // zero before the first sign-in
}

// FieldCredential is the key a *[ConflictError] names when a credential
// id is registered already (to this user or another).
const FieldCredential = "credential"

// Passkeys is the capability of keeping passkeys and the WebAuthn user
// handle of each user: 32 random bytes, made once and kept for the life of
// the account, which authenticators store with a discoverable credential and
// return at sign-in. [Users.DeleteUser] removes the user's passkeys and
// handle with the user. Every method is one atomic step.
type Passkeys interface {
	// UserHandle returns the user's handle, storing handle as it when the
	// user has none yet: of concurrent calls for one user, every caller
	// gets the same stored handle. It returns [ErrNotFound] for an unknown
	// user and a *[ConflictError] naming [FieldID] when handle belongs to
	// another user.
	UserHandle(ctx context.Context, userID string, handle []byte) ([]byte, error)

	// UserByHandle returns the user whose handle is handle, or
	// [ErrNotFound].
	UserByHandle(ctx context.Context, handle []byte) (User, error)

	// CreatePasskey stores p for the existing user p.UserID. It returns
	// [ErrNotFound] for an unknown user, and a *[ConflictError] naming
	// [FieldCredential] when p.CredentialID is registered already (to any
	// user) or [FieldID] when p.ID is taken; on an error it changes
	// nothing.
	CreatePasskey(ctx context.Context, p Passkey) error

	// CreateUserWithPasskey inserts u, its handle and p (p.UserID == u.ID)
	// in one atomic step: a sign-up with a passkey and no password. When
	// replaceUnverified is true, a user who holds u's email and has not
	// verified it is first deleted with every record of theirs, as
	// [Users.ReplaceUnverifiedUser] does; otherwise any holder of the email
	// is a conflict. It returns the errors of CreateUser and of
	// CreatePasskey; on an error it changes nothing.
	CreateUserWithPasskey(ctx context.Context, u User, handle []byte, p Passkey, replaceUnverified bool) error

	// Passkeys lists the user's passkeys, oldest first; none (or an
	// unknown user) is an empty slice and no error.
	Passkeys(ctx context.Context, userID string) ([]Passkey, error)

	// PasskeyByCredentialID returns the passkey with the credential id, or
	// [ErrNotFound].
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error)

	// RenamePasskey sets the name of the user's passkey with the ID and
	// returns it. It returns [ErrNotFound] when the user has no passkey
	// with that ID (which includes another user's).
	RenamePasskey(ctx context.Context, userID, id, name string) (Passkey, error)

	// UsePasskey records a sign-in with the user's passkey: LastUsedAt =
	// at, SignCount = signCount, BackupState = backupState, and
	// UserVerified set if userVerified (never cleared). The counter is a
	// compare-and-set: the step is taken only if signCount is greater than
	// the stored count, or both are 0 (an authenticator that does not
	// count); otherwise (a counter that went backwards or stood still: a
	// cloned authenticator, or a replay racing this one) it returns
	// [ErrStale] and changes nothing. It returns [ErrNotFound] when the
	// user has no passkey with that ID.
	UsePasskey(ctx context.Context, userID, id string, signCount uint32, backupState, userVerified bool, at time.Time) error

	// DeletePasskey removes the user's passkey with the ID, only if the
	// user keeps another way to sign in: a password, another passkey, or
	// (when the store implements [Identities]) an identity. It returns
	// [ErrNotFound] when the user has no passkey with that ID (which
	// includes another user's), and [ErrLastLoginMethod], changing
	// nothing, when it is the last way.
	DeletePasskey(ctx context.Context, userID, id string) error
}
