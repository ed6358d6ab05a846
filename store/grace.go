package store

import (
	"context"
	"time"
)

// RefreshGrace is the capability of a reuse grace window for refresh-token
// rotation: a browser with two tabs open refreshes one session twice at
// once, and without a window the second refresh would look like a replay
// of a stolen token and end the session. auth.New requires it when
// auth.Config.RefreshReuseGrace is set.
//
// The window trades a little of the theft signal of RFC 9700 §4.14.2 for
// usability: a stolen token replayed within the window after the genuine
// rotation gets a pair too. Keep the window short (seconds).
type RefreshGrace interface {
	// RotateRefreshTokenGrace is [RefreshTokens.RotateRefreshToken] with a
	// grace window, in one atomic step. An active token is rotated exactly
	// as RotateRefreshToken rotates it. A token that was already rotated
	// (it has a ReplacedBy) no longer than grace before at (its
	// LastUsedAt, the moment of its rotation, is at or after at - grace)
	// is not a replay when its family still has an active token
	// (unrevoked, expiring after at): next is inserted into the family as
	// a rotation inserts it (with the old token's DeviceName, DeviceType
	// and SessionExpiresAt, its ExpiresAt kept no later than that), the
	// old token is left as it is (so the window is never extended), and
	// it returns nil. Every concurrent presentation within the window
	// succeeds this way, each with its own next: two tabs get two working
	// pairs of one session.
	//
	// Within the window, a rotated token whose family has no active token
	// (the session was ended by logout, device revocation, logout-all, a
	// password change or reset, a disabling, reuse detection or its
	// absolute end) returns [ErrSessionEnded] and changes nothing: the
	// window never lets a token of an ended session through. After the
	// window, a rotated token revokes its family and returns [ErrReused],
	// as RotateRefreshToken does. Every other case (unknown, expired,
	// another user or family, revoked without rotation, a taken key) is
	// answered as RotateRefreshToken answers it. A grace of zero or less
	// makes it RotateRefreshToken.
	RotateRefreshTokenGrace(ctx context.Context, oldHash string, next RefreshToken, at time.Time, grace time.Duration) error
}
