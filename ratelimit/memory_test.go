package ratelimit_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/ratelimit/limittest"
)

// clock is a settable time source for MemoryConfig.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newMemory(tb testing.TB, cfg ratelimit.MemoryConfig) *ratelimit.Memory {
	tb.Helper()
	m, err := ratelimit.NewMemory(cfg)
	require.NoError(tb, err)
	return m
}

func allow(tb testing.TB, l ratelimit.Limiter, key string) ratelimit.Result {
	tb.Helper()
	res, err := l.Allow(context.Background(), key)
	require.NoError(tb, err)
	return res
}

func peek(tb testing.TB, l ratelimit.Limiter, key string) ratelimit.Result {
	tb.Helper()
	res, err := l.Peek(context.Background(), key)
	require.NoError(tb, err)
	return res
}

func burst(tb testing.TB, l ratelimit.Limiter, key string, n int) {
	tb.Helper()
	for i := range n {
		require.True(tb, allow(tb, l, key).Allowed, "event %d of %d for %q", i+1, n, key)
	}
}

func TestMemoryConformance(t *testing.T) {
	t.Run("real clock", func(t *testing.T) {
		limittest.Run(t, func(tb testing.TB, rule ratelimit.Rule) ratelimit.Limiter {
			return newMemory(tb, ratelimit.MemoryConfig{Rule: rule})
		})
	})
	t.Run("stopped clock", func(t *testing.T) {
		limittest.Run(t, func(tb testing.TB, rule ratelimit.Rule) ratelimit.Limiter {
			return newMemory(tb, ratelimit.MemoryConfig{Rule: rule, Now: newClock().Now})
		})
	})
}

func TestRuleValidate(t *testing.T) {
	tests := []struct {
		name    string
		rule    ratelimit.Rule
		wantErr error
	}{
		{"zero value", ratelimit.Rule{}, ratelimit.ErrInvalidRule},
		{"limit zero", ratelimit.Rule{Limit: 0, Window: time.Minute}, ratelimit.ErrInvalidRule},
		{"limit negative", ratelimit.Rule{Limit: -1, Window: time.Minute}, ratelimit.ErrInvalidRule},
		{"limit too high", ratelimit.Rule{Limit: ratelimit.MaxLimit + 1, Window: time.Minute}, ratelimit.ErrInvalidRule},
		{"window zero", ratelimit.Rule{Limit: 1}, ratelimit.ErrInvalidRule},
		{"window negative", ratelimit.Rule{Limit: 1, Window: -time.Second}, ratelimit.ErrInvalidRule},
		{"window too long", ratelimit.Rule{Limit: 1, Window: ratelimit.MaxWindow + 1}, ratelimit.ErrInvalidRule},
		{"smallest", ratelimit.Rule{Limit: 1, Window: 1}, nil},
		{"largest", ratelimit.Rule{Limit: ratelimit.MaxLimit, Window: ratelimit.MaxWindow}, nil},
		{"usual", ratelimit.Rule{Limit: 60, Window: time.Minute}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Regexp(t, `^ratelimit: invalid rule: `, err.Error())
			}

			m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: tt.rule})
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.NotNil(t, m)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
				require.Nil(t, m)
			}
		})
	}
}

func TestMemoryRecovery(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 3, Window: 3 * time.Minute},
		Now:  c.Now,
	})
	burst(t, m, "k", 3)
	assert.Equal(t, ratelimit.Result{RetryAfter: time.Minute}, allow(t, m, "k"))

	c.Advance(59 * time.Second)
	assert.Equal(t, ratelimit.Result{RetryAfter: time.Second}, allow(t, m, "k"))
	assert.Equal(t, ratelimit.Result{RetryAfter: time.Second}, peek(t, m, "k"))

	c.Advance(time.Second) // exactly Window/Limit after the burst
	assert.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, allow(t, m, "k"))
	assert.Equal(t, ratelimit.Result{RetryAfter: time.Minute}, allow(t, m, "k"))

	c.Advance(2 * time.Minute) // two intervals earned back
	assert.Equal(t, ratelimit.Result{Allowed: true, Remaining: 1}, peek(t, m, "k"))

	c.Advance(time.Hour) // idle for longer than Window: a full Limit again
	assert.Equal(t, ratelimit.Result{Allowed: true, Remaining: 2}, peek(t, m, "k"))
	burst(t, m, "k", 3)
	assert.False(t, allow(t, m, "k").Allowed)
}

