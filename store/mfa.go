package store

import (
	"context"
	"time"
)

// FieldTOTP is the key a *[ConflictError] names when a user's TOTP secret
// is confirmed already and a write would replace it.
const FieldTOTP = "totp"

// SecondFactor is a user's second factor as a store that implements
// [SecondFactors] keeps it: a TOTP secret, sealed by the caller (the store
// never sees it in clear), pending until the user confirms it with a first
// code, and the count of the user's unused recovery codes.
type SecondFactor struct {
	UserID string
	// TOTPSecret is the sealed secret, opaque to the store.
	TOTPSecret []byte
	// Confirmed is false from setup until the first valid code.
	Confirmed bool
	// LastStep is the last TOTP time step the user spent (0 before any);
	// a step is accepted only if greater.
	LastStep int64
	// RecoveryCodesLeft counts the unused recovery codes.
	RecoveryCodesLeft int
	CreatedAt         time.Time
	ConfirmedAt       time.Time // zero while pending
}

// SecondFactors is the capability of keeping second factors (DESIGN §7):
// one TOTP secret per user, pending or confirmed, the last time step spent
// with it, and recovery codes kept as digests, each spent once. Every
// method is one atomic step. [Users.DeleteUser] removes the user's second
// factor and recovery codes with the user; a password reset or change
// leaves them alone.
type SecondFactors interface {
	// SecondFactor returns the user's second factor, pending or confirmed.
	// It returns [ErrNotFound] when the user has none (or is unknown).
	SecondFactor(ctx context.Context, userID string) (SecondFactor, error)

	// PutPendingTOTP stores sealed as the user's pending TOTP secret,
	// with LastStep 0, replacing a pending secret the user may have (a
	// second setup before confirming wins over the first). It returns
	// [ErrNotFound] for an unknown user and a *[ConflictError] naming
	// [FieldTOTP], changing nothing, when the user's secret is confirmed:
	// a confirmed secret goes only through DeleteSecondFactor.
	PutPendingTOTP(ctx context.Context, userID string, sealed []byte, at time.Time) error

	// ConfirmTOTP turns the user's pending secret on, only if it is still
	// exactly sealed (the one the caller checked the code against): it
	// sets Confirmed, ConfirmedAt = at and LastStep = step, and replaces
	// the user's recovery codes by digests, unused. It returns [ErrStale],
	// changing nothing, when the user has no pending secret equal to
	// sealed (none, another one, or already confirmed). Two equal digests
	// are a *[ConflictError].
	ConfirmTOTP(ctx context.Context, userID string, sealed []byte, step int64, digests []string, at time.Time) error

	// UseTOTPStep records step as the user's last spent step if it is
	// greater than the last one: a compare-and-set, so that of concurrent
	// uses of one step (on any number of instances) exactly one succeeds.
	// It returns [ErrStale] when step is not greater (a replay, or a code
	// older than one already used) and [ErrNotFound] when the user has no
	// confirmed secret.
	UseTOTPStep(ctx context.Context, userID string, step int64, at time.Time) error

	// UseRecoveryCode marks the user's unused recovery code with digest
	// used. Of concurrent uses of one code exactly one succeeds; the
	// others, and the use of an unknown or used code, get [ErrNotFound].
	UseRecoveryCode(ctx context.Context, userID, digest string, at time.Time) error

	// ReplaceRecoveryCodes deletes every recovery code of the user, used
	// or not, and stores digests as new, unused ones. It returns
	// [ErrNotFound] when the user has no confirmed secret, and a
	// *[ConflictError] for two equal digests; either way it changes
	// nothing.
	ReplaceRecoveryCodes(ctx context.Context, userID string, digests []string, at time.Time) error

	// DeleteSecondFactor removes the user's secret, pending or confirmed,
	// and every recovery code. It returns [ErrNotFound] when the user has
	// no secret.
	DeleteSecondFactor(ctx context.Context, userID string) error
}
