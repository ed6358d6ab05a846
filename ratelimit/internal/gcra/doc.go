// Package gcra is the arithmetic of the generic cell rate algorithm shared by
// the in-memory limiter and the Redis limiter (whose Lua scripts mirror
// [Decide] and [Refund] line for line), so that both decide identically.
//
// Time is an integer count of some unit (nanoseconds in memory, microseconds
// in Redis). The emission interval Window/Limit is rarely a whole number of
// units, so a theoretical arrival time carries a fraction in units of
// 1/Limit: every sum is exact and no product of Window and Limit is ever
// formed, so nothing overflows for any rule that passes validation.
//
//	s := gcra.State{TAT: now} // a key never seen
//	d := gcra.Decide(rule, s, now)
//	if d.Allowed {
//		s = d.Next // store it until now+d.TTL
//	}
//	// Later, to give that event back:
//	if next, owes := gcra.Refund(rule, s, now); owes {
//		s = next
//	} else {
//		// forget the key: it is back to a full Limit
//	}
package gcra