func TestMemoryRetryAfterIsExact(t *testing.T) {
	tests := []struct {
		name string
		rule ratelimit.Rule
	}{
		{"divisible", ratelimit.Rule{Limit: 4, Window: time.Minute}},
		{"not divisible", ratelimit.Rule{Limit: 7, Window: time.Minute}},
		{"window shorter than limit", ratelimit.Rule{Limit: 7, Window: 10 * time.Nanosecond}},
		{"limit one", ratelimit.Rule{Limit: 1, Window: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			m := newMemory(t, ratelimit.MemoryConfig{Rule: tt.rule, Now: c.Now})
			burst(t, m, "k", tt.rule.Limit)
			res := allow(t, m, "k")
			require.False(t, res.Allowed, "event Limit+1 at the same instant")
			interval := tt.rule.Window / time.Duration(tt.rule.Limit)
			if tt.rule.Window%time.Duration(tt.rule.Limit) != 0 {
				interval++ // rounded up to the clock's resolution
			}
			require.Equal(t, interval, res.RetryAfter)

			if res.RetryAfter > 1 {
				c.Advance(res.RetryAfter - 1)
				require.False(t, allow(t, m, "k").Allowed, "one nanosecond early")
				c.Advance(1)
			} else {
				c.Advance(res.RetryAfter)
			}
			require.True(t, allow(t, m, "k").Allowed, "after RetryAfter")
		})
	}
}

func TestMemoryLongRunRate(t *testing.T) {
	// One attempt a second for ten minutes against 5 a minute: the burst
	// of 5, then one every 12 seconds.
	c := newClock()
	rule := ratelimit.Rule{Limit: 5, Window: time.Minute}
	m := newMemory(t, ratelimit.MemoryConfig{Rule: rule, Now: c.Now})
	var allowed []int
	for s := range 600 {
		if allow(t, m, "k").Allowed {
			allowed = append(allowed, s)
		}
		c.Advance(time.Second)
	}
	require.Len(t, allowed, 5+599/12) // the burst, then seconds 12, 24, ..., 588
	assert.Equal(t, []int{0, 1, 2, 3, 4, 12, 24, 36}, allowed[:8])
	// Never more than 2*Limit-1 in any minute, and at most Limit in any
	// minute once the first burst is a minute old.
	for i := range allowed {
		n := 0
		for _, s := range allowed[i:] {
			if s < allowed[i]+60 {
				n++
			}
		}
		assert.LessOrEqual(t, n, 2*rule.Limit-1, "minute from %ds", allowed[i])
		if allowed[i] >= 60 {
			assert.LessOrEqual(t, n, rule.Limit, "minute from %ds", allowed[i])
		}
	}
}

func TestMemoryDeniedDoesNotExtend(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 2, Window: time.Minute},
		Now:  c.Now,
	})
	burst(t, m, "k", 2)
	for range 29 {
		require.False(t, allow(t, m, "k").Allowed)
		c.Advance(time.Second)
	}
	res := allow(t, m, "k")
	require.Equal(t, ratelimit.Result{RetryAfter: time.Second}, res)
	c.Advance(time.Second)
	require.True(t, allow(t, m, "k").Allowed)
}

