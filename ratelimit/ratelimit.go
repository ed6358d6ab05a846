package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalidRule is returned, wrapped with the reason, by [Rule.Validate] and
// by the constructors of limiters when a [Rule] is unusable.
var ErrInvalidRule = errors.New("ratelimit: invalid rule")

const (
	// MaxLimit is the largest [Rule.Limit] accepted.
	MaxLimit = 1 << 40

	// MaxWindow is the longest [Rule.Window] accepted. It keeps every time
	// computation far from overflow, in nanoseconds in memory and in the
	// exact integer range of Redis's Lua numbers in microseconds.
	MaxWindow = 100 * 365 * 24 * time.Hour
)

// Rule allows at most Limit events per Window per key, as a rate: a key may
// spend all of Limit at once, and then earns one event back every
// Window/Limit. Over any long period a key gets at most Limit events per
// Window on average; a single interval of length Window can hold up to
// 2*Limit-1 events (a full burst at its start, then one per Window/Limit as
// they are earned back). A key that stays idle for Window is back to a full
// Limit.
//
// The zero value is invalid; see [Rule.Validate].
type Rule struct {
	Limit  int
	Window time.Duration
}

// Validate returns nil for a usable rule, and otherwise an error wrapping
// [ErrInvalidRule]: for Limit < 1 or Limit > [MaxLimit], and for
// Window <= 0 or Window > [MaxWindow].
func (r Rule) Validate() error {
	switch {
	case r.Limit < 1:
		return fmt.Errorf("%w: limit %d is less than 1", ErrInvalidRule, r.Limit)
	case r.Limit > MaxLimit:
		return fmt.Errorf("%w: limit %d is more than %d", ErrInvalidRule, r.Limit, MaxLimit)
	case r.Window <= 0:
		return fmt.Errorf("%w: window %v is not positive", ErrInvalidRule, r.Window)
	case r.Window > MaxWindow:
		return fmt.Errorf("%w: window %v is longer than %v", ErrInvalidRule, r.Window, MaxWindow)
	}
	return nil
}

// Result is the outcome of [Limiter.Allow] or [Limiter.Peek].
type Result struct {
	// Allowed reports whether the event is within the rule.
	Allowed bool

	// Remaining is how many more events the key could spend at this
	// instant after this one; 0 when denied.
	Remaining int

	// RetryAfter is, when denied, how long until one more event would be
	// allowed (always > 0, at most Window/Limit rounded up to the
	// limiter's clock resolution); 0 when allowed. Suitable for a
	// Retry-After header once rounded up to whole seconds.
	RetryAfter time.Duration
}

// Limiter counts events per key against one [Rule]. Implementations are safe
// for concurrent use.
//
// Keys are compared as byte strings. A caller that limits several things
// (client IPs, accounts) through one store should give each its own
// limiter, or its own key prefix, so that keys of one kind never meet keys of
// another.
type Limiter interface {
	// Allow counts one event for key and reports whether it is within the
	// rule. A denied event is not counted: a client that keeps trying while
	// blocked is not blocked for longer, it gets its next event as soon as
	// it has earned one back, exactly as if it had waited quietly. This
	// keeps the longest block bounded by Window/Limit after the last
	// allowed event, which is what Retry-After promises.
	//
	// When it returns an error the Result is the zero Result (not
	// allowed); whether to fail open or closed is the caller's choice.
	Allow(ctx context.Context, key string) (Result, error)

	// Peek returns the Result that Allow would return at this instant,
	// without counting anything: Allowed reports whether one more event
	// would be allowed, and Remaining is what would be left after it.
	Peek(ctx context.Context, key string) (Result, error)

	// Reset forgets key, giving it its full Limit again. Resetting an
	// unknown key is not an error.
	Reset(ctx context.Context, key string) error

	// Refund gives back one event that Allow counted for key. It is meant
	// for "reserve, then give back what was not spent": Allow before
	// expensive work, so that concurrent callers cannot all pass a check
	// made before any of them is counted, and Refund when the work turns
	// out not to count against the key (a login that succeeded, a request
	// another limiter refused).
	//
	// Refund moves the key's debt back by one event but never below
	// nothing: a refund can never give a key more than its full Limit,
	// however many times it is called, and the time a key has already
	// earned back is not given twice. Refunding an unknown key, or one
	// already back to its full Limit, is a no-op and not an error. Refund
	// does not check that the event was counted: call it once per allowed
	// event at most.
	//
	// A caller that gives back on a request's behalf may want
	// context.WithoutCancel, so that a client that goes away does not keep
	// the event counted.
	Refund(ctx context.Context, key string) error
}
