package sqlstore

import (
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

var _ store.RefreshGrace = (*Store)(nil)

// RotateRefreshTokenGrace is [Store.RotateRefreshToken] with the reuse
// grace window that [store.RefreshGrace] describes: within grace of its
// rotation, a rotated token of a session that still has an active token
// gets next inserted into its family instead of ending it; after it, the
// family is revoked and it returns [store.ErrReused]. A rotated token of an
// ended session is [store.ErrSessionEnded] within the window. The other
// errors are those of RotateRefreshToken.
//
// The rotation of an active token is still one statement on PostgreSQL.
// A presentation of a rotated token takes the transaction of the failure
// path, under the user's lock (an advisory lock on PostgreSQL, an
// IMMEDIATE transaction on SQLite), so that the window's check of the
// family and the insertion are one atomic step against every logout,
// revocation and password change, which take the same lock.
func (s *Store) RotateRefreshTokenGrace(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time, grace time.Duration) error {
	return s.rotate(ctx, oldHash, next, at, grace)
}

// rotateInGrace inserts next into the family of old, a token rotated within
// the grace window, if the family still has an active token at at; else it
// returns store.ErrSessionEnded. The caller holds the user's lock.
func (s *Store) rotateInGrace(ctx context.Context, q querier, old, next store.RefreshToken, at time.Time) error {
	var active bool
	err := q.QueryRowContext(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {p}refresh_tokens
		WHERE user_id = $1 AND family_id = $2 AND NOT is_revoked AND expires_at > $3)`),
		old.UserID, old.FamilyID, s.ts(at)).Scan(&active)
	if err != nil {
		return err
	}
	if !active {
		return store.ErrSessionEnded
	}
	return s.insertNext(ctx, q, old, next)
}
