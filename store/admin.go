package store

import (
	"context"
	"errors"
	"time"
)

// CodeEmailChange is the type of a code mailed to the new address of an
// email change; it is kept by a store that implements [EmailChanges].
const CodeEmailChange CodeType = "email_change"

// CodeAccountDeletion is the type of a code that confirms the deletion of
// an account without a password (one that signs in with passkeys or
// providers only), mailed to its address. It goes through the core
// [Codes] methods; the deletion itself removes it with the user.
const CodeAccountDeletion CodeType = "account_deletion"

// ErrLastSuperuser is returned by the methods of [Admin] that would leave
// the store without an active superuser (IsSuperuser and IsActive): the
// last one cannot be demoted, disabled or deleted.
var ErrLastSuperuser = errors.New("store: the last active superuser cannot be removed")

// EmailChanges is the capability of changing a user's email through a code
// mailed to the new address. A code of type [CodeEmailChange] is bound to
// the address it was mailed to: it changes the email to that address and
// no other. Codes of this type are otherwise codes like the others (the
// rules of [Codes] about the active code and attempts hold, and
// [Users.DeleteUser] removes them).
type EmailChanges interface {
	// CreateEmailChangeCode inserts c, bound to newEmail, and in the same
	// atomic step marks every unused email-change code of the user used,
	// as [Codes.CreateCode] does. c.Type must be [CodeEmailChange]. The
	// errors are those of CreateCode; newEmail text that cannot be stored
	// is [ErrInvalidInput].
	CreateEmailChangeCode(ctx context.Context, c VerificationCode, newEmail string) error

	// PendingEmail returns the address the user's active email-change code
	// is bound to, or [ErrNotFound] when there is no active code (or no
	// such user). It counts no attempt.
	PendingEmail(ctx context.Context, userID string, maxAttempts int, at time.Time) (string, error)

	// ChangeEmailWithCode spends the user's active email-change code when
	// codeHash matches it and, in the same atomic step, sets the user's
	// email to the address the code is bound to (UpdatedAt = at), and
	// returns the updated user. A wrong code counts an attempt and returns
	// [ErrCodeMismatch]; no active code, or an unknown user, [ErrNotFound].
	// When another user holds the address (through [Fold]) by then, it
	// returns a *[ConflictError] naming [FieldEmail] and changes nothing:
	// the code stays unspent.
	ChangeEmailWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, at time.Time) (User, error)
}

// UserQuery selects a page of users for [Admin.ListUsers].
type UserQuery struct {
	// Prefix, when not empty, keeps the users whose username or email
	// starts with it, compared through [Fold]. It is plain text, never a
	// pattern: '%', '_', '*' and '\' match themselves.
	Prefix string
	// After is the ID of the last user of the previous page; "" starts at
	// the first.
	After string
	// Limit is the most users returned; at least 1.
	Limit int
}

// UserUpdate names the flags [Admin.UpdateUser] sets; a nil field is left
// as it is.
type UserUpdate struct {
	IsActive    *bool
	IsVerified  *bool
	IsSuperuser *bool
}

// Admin is the capability that administration needs.
type Admin interface {
	// ListUsers returns up to q.Limit users whose ID sorts after q.After,
	// in the order of their IDs (a stable order in which every user is
	// listed once, however the pages are cut; the order is the backend's
	// order of text, the same on every call), filtered by q.Prefix. A page
	// costs the same whether it is the first or the last (keyset
	// pagination). No users is an empty slice and no error.
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)

	// UpdateUser sets the flags that up names and UpdatedAt, and returns
	// the updated user. Disabling does what [Users.SetActive] does with
	// active false (every session revoked, TokensValidAfter moved) in the
	// same atomic step. It returns [ErrNotFound] for an unknown user and
	// [ErrLastSuperuser], changing nothing, when the user is the only
	// active superuser and up would demote or disable them; of concurrent
	// updates that would each remove one of the last two, one fails.
	UpdateUser(ctx context.Context, userID string, up UserUpdate, at time.Time) (User, error)

	// RemoveUser is [Users.DeleteUser], refused with [ErrLastSuperuser]
	// (changing nothing) when the user is the only active superuser, under
	// the same guarantee as UpdateUser.
	RemoveUser(ctx context.Context, userID string) error
}

// RemovesSuperuser reports whether applying up to u takes an active
// superuser away: u is one, and up demotes or disables them. Backends use
// it to decide when [ErrLastSuperuser] applies.
func (up UserUpdate) RemovesSuperuser(u User) bool {
	if !u.IsSuperuser || !u.IsActive {
		return false
	}
	return up.IsSuperuser != nil && !*up.IsSuperuser || up.IsActive != nil && !*up.IsActive
}

// Apply returns u with the flags that up names set.
func (up UserUpdate) Apply(u User) User {
	if up.IsActive != nil {
		u.IsActive = *up.IsActive
	}
	if up.IsVerified != nil {
		u.IsVerified = *up.IsVerified
	}
	if up.IsSuperuser != nil {
		u.IsSuperuser = *up.IsSuperuser
	}
	return u
}
