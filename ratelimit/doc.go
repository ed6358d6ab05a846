// Package ratelimit counts events per key (a client IP, an account) and says
// whether one more is within a [Rule]: at most Limit events per Window.
//
// [Limiter] is the small interface the rest of forgeauth depends on. [Memory]
// implements it in the process, with a bound on the number of keys it holds;
// the subpackage [github.com/forgeauth/forgeauth/ratelimit/redislimit]
// implements it on Redis for services that run on several machines, and
// [github.com/forgeauth/forgeauth/ratelimit/limittest] is the conformance
// suite both pass. This package imports only the standard library.
//
// # Algorithm
//
// Both limiters use the generic cell rate algorithm (GCRA), as redis-cell and
// throttled do: each key holds one timestamp, its theoretical arrival time,
// so memory and work per event are constant however high the Limit. A key
// may spend its whole Limit at once and then earns one event back every
// Window/Limit; a key left alone for Window is back to its full Limit. Over
// any long period a key gets at most Limit events per Window on average,
// while a single stretch of one Window can hold up to 2*Limit-1 of them (a
// full burst, then what it earns back). A denied event is not counted, so
// hammering while blocked does not prolong the block. The arithmetic is exact: with Limit 7 per minute, the eighth
// event at one instant is denied, never let through by rounding.
//
// # Example
//
//	limiter, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
//		Rule: ratelimit.Rule{Limit: 60, Window: time.Minute},
//	})
//	if err != nil {
//		return err
//	}
//	res, err := limiter.Allow(ctx, clientIP)
//	if err != nil {
//		return err // only a done ctx, for Memory
//	}
//	if !res.Allowed {
//		// answer 429 with Retry-After: res.RetryAfter, rounded up to seconds
//	}
package ratelimit
