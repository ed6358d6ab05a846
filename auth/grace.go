package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// MaxRefreshReuseGrace is the longest Config.RefreshReuseGrace: a longer
// window would leave reuse detection little to detect.
const MaxRefreshReuseGrace = 5 * time.Minute

// ErrGraceUnsupported is returned by [New] when Config.RefreshReuseGrace is
// set and the store does not implement [store.RefreshGrace].
var ErrGraceUnsupported = errors.New("auth: Config.RefreshReuseGrace needs a store that implements store.RefreshGrace")

// setRefreshGrace checks and keeps Config.RefreshReuseGrace.
func (s *Service) setRefreshGrace(grace time.Duration) error {
	switch {
	case grace == 0:
		return nil
	case grace < 0 || grace > MaxRefreshReuseGrace:
		return fmt.Errorf("auth: Config.RefreshReuseGrace %v is outside 0..%v", grace, MaxRefreshReuseGrace)
	}
	gs, ok := s.store.(store.RefreshGrace)
	if !ok {
		return ErrGraceUnsupported
	}
	s.refreshGrace, s.graceStore = grace, gs
	return nil
}

// rotate rotates a refresh token in the store, within the reuse grace
// window when there is one.
func (s *Service) rotate(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time) error {
	if s.refreshGrace > 0 {
		return s.graceStore.RotateRefreshTokenGrace(ctx, oldHash, next, at, s.refreshGrace)
	}
	return s.store.RotateRefreshToken(ctx, oldHash, next, at)
}
