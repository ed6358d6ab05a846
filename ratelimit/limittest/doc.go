// Package limittest is the conformance suite for implementations of
// [ratelimit.Limiter]: counts, denial, Peek, Reset, Refund, independence of
// keys, concurrency (atomic reservation, reserve then give back) and
// canceled contexts.
//
// The suite never depends on the passage of time, so it runs unchanged
// against a limiter on a server's clock, such as Redis: every rule it uses
// has a Window of an hour, so the milliseconds the suite takes never earn an
// event back, and Window/Limit is a whole number of microseconds. Behaviour
// over time (recovery, the window sliding) belongs to each implementation's
// own tests with an injected clock.
//
//	func TestConformance(t *testing.T) {
//		limittest.Run(t, func(tb testing.TB, rule ratelimit.Rule) ratelimit.Limiter {
//			l, err := mylimit.New(mylimit.Config{Rule: rule})
//			if err != nil {
//				tb.Fatal(err)
//			}
//			return l
//		})
//	}
package limittest
