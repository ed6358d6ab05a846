package limittest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/ratelimit"
)

// NewLimiter returns a new limiter enforcing rule, holding no counts, and
// sharing no keys with any limiter returned before. It reports failures
// through tb and registers any cleanup with tb.Cleanup.
type NewLimiter func(tb testing.TB, rule ratelimit.Rule) ratelimit.Limiter

// Run runs the conformance suite as subtests of t, calling newLimiter for a
// fresh limiter in each.
//
// Beyond the [ratelimit.Limiter] contract it checks what forgeauth's
// limiters promise: a burst of exactly Limit events is allowed, with
// Remaining counting down to 0, and the next is denied with a RetryAfter in
// (0, Window/Limit]; a Refund gives back exactly one event and never more
// than the full Limit; and concurrent calls on one key never let more than
// Limit events be held at once.
func Run(t *testing.T, newLimiter NewLimiter) {
	t.Run("BurstThenDeny", func(t *testing.T) { testBurstThenDeny(t, newLimiter) })
	t.Run("DeniedNotCounted", func(t *testing.T) { testDeniedNotCounted(t, newLimiter) })
	t.Run("PeekDoesNotCount", func(t *testing.T) { testPeekDoesNotCount(t, newLimiter) })
	t.Run("Reset", func(t *testing.T) { testReset(t, newLimiter) })
	t.Run("KeysIndependent", func(t *testing.T) { testKeysIndependent(t, newLimiter) })
	t.Run("RefundRestoresOne", func(t *testing.T) { testRefundRestoresOne(t, newLimiter) })
	t.Run("RefundNeverExceedsLimit", func(t *testing.T) { testRefundNeverExceedsLimit(t, newLimiter) })
	t.Run("RefundUnknownKey", func(t *testing.T) { testRefundUnknownKey(t, newLimiter) })
	t.Run("ConcurrentAllow", func(t *testing.T) {
		t.Run("100 on limit 10", func(t *testing.T) { testConcurrentAllow(t, newLimiter, 100, 10) })
		t.Run("50 on limit 5", func(t *testing.T) { testConcurrentAllow(t, newLimiter, 50, 5) })
	})
	t.Run("ConcurrentAllowRefund", func(t *testing.T) { testConcurrentAllowRefund(t, newLimiter) })
	t.Run("CanceledContext", func(t *testing.T) { testCanceledContext(t, newLimiter) })
}

func rule(limit int) ratelimit.Rule {
	return ratelimit.Rule{Limit: limit, Window: time.Hour}
}

func allow(tb testing.TB, l ratelimit.Limiter, key string) ratelimit.Result {
	tb.Helper()
	res, err := l.Allow(context.Background(), key)
	if err != nil {
		tb.Fatalf("Allow(%q): %v", key, err)
	}
	checkInvariants(tb, "Allow", res)
	return res
}

func peek(tb testing.TB, l ratelimit.Limiter, key string) ratelimit.Result {
	tb.Helper()
	res, err := l.Peek(context.Background(), key)
	if err != nil {
		tb.Fatalf("Peek(%q): %v", key, err)
	}
	checkInvariants(tb, "Peek", res)
	return res
}

func refund(tb testing.TB, l ratelimit.Limiter, key string) {
	tb.Helper()
	if err := l.Refund(context.Background(), key); err != nil {
		tb.Fatalf("Refund(%q): %v", key, err)
	}
}

func reset(tb testing.TB, l ratelimit.Limiter, key string) {
	tb.Helper()
	if err := l.Reset(context.Background(), key); err != nil {
		tb.Fatalf("Reset(%q): %v", key, err)
	}
}

func checkInvariants(tb testing.TB, op string, res ratelimit.Result) {
	tb.Helper()
	if res.Allowed && res.RetryAfter != 0 {
		tb.Errorf("%s allowed with RetryAfter %v, want 0", op, res.RetryAfter)
	}
	if !res.Allowed && res.Remaining != 0 {
		tb.Errorf("%s denied with Remaining %d, want 0", op, res.Remaining)
	}
	if !res.Allowed && res.RetryAfter <= 0 {
		tb.Errorf("%s denied with RetryAfter %v, want > 0", op, res.RetryAfter)
	}
	if res.Remaining < 0 {
		tb.Errorf("%s: Remaining %d is negative", op, res.Remaining)
	}
}

