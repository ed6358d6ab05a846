package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/ratelimit"
)

// fakeLimiter answers what it is told and counts its calls.
type fakeLimiter struct {
	res                          ratelimit.Result
	allowErr, peekErr, refundErr error
	onAllow                      func()
	allows, peeks, refunds       int
	refundCtxErr                 error // ctx.Err() seen by the last Refund
}

func (f *fakeLimiter) Allow(ctx context.Context, _ string) (ratelimit.Result, error) {
	f.allows++
	if f.onAllow != nil {
		f.onAllow()
	}
	if err := ctx.Err(); err != nil {
		return ratelimit.Result{}, err
	}
	if f.allowErr != nil {
		return ratelimit.Result{}, f.allowErr
	}
	return f.res, nil
}

func (f *fakeLimiter) Peek(context.Context, string) (ratelimit.Result, error) {
	f.peeks++
	if f.peekErr != nil {
		return ratelimit.Result{}, f.peekErr
	}
	return f.res, nil
}

func (f *fakeLimiter) Reset(context.Context, string) error { return nil }

func (f *fakeLimiter) Refund(ctx context.Context, _ string) error {
	f.refunds++
	f.refundCtxErr = ctx.Err()
	return f.refundErr
}

var (
	allowing = ratelimit.Result{Allowed: true, Remaining: 7}
	denying  = ratelimit.Result{RetryAfter: time.Minute}
)

func TestAllowAllAllowed(t *testing.T) {
	c := newClock()
	m1 := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 3, Window: time.Hour}, Now: c.Now})
	m2 := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 5, Window: time.Hour}, Now: c.Now})
	ctx := context.Background()

	res, err := ratelimit.AllowAll(ctx, "k", m2, m1)
	require.NoError(t, err)
	assert.Equal(t, ratelimit.Result{Allowed: true, Remaining: 2}, res, "the smallest Remaining")
	assert.Equal(t, 1, peek(t, m1, "k").Remaining, "counted on each")
	assert.Equal(t, 3, peek(t, m2, "k").Remaining, "counted on each")

	res, err = ratelimit.AllowAll(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, ratelimit.Result{Allowed: true}, res, "no limiters")
}

// TestAllowAllCooldownAndCap is the case AllowAll is for: a request that the
// cooldown refuses must not use up the hourly cap, whichever comes first.
func TestAllowAllCooldownAndCap(t *testing.T) {
	for _, cooldownFirst := range []bool{true, false} {
		name := "cap first"
		if cooldownFirst {
			name = "cooldown first"
		}
		t.Run(name, func(t *testing.T) {
			c := newClock()
			cooldown := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 1, Window: time.Minute}, Now: c.Now})
			hourly := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 5, Window: time.Hour}, Now: c.Now})
			ls := []ratelimit.Limiter{hourly, cooldown}
			if cooldownFirst {
				ls = []ratelimit.Limiter{cooldown, hourly}
			}
			ctx := context.Background()

			res, err := ratelimit.AllowAll(ctx, "k", ls...)
			require.NoError(t, err)
			require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, res)
			for range 10 {
				res, err = ratelimit.AllowAll(ctx, "k", ls...)
				require.NoError(t, err)
				require.Equal(t, ratelimit.Result{RetryAfter: time.Minute}, res)
			}
			assert.Equal(t, 3, peek(t, hourly, "k").Remaining, "refused requests spent nothing of the hourly cap")

			// A request a minute apart is allowed five times an hour.
			allowed := 1
			for range 10 {
				c.Advance(time.Minute)
				res, err = ratelimit.AllowAll(ctx, "k", ls...)
				require.NoError(t, err)
				if res.Allowed {
					allowed++
				}
			}
			assert.Equal(t, 5, allowed)
		})
	}
}

func TestAllowAllLongestRetryAfter(t *testing.T) {
	c := newClock()
	short := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 1, Window: 10 * time.Second}, Now: c.Now})
	long := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 1, Window: time.Hour}, Now: c.Now})
	open := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 3, Window: time.Hour}, Now: c.Now})
	ctx := context.Background()
	burst(t, short, "k", 1)
	burst(t, long, "k", 1)

	orders := map[string][]ratelimit.Limiter{
		"short denial first":                 {short, long},
		"long denial first":                  {long, short},
		"allowed, short and long denials":    {open, short, long},
		"short denial, allowed, long denial": {short, open, long},
	}
	for name, ls := range orders {
		t.Run(name, func(t *testing.T) {
			res, err := ratelimit.AllowAll(ctx, "k", ls...)
			require.NoError(t, err)
			assert.Equal(t, ratelimit.Result{RetryAfter: time.Hour}, res)
			assert.Equal(t, 2, peek(t, open, "k").Remaining, "the allowed one was refunded or not counted")
		})
	}
}

