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
// hammering while blocked does not prolong the block. The arithmetic is
// exact: with Limit 7 per minute, the eighth event at one instant is
// denied, never let through by rounding.
//
// # Reserve, then give back
//
// A check made before expensive work and a count made after it let a
// concurrent burst through: every request passes the check before any of
// them is counted. Count first instead, with [Limiter.Allow], which is
// atomic, and give back with [Limiter.Refund] what turns out not to count
// (a login that succeeded). A refund moves the key back by one event, never
// beyond its full Limit, and is atomic too, in memory and on Redis.
//
// [AllowAll] applies the same idea to several limiters: it counts on each
// in turn and, when one refuses, gives back what the others counted, so
// that a request refused by a short cooldown does not spend a longer cap.
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
//
// Reserving an attempt at a login, and giving it back on success:
//
//	res, err := failedLogins.Allow(ctx, accountID)
//	if err != nil || !res.Allowed {
//		return errTooManyAttempts // or fail open on err: the caller's choice
//	}
//	if err := hasher.Verify(ctx, pw, stored); err != nil {
//		return err // the attempt stays counted
//	}
//	if err := failedLogins.Refund(context.WithoutCancel(ctx), accountID); err != nil {
//		// log it: the attempt stays counted, the safe side
//	}
package ratelimit