// exhaust spends the whole burst of key, checking each step.
func exhaust(tb testing.TB, l ratelimit.Limiter, r ratelimit.Rule, key string) {
	tb.Helper()
	for i := range r.Limit {
		res := allow(tb, l, key)
		if !res.Allowed {
			tb.Fatalf("event %d of %d for %q denied", i+1, r.Limit, key)
		}
		if want := r.Limit - 1 - i; res.Remaining != want {
			tb.Fatalf("event %d for %q: Remaining %d, want %d", i+1, key, res.Remaining, want)
		}
	}
}

func wantDenied(tb testing.TB, op string, res ratelimit.Result, r ratelimit.Rule) {
	tb.Helper()
	if res.Allowed {
		tb.Fatalf("%s allowed after the burst of %d", op, r.Limit)
	}
	if interval := r.Window / time.Duration(r.Limit); res.RetryAfter > interval {
		tb.Errorf("%s: RetryAfter %v, want at most Window/Limit = %v", op, res.RetryAfter, interval)
	}
}

func testBurstThenDeny(t *testing.T, newLimiter NewLimiter) {
	for _, limit := range []int{1, 3, 10} {
		t.Run(fmt.Sprintf("limit%d", limit), func(t *testing.T) {
			r := rule(limit)
			l := newLimiter(t, r)
			exhaust(t, l, r, "k")
			wantDenied(t, "Allow", allow(t, l, "k"), r)
		})
	}
}

func testDeniedNotCounted(t *testing.T, newLimiter NewLimiter) {
	r := rule(2)
	l := newLimiter(t, r)
	exhaust(t, l, r, "k")
	first := allow(t, l, "k")
	wantDenied(t, "Allow", first, r)
	for range 20 {
		res := allow(t, l, "k")
		wantDenied(t, "Allow", res, r)
		if res.RetryAfter > first.RetryAfter {
			t.Fatalf("denied events extend the block: RetryAfter grew from %v to %v", first.RetryAfter, res.RetryAfter)
		}
	}
}

func testPeekDoesNotCount(t *testing.T, newLimiter NewLimiter) {
	r := rule(3)
	l := newLimiter(t, r)
	for range 10 {
		res := peek(t, l, "k")
		if !res.Allowed || res.Remaining != r.Limit-1 {
			t.Fatalf("Peek on a new key = %+v, want allowed with Remaining %d", res, r.Limit-1)
		}
	}
	exhaust(t, l, r, "k")
	for range 3 {
		wantDenied(t, "Peek", peek(t, l, "k"), r)
	}
	wantDenied(t, "Allow", allow(t, l, "k"), r)
	if res := peek(t, l, "other"); !res.Allowed || res.Remaining != r.Limit-1 {
		t.Fatalf("Peek on another key = %+v, want allowed with Remaining %d", res, r.Limit-1)
	}
}

func testReset(t *testing.T, newLimiter NewLimiter) {
	r := rule(3)
	l := newLimiter(t, r)
	exhaust(t, l, r, "a")
	exhaust(t, l, r, "b")
	reset(t, l, "a")
	if res := peek(t, l, "a"); !res.Allowed || res.Remaining != r.Limit-1 {
		t.Fatalf("Peek after Reset = %+v, want allowed with Remaining %d", res, r.Limit-1)
	}
	exhaust(t, l, r, "a")
	wantDenied(t, "Allow after a second burst", allow(t, l, "a"), r)
	wantDenied(t, "Allow on a key not reset", allow(t, l, "b"), r)

	reset(t, l, "never seen")
	reset(t, l, "a")
	reset(t, l, "a")
	exhaust(t, l, r, "a")
}