func TestMemoryClockBackwards(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 4, Window: time.Minute},
		Now:  c.Now,
	})
	burst(t, m, "k", 4)
	c.Advance(-24 * time.Hour)
	res := allow(t, m, "k")
	require.False(t, res.Allowed)
	// The wait stays bounded by Window/Limit however far the clock jumped.
	require.Equal(t, 15*time.Second, res.RetryAfter)
	require.True(t, allow(t, m, "other").Allowed)
}

func TestMemoryMaxKeys(t *testing.T) {
	tests := []struct {
		name    string
		maxKeys int
		inserts int
		want    int
	}{
		{"default", 0, ratelimit.DefaultMaxKeys + 1000, ratelimit.DefaultMaxKeys},
		// Not the full default again, to keep the test fast: enough to
		// show that a negative bound is neither refused nor taken as tiny.
		{"negative means default", -5, 10_000, 10_000},
		{"one", 1, 1001, 1},
		{"thousand", 1000, 2000, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemory(t, ratelimit.MemoryConfig{
				Rule:    ratelimit.Rule{Limit: 3, Window: time.Hour},
				MaxKeys: tt.maxKeys,
				Now:     newClock().Now, // nothing expires
			})
			ctx := context.Background()
			for i := range tt.inserts {
				res, err := m.Allow(ctx, "key-"+strconv.Itoa(i))
				if err != nil || !res.Allowed {
					t.Fatalf("Allow of new key %d = %+v, %v", i, res, err)
				}
				if i%97 == 0 && i < tt.want && m.Len() != i+1 {
					t.Fatalf("Len after %d keys = %d", i+1, m.Len())
				}
			}
			require.Equal(t, tt.want, m.Len())
		})
	}
}

func TestMemoryEvictsExpiredFirst(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule:    ratelimit.Rule{Limit: 2, Window: time.Minute},
		MaxKeys: 3,
		Now:     c.Now,
	})
	burst(t, m, "a", 2) // paid off at 60s
	burst(t, m, "b", 2) // paid off at 60s
	c.Advance(20 * time.Second)
	burst(t, m, "recent", 1) // paid off at 50s, though used last
	c.Advance(35 * time.Second)

	burst(t, m, "c", 1)
	require.Equal(t, 3, m.Len())
	// "a" and "b" are still held (a new key would have Remaining 1).
	assert.Equal(t, 0, peek(t, m, "a").Remaining)
	assert.Equal(t, 0, peek(t, m, "b").Remaining)
	assert.Equal(t, 1, peek(t, m, "recent").Remaining)
}

func TestMemoryEvictsNearestExpiry(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule:    ratelimit.Rule{Limit: 3, Window: 3 * time.Minute},
		MaxKeys: 2,
		Now:     c.Now,
	})
	burst(t, m, "blocked", 3)
	c.Advance(time.Second)
	burst(t, m, "light", 1)
	c.Advance(time.Second)
	// A client spraying fresh keys cannot push out the blocked one: each
	// fresh key owes less than it does, so the fresh keys go first.
	for i := range 100 {
		burst(t, m, "spray-"+strconv.Itoa(i), 1)
		require.Equal(t, 2, m.Len())
	}
	assert.False(t, allow(t, m, "blocked").Allowed)
	assert.Equal(t, 2, peek(t, m, "light").Remaining, "light was evicted")
	assert.Equal(t, 1, peek(t, m, "spray-99").Remaining, "the newest key is held")
	assert.Equal(t, 2, peek(t, m, "spray-98").Remaining, "older spray keys were evicted")
}

