package memstore

import (
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

var _ store.RefreshGrace = (*Store)(nil)

// RotateRefreshTokenGrace is [Store.RotateRefreshToken] with the reuse
// grace window that [store.RefreshGrace] describes, under the store's lock:
// within grace of its rotation, a rotated token of a session that is still
// active gets next inserted into its family instead of ending it; after
// it, the token's family is revoked and it returns [store.ErrReused]. A
// rotated token of an ended session is [store.ErrSessionEnded] within the
// window. The other errors are those of RotateRefreshToken.
func (s *Store) RotateRefreshTokenGrace(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time, grace time.Duration) error {
	return s.rotate(ctx, oldHash, next, at, grace)
}
