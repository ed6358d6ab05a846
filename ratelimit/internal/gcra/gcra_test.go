package gcra_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/ratelimit/internal/gcra"
)

// reference is GCRA in exact rational arithmetic, written from the textbook
// definition rather than from the integer-and-fraction form under test.
type reference struct {
	window, interval *big.Rat
	tat              *big.Rat
}

func newReference(r gcra.Rule) *reference {
	return &reference{
		window:   new(big.Rat).SetInt64(r.Window),
		interval: big.NewRat(r.Window, r.Limit),
		tat:      new(big.Rat),
	}
}

func (ref *reference) decide(now int64) (allowed bool, remaining, retry int64) {
	n := new(big.Rat).SetInt64(now)
	tat := ref.tat
	if tat.Cmp(n) < 0 {
		tat = n
	}
	debt := new(big.Rat).Sub(tat, n)
	if debt.Cmp(ref.window) > 0 {
		debt.Set(ref.window)
	}
	debt.Add(debt, ref.interval)
	if debt.Cmp(ref.window) > 0 {
		over := new(big.Rat).Sub(debt, ref.window)
		return false, 0, ceil(over)
	}
	ref.tat = new(big.Rat).Add(n, debt)
	slack := new(big.Rat).Sub(ref.window, debt)
	return true, floor(slack.Quo(slack, ref.interval)), 0
}

func floor(x *big.Rat) int64 {
	return new(big.Int).Quo(x.Num(), x.Denom()).Int64() // x >= 0
}

func ceil(x *big.Rat) int64 {
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

func TestDecideMatchesReference(t *testing.T) {
	rules := []gcra.Rule{
		{Window: 1, Limit: 1},
		{Window: 10, Limit: 7},
		{Window: 7, Limit: 10},
		{Window: 60_000_000_000, Limit: 7},
		{Window: 3_600_000_000, Limit: 100},
		{Window: 1_000_003, Limit: 999_983},
		{Window: 100 * 365 * 24 * 3600 * 1_000_000_000, Limit: 1 << 40},
	}
	for _, r := range rules {
		t.Run(fmt.Sprintf("%d per %d", r.Limit, r.Window), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(r.Window), uint64(r.Limit)))
			ref := newReference(r)
			// Start with a full window of debt, and walk mostly in steps
			// around the emission interval, so that the key hovers near
			// its limit and both answers are common.
			now := int64(1_700_000_000_000_000)
			s := gcra.State{TAT: now + r.Window}
			ref.tat.SetInt64(now + r.Window)
			interval := r.Window / r.Limit
			var counts [2]int // denied, allowed
			for i := range 2000 {
				switch n := rng.IntN(64); {
				case i == 1000:
					now += 2 * r.Window // a fresh start
				case i == 1500:
					now -= r.Window / 2 // the clock steps far back
				case n < 32: // same instant
				case n < 56:
					now += rng.Int64N(interval + 1)
				case n < 63:
					now += rng.Int64N(10*interval + 10)
				default:
					now -= rng.Int64N(10*interval + 10) // the clock steps back
				}
				if now > 1<<61 { // keep now + Window within int64
					now = 1_700_000_000_000_000
				}
				d := gcra.Decide(r, s, now)
				allowed, remaining, retry := ref.decide(now)
				if d.Allowed != allowed || d.Remaining != remaining || d.RetryAfter != retry {
					t.Fatalf("event %d at %d: Decide = %+v, want allowed %v, remaining %d, retry after %d",
						i, now, d, allowed, remaining, retry)
				}
				if d.Allowed {
					counts[1]++
				} else {
					counts[0]++
				}
				if d.Allowed {
					if d.TTL < 1 || d.TTL > r.Window || d.Next.Frac < 0 || d.Next.Frac >= r.Limit {
						t.Fatalf("event %d at %d: Decide = %+v out of range", i, now, d)
					}
					s = d.Next
				} else if d.RetryAfter < 1 || d.RetryAfter > r.Window {
					t.Fatalf("event %d at %d: RetryAfter %d out of range", i, now, d.RetryAfter)
				}
			}
			if counts[0] < 100 || counts[1] < 100 {
				t.Fatalf("the walk is lopsided: %d denied, %d allowed", counts[0], counts[1])
			}
		})
	}
}

func TestDecideBurstIsExactlyLimit(t *testing.T) {
	tests := []struct {
		name string
		rule gcra.Rule
	}{
		{"divisible", gcra.Rule{Window: 60, Limit: 3}},
		{"window not divisible by limit", gcra.Rule{Window: 60_000_000_000, Limit: 7}},
		{"window shorter than limit", gcra.Rule{Window: 10, Limit: 7}},
		{"limit one", gcra.Rule{Window: 5, Limit: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const now = 1000
			s := gcra.State{TAT: now}
			for i := range tt.rule.Limit {
				d := gcra.Decide(tt.rule, s, now)
				require.True(t, d.Allowed, "event %d", i)
				require.Equal(t, tt.rule.Limit-1-i, d.Remaining)
				s = d.Next
			}
			d := gcra.Decide(tt.rule, s, now)
			require.False(t, d.Allowed)
			require.Zero(t, d.Remaining)
			// The next event waits one emission interval, rounded up.
			want := (tt.rule.Window + tt.rule.Limit - 1) / tt.rule.Limit
			require.Equal(t, want, d.RetryAfter)
			require.True(t, gcra.Decide(tt.rule, s, now+d.RetryAfter).Allowed)
			if d.RetryAfter > 1 {
				require.False(t, gcra.Decide(tt.rule, s, now+d.RetryAfter-1).Allowed)
			}
		})
	}
}

func TestDecideClockBackwards(t *testing.T) {
	r := gcra.Rule{Window: 100, Limit: 4}
	s := gcra.State{TAT: 1000}
	for range 4 {
		d := gcra.Decide(r, s, 1000)
		require.True(t, d.Allowed)
		s = d.Next
	}
	// The clock steps back far: the wait stays one emission interval.
	d := gcra.Decide(r, s, 0)
	require.False(t, d.Allowed)
	require.Equal(t, int64(25), d.RetryAfter)
}

func TestOutcomeFractionalDebt(t *testing.T) {
	r := gcra.Rule{Window: 10, Limit: 3}
	d := gcra.Outcome(r, 10, 1) // debt 10 + 1/3 > 10
	require.False(t, d.Allowed)
	require.Equal(t, int64(1), d.RetryAfter)

	d = gcra.Outcome(r, 3, 1) // debt 3 + 1/3: room for 2 more intervals of 3 + 1/3
	require.True(t, d.Allowed)
	require.Equal(t, int64(2), d.Remaining)
	require.Equal(t, int64(4), d.TTL)
}