func TestAllowAllRefundsEarlierOnDenial(t *testing.T) {
	first, second := &fakeLimiter{res: allowing}, &fakeLimiter{res: allowing}
	denier, after := &fakeLimiter{res: denying}, &fakeLimiter{res: ratelimit.Result{RetryAfter: time.Hour}}

	res, err := ratelimit.AllowAll(context.Background(), "k", first, second, denier, after)
	require.NoError(t, err)
	assert.Equal(t, ratelimit.Result{RetryAfter: time.Hour}, res)
	for name, f := range map[string]*fakeLimiter{"first": first, "second": second} {
		assert.Equal(t, 1, f.allows, name)
		assert.Equal(t, 1, f.refunds, name)
	}
	assert.Equal(t, 0, denier.refunds, "a denied event was not counted")
	assert.Equal(t, 0, after.allows, "the limiters after a denial are not counted")
	assert.Equal(t, 1, after.peeks)
	assert.Equal(t, 0, after.refunds)
}

func TestAllowAllErrors(t *testing.T) {
	errAllow := errors.New("test: allow failed")
	errPeek := errors.New("test: peek failed")
	errRefund := errors.New("test: refund failed")
	ctx := context.Background()

	t.Run("Allow fails: the earlier ones are refunded", func(t *testing.T) {
		first := &fakeLimiter{res: allowing}
		failing := &fakeLimiter{allowErr: errAllow}
		after := &fakeLimiter{res: allowing}
		res, err := ratelimit.AllowAll(ctx, "k", first, failing, after)
		require.ErrorIs(t, err, errAllow)
		assert.Equal(t, ratelimit.Result{}, res)
		assert.Equal(t, 1, first.refunds)
		assert.Equal(t, 0, failing.refunds, "a failed Allow is not refunded")
		assert.Equal(t, 0, after.allows+after.peeks, "nothing after a failure is asked")
	})

	t.Run("Allow fails and a refund fails", func(t *testing.T) {
		first := &fakeLimiter{res: allowing, refundErr: errRefund}
		second := &fakeLimiter{res: allowing}
		failing := &fakeLimiter{allowErr: errAllow}
		res, err := ratelimit.AllowAll(ctx, "k", first, second, failing)
		require.ErrorIs(t, err, errAllow)
		require.ErrorIs(t, err, errRefund)
		assert.Equal(t, ratelimit.Result{}, res)
		assert.Equal(t, 1, second.refunds, "a failed refund does not stop the others")
	})

	t.Run("Peek fails after a denial", func(t *testing.T) {
		first := &fakeLimiter{res: allowing}
		denier := &fakeLimiter{res: denying}
		failing := &fakeLimiter{peekErr: errPeek}
		after := &fakeLimiter{res: denying}
		res, err := ratelimit.AllowAll(ctx, "k", first, denier, failing, after)
		require.ErrorIs(t, err, errPeek)
		assert.Equal(t, ratelimit.Result{}, res)
		assert.Equal(t, 1, first.refunds)
		assert.Equal(t, 0, after.peeks, "nothing after a failure is asked")
	})

	t.Run("a refund fails after a denial", func(t *testing.T) {
		first := &fakeLimiter{res: allowing, refundErr: errRefund}
		denier := &fakeLimiter{res: denying}
		res, err := ratelimit.AllowAll(ctx, "k", first, denier)
		require.ErrorIs(t, err, errRefund)
		assert.Equal(t, ratelimit.Result{}, res, "an error never allows, nor claims a wait")
	})

	t.Run("context canceled between limiters", func(t *testing.T) {
		c := newClock()
		m := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 3, Window: time.Hour}, Now: c.Now})
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		first := &fakeLimiter{res: allowing}
		canceling := &fakeLimiter{res: allowing, onAllow: cancel}
		res, err := ratelimit.AllowAll(cctx, "k", m, first, canceling)
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, ratelimit.Result{}, res)
		assert.Equal(t, 1, first.refunds)
		assert.NoError(t, first.refundCtxErr, "refunds outlive the canceled context")
		assert.Equal(t, 2, peek(t, m, "k").Remaining, "the event was given back")
	})

	t.Run("context already canceled", func(t *testing.T) {
		m := newMemory(t, ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 3, Window: time.Hour}, Now: newClock().Now})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		after := &fakeLimiter{res: allowing}
		res, err := ratelimit.AllowAll(cctx, "k", m, after)
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, ratelimit.Result{}, res)
		assert.Equal(t, 0, after.allows)
		assert.Equal(t, 0, m.Len(), "nothing was counted")
	})
}