func testKeysIndependent(t *testing.T, newLimiter NewLimiter) {
	r := rule(2)
	l := newLimiter(t, r)
	keys := []string{
		"", "a", "A", "a:b", "a:", ":a", "a\x00b", "a\x00", "ä", "a ", " a",
		"198.51.100.7", "2001:db8::1", strings.Repeat("k", 1024),
	}
	for _, k := range keys {
		exhaust(t, l, r, k)
	}
	for _, k := range keys {
		wantDenied(t, "Allow", allow(t, l, k), r)
	}
}

func testConcurrentAllow(t *testing.T, newLimiter NewLimiter, goroutines, limit int) {
	r := rule(limit)
	l := newLimiter(t, r)

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		remaining = make(map[int]int)
		allowed   int
		errs      []error
	)
	start := make(chan struct{})
	for range goroutines {
		wg.Go(func() {
			<-start
			res, err := l.Allow(context.Background(), "k")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if res.Allowed {
				allowed++
				remaining[res.Remaining]++
			}
		})
	}
	close(start)
	wg.Wait()

	if len(errs) > 0 {
		t.Fatalf("%d of %d concurrent Allow calls failed, first: %v", len(errs), goroutines, errs[0])
	}
	if allowed != r.Limit {
		t.Fatalf("%d concurrent Allow calls on one key allowed %d, want exactly %d", goroutines, allowed, r.Limit)
	}
	for i := range r.Limit {
		if remaining[i] != 1 {
			t.Errorf("Remaining %d reported %d times, want once (all: %v)", i, remaining[i], remaining)
		}
	}
	wantDenied(t, "Allow", allow(t, l, "k"), r)
}

func testCanceledContext(t *testing.T, newLimiter NewLimiter) {
	r := rule(3)
	l := newLimiter(t, r)
	exhaust(t, l, r, "spent")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	res, err := l.Allow(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Allow with a canceled context: error %v, want one wrapping context.Canceled", err)
	}
	if res != (ratelimit.Result{}) {
		t.Errorf("Allow with a canceled context = %+v, want the zero Result", res)
	}
	res, err = l.Peek(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Peek with a canceled context: error %v, want one wrapping context.Canceled", err)
	}
	if res != (ratelimit.Result{}) {
		t.Errorf("Peek with a canceled context = %+v, want the zero Result", res)
	}
	if err := l.Reset(ctx, "spent"); !errors.Is(err, context.Canceled) {
		t.Errorf("Reset with a canceled context: error %v, want one wrapping context.Canceled", err)
	}
	if err := l.Refund(ctx, "spent"); !errors.Is(err, context.Canceled) {
		t.Errorf("Refund with a canceled context: error %v, want one wrapping context.Canceled", err)
	}
	// Nothing was counted, nothing was reset or given back.
	exhaust(t, l, r, "k")
	wantDenied(t, "Allow after a canceled Reset and Refund", allow(t, l, "spent"), r)
}

func wantRemaining(tb testing.TB, l ratelimit.Limiter, key string, want int, when string) {
	tb.Helper()
	if res := peek(tb, l, key); !res.Allowed || res.Remaining != want {
		tb.Fatalf("Peek %s = %+v, want allowed with Remaining %d", when, res, want)
	}
}

func testRefundRestoresOne(t *testing.T, newLimiter NewLimiter) {
	r := rule(3)
	l := newLimiter(t, r)

	// After a full burst: exactly one event comes back.
	exhaust(t, l, r, "k")
	refund(t, l, "k")
	wantRemaining(t, l, "k", 0, "after one refund on a spent key")
	if res := allow(t, l, "k"); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("Allow after one refund = %+v, want allowed with Remaining 0", res)
	}
	wantDenied(t, "Allow after spending the refunded event", allow(t, l, "k"), r)

	// Two refunds give back two events.
	refund(t, l, "k")
	refund(t, l, "k")
	wantRemaining(t, l, "k", 1, "after two refunds on a spent key")

	// Within the burst: allow then refund leaves the key as it was.
	if res := allow(t, l, "other"); !res.Allowed || res.Remaining != r.Limit-1 {
		t.Fatalf("Allow on a new key = %+v", res)
	}
	allow(t, l, "other")
	refund(t, l, "other")
	wantRemaining(t, l, "other", r.Limit-2, "after two events and one refund")
	wantRemaining(t, l, "k", 1, "on a key that was not refunded")
}

