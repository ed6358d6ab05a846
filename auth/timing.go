package auth

import (
	"context"
	"sync"
	"time"
)

// hashTimer keeps a running estimate of how long one password check with
// the current parameters takes, so that a failed check against a stored
// hash with older, cheaper parameters can be held until a current check
// would have ended. Without it, a wrong password for such an account
// answers faster than one for an unknown user (whose dummy hash has the
// current parameters), which tells that the account exists.
type hashTimer struct {
	mu  sync.Mutex
	est time.Duration // zero until the first observation
	// sleep waits d or until ctx ends; nil means a timer. Tests replace it.
	sleep func(ctx context.Context, d time.Duration)
}

// observe adds the duration of one check at the current parameters.
func (h *hashTimer) observe(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.est == 0 {
		h.est = d
		return
	}
	h.est += (d - h.est) / 8
}

// pad waits, without holding a hashing slot, for what the estimate has
// beyond elapsed, or until ctx ends.
func (h *hashTimer) pad(ctx context.Context, elapsed time.Duration) {
	h.mu.Lock()
	wait, sleep := h.est-elapsed, h.sleep
	h.mu.Unlock()
	if wait <= 0 {
		return
	}
	if sleep != nil {
		sleep(ctx, wait)
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
