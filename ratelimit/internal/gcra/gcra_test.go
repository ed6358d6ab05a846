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

// refund moves the arrival time back by one interval, never before now, on
// the debt clamped to one window as decide clamps it.
func (ref *reference) refund(now int64) {
	n := new(big.Rat).SetInt64(now)
	debt := new(big.Rat).Sub(ref.tat, n)
	if debt.Sign() <= 0 {
		return
	}
	if debt.Cmp(ref.window) > 0 {
		debt.Set(ref.window)
	}
	debt.Sub(debt, ref.interval)
	if debt.Sign() < 0 {
		debt.SetInt64(0)
	}
	ref.tat = debt.Add(debt, n)
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

// TestRefundMatchesReference walks keys through events and refunds and
// checks every decision, and every state a refund leaves, against the
// reference.
func TestRefundMatchesReference(t *testing.T) {
	rules := []gcra.Rule{
		{Window: 1, Limit: 1},
		{Window: 10, Limit: 7},
		{Window: 7, Limit: 10},
		{Window: 60_000_000_000, Limit: 7},
		{Window: 1_000_003, Limit: 999_983},
		{Window: 100 * 365 * 24 * 3600 * 1_000_000_000, Limit: 1 << 40},
	}
	for _, r := range rules {
		t.Run(fmt.Sprintf("%d per %d", r.Limit, r.Window), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(r.Limit), uint64(r.Window)))
			ref := newReference(r)
			now := int64(1_700_000_000_000_000)
			s := gcra.State{TAT: now + r.Window}
			ref.tat.SetInt64(now + r.Window)
			interval := r.Window / r.Limit
			var refunds, forgotten int
			for i := range 2000 {
				switch n := rng.IntN(64); {
				case i == 1000:
					now -= r.Window / 2 // the clock steps far back
				case i%100 == 0:
					now += r.Window // paid off: refunds near a full limit
				case n < 40: // same instant
				case n < 60:
					now += rng.Int64N(interval + 1)
				default:
					now += rng.Int64N(3*interval + 3)
				}
				if now > 1<<61 { // keep now + Window within int64
					now = 1_700_000_000_000_000
					s = gcra.State{TAT: now}
					ref.tat.SetInt64(now)
				}
				if rng.IntN(3) == 0 {
					next, owes := gcra.Refund(r, s, now)
					ref.refund(now)
					refunds++
					if !owes {
						forgotten++
						if next != (gcra.State{}) {
							t.Fatalf("refund %d at %d: forgotten with state %+v", i, now, next)
						}
						next = gcra.State{TAT: now}
					} else if next.TAT < now || (next.TAT == now && next.Frac == 0) || next.Frac < 0 || next.Frac >= r.Limit {
						t.Fatalf("refund %d at %d: kept state %+v owes nothing or is out of range", i, now, next)
					}
					s = next
				}
				d := gcra.Decide(r, s, now)
				allowed, remaining, retry := ref.decide(now)
				if d.Allowed != allowed || d.Remaining != remaining || d.RetryAfter != retry {
					t.Fatalf("event %d at %d: Decide = %+v, want allowed %v, remaining %d, retry after %d",
						i, now, d, allowed, remaining, retry)
				}
				if d.Allowed {
					s = d.Next
				}
			}
			if refunds < 500 || forgotten < 10 || (r.Limit > 1 && forgotten == refunds) {
				t.Fatalf("the walk is lopsided: %d refunds, %d of them back to a full limit", refunds, forgotten)
			}
		})
	}
}

func TestRefund(t *testing.T) {
	r := gcra.Rule{Window: 10, Limit: 3} // one event per 3 + 1/3
	const now = 1000
	tests := []struct {
		name     string
		s        gcra.State
		now      int64
		want     gcra.State
		wantOwes bool
	}{
		{"never seen", gcra.State{TAT: now}, now, gcra.State{}, false},
		{"paid off long ago", gcra.State{TAT: 10}, now, gcra.State{}, false},
		{"one event", gcra.State{TAT: now + 3, Frac: 1}, now, gcra.State{}, false},
		{"one event, partly earned back", gcra.State{TAT: now + 3, Frac: 1}, now + 1, gcra.State{}, false},
		{"two events", gcra.State{TAT: now + 6, Frac: 2}, now, gcra.State{TAT: now + 3, Frac: 1}, true},
		{"borrow from the fraction", gcra.State{TAT: now + 7}, now, gcra.State{TAT: now + 3, Frac: 2}, true},
		{"full burst", gcra.State{TAT: now + 10}, now, gcra.State{TAT: now + 6, Frac: 2}, true},
		{"less than one interval left", gcra.State{TAT: now + 2}, now, gcra.State{}, false},
		{"clock far back: the debt is clamped", gcra.State{TAT: now + 10}, 0, gcra.State{TAT: 6, Frac: 2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, owes := gcra.Refund(r, tt.s, tt.now)
			require.Equal(t, tt.wantOwes, owes)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRefundAfterBurstRestoresOne(t *testing.T) {
	r := gcra.Rule{Window: 60_000_000_000, Limit: 7}
	const now = 1000
	s := gcra.State{TAT: now}
	for range r.Limit {
		s = gcra.Decide(r, s, now).Next
	}
	require.False(t, gcra.Decide(r, s, now).Allowed)
	s, owes := gcra.Refund(r, s, now)
	require.True(t, owes)
	d := gcra.Decide(r, s, now)
	require.True(t, d.Allowed)
	require.Zero(t, d.Remaining)
	require.False(t, gcra.Decide(r, d.Next, now).Allowed)
}