func testRefundNeverExceedsLimit(t *testing.T, newLimiter NewLimiter) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprintf("limit%d", limit), func(t *testing.T) {
			r := rule(limit)
			l := newLimiter(t, r)
			allow(t, l, "k")
			for range 5 {
				refund(t, l, "k")
			}
			wantRemaining(t, l, "k", r.Limit-1, "after more refunds than events")
			exhaust(t, l, r, "k")
			wantDenied(t, "Allow after the burst that follows extra refunds", allow(t, l, "k"), r)

			// Extra refunds on a spent key give back at most the burst.
			for range 2*r.Limit + 3 {
				refund(t, l, "k")
			}
			exhaust(t, l, r, "k")
			wantDenied(t, "Allow after many refunds and a burst", allow(t, l, "k"), r)
		})
	}
}

func testRefundUnknownKey(t *testing.T, newLimiter NewLimiter) {
	r := rule(2)
	l := newLimiter(t, r)
	exhaust(t, l, r, "spent")
	for _, k := range []string{"never seen", "", "spent\x00"} {
		refund(t, l, k)
		refund(t, l, k)
		wantRemaining(t, l, k, r.Limit-1, "after refunds of an unknown key")
		exhaust(t, l, r, k)
		wantDenied(t, "Allow after refunds of an unknown key and a burst", allow(t, l, k), r)
	}
	reset(t, l, "spent")
	refund(t, l, "spent")
	exhaust(t, l, r, "spent")
	wantDenied(t, "Allow after a refund of a reset key and a burst", allow(t, l, "spent"), r)
}

// testConcurrentAllowRefund has goroutines reserve an event on one key and
// give back half of the reservations, as a login does when the password is
// right. At no moment may more than Limit reservations be held, and at the
// end exactly the kept ones are counted.
func testConcurrentAllowRefund(t *testing.T, newLimiter NewLimiter) {
	const goroutines = 50
	r := rule(5)
	l := newLimiter(t, r)

	var (
		wg                     sync.WaitGroup
		mu                     sync.Mutex
		held, peak             int
		allowed, kept, refunds int
		errs                   []error
	)
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			ctx := context.Background()
			res, err := l.Allow(ctx, "k")
			mu.Lock()
			if err != nil || !res.Allowed {
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
				return
			}
			allowed++
			held++
			peak = max(peak, held)
			if g%2 == 1 {
				kept++
				mu.Unlock()
				return
			}
			held-- // given back from here on
			refunds++
			mu.Unlock()
			if err := l.Refund(ctx, "k"); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()

	if len(errs) > 0 {
		t.Fatalf("%d calls failed, first: %v", len(errs), errs[0])
	}
	if peak > r.Limit {
		t.Fatalf("%d reservations held at once, want at most %d", peak, r.Limit)
	}
	if kept > r.Limit || allowed > r.Limit+refunds || allowed < r.Limit {
		t.Fatalf("%d allowed, %d kept, %d refunded: want at least %d allowed, at most %d kept, at most %d plus the refunds allowed",
			allowed, kept, refunds, r.Limit, r.Limit, r.Limit)
	}
	// Exactly what was kept is counted: the rest of the burst is there.
	if left := r.Limit - kept; left > 0 {
		wantRemaining(t, l, "k", left-1, "after the concurrent reservations")
		for i := range left {
			if !allow(t, l, "k").Allowed {
				t.Fatalf("event %d of the %d left after %d kept reservations denied", i+1, left, kept)
			}
		}
	}
	wantDenied(t, "Allow after the whole limit is spent", allow(t, l, "k"), r)
}