func TestMemoryLen(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 2, Window: time.Minute},
		Now:  c.Now,
	})
	ctx := context.Background()
	for i := range 10 {
		peek(t, m, fmt.Sprint(i))
	}
	require.Equal(t, 0, m.Len(), "Peek stores nothing")
	for i := range 10 {
		allow(t, m, fmt.Sprint(i))
	}
	allow(t, m, "0")
	require.Equal(t, 10, m.Len())
	require.NoError(t, m.Reset(ctx, "1"))
	require.NoError(t, m.Reset(ctx, "unknown"))
	require.Equal(t, 9, m.Len())
	require.True(t, allow(t, m, "1").Allowed)

	c.Advance(30 * time.Second) // every key but "0" is paid off
	allow(t, m, "x")
	require.Equal(t, 2, m.Len(), "Allow drops expired keys")

	c.Advance(time.Minute)
	require.Equal(t, 2, m.Len(), "only Allow drops keys")
	require.True(t, peek(t, m, "0").Allowed)
	allow(t, m, "x")
	require.Equal(t, 1, m.Len())
}

func TestMemoryConcurrentChurn(t *testing.T) {
	const maxKeys = 50
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule:    ratelimit.Rule{Limit: 3, Window: time.Minute},
		MaxKeys: maxKeys,
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				key := strconv.Itoa((g*7919 + i) % 200)
				switch i % 10 {
				case 0:
					assert.NoError(t, m.Reset(ctx, key))
				case 1:
					_, err := m.Peek(ctx, key)
					assert.NoError(t, err)
				case 2:
					assert.LessOrEqual(t, m.Len(), maxKeys)
				default:
					_, err := m.Allow(ctx, key)
					assert.NoError(t, err)
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, m.Len(), maxKeys)
}

func TestMemoryRefundOverTime(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 3, Window: 3 * time.Minute}, // one a minute
		Now:  c.Now,
	})
	ctx := context.Background()
	burst(t, m, "k", 3)
	c.Advance(30 * time.Second)
	// The key owes 2.5 minutes; a refund leaves 1.5: one event now, the
	// next half a minute later.
	require.NoError(t, m.Refund(ctx, "k"))
	assert.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, allow(t, m, "k"))
	assert.Equal(t, ratelimit.Result{RetryAfter: 30 * time.Second}, allow(t, m, "k"))

	// Time already earned back is not given twice: one event, half a
	// minute old, then a refund, leaves a full Limit and no key.
	burst(t, m, "once", 1)
	c.Advance(30 * time.Second)
	require.NoError(t, m.Refund(ctx, "once"))
	assert.Equal(t, ratelimit.Result{Allowed: true, Remaining: 2}, peek(t, m, "once"))
	assert.Equal(t, 1, m.Len(), "a key refunded to its full Limit is forgotten")
	require.NoError(t, m.Refund(ctx, "once"))
	assert.Equal(t, 1, m.Len(), "a refund of an unknown key stores nothing")
}

func TestMemoryRefundClockBackwards(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 4, Window: time.Minute},
		Now:  c.Now,
	})
	burst(t, m, "k", 4)
	c.Advance(-24 * time.Hour)
	// The debt is clamped to one Window, then one interval is given back.
	require.NoError(t, m.Refund(context.Background(), "k"))
	assert.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, allow(t, m, "k"))
	assert.Equal(t, ratelimit.Result{RetryAfter: 15 * time.Second}, allow(t, m, "k"))
}

func TestMemoryRefundKeepsEvictionOrder(t *testing.T) {
	c := newClock()
	m := newMemory(t, ratelimit.MemoryConfig{
		Rule:    ratelimit.Rule{Limit: 3, Window: 3 * time.Minute},
		MaxKeys: 2,
		Now:     c.Now,
	})
	ctx := context.Background()
	burst(t, m, "a", 3)
	burst(t, m, "b", 2)
	// After two refunds "a" owes the least, so a new key pushes it out.
	require.NoError(t, m.Refund(ctx, "a"))
	require.NoError(t, m.Refund(ctx, "a"))
	burst(t, m, "c", 1)
	assert.Equal(t, 2, m.Len())
	assert.Equal(t, 2, peek(t, m, "a").Remaining, "a was evicted")
	assert.Equal(t, 0, peek(t, m, "b").Remaining, "b is held")
}
