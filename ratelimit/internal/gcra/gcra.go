package gcra

import "math/bits"

// Rule allows Limit events per Window, both positive, Window in time units.
type Rule struct {
	Window int64
	Limit  int64
}

// State is a theoretical arrival time: TAT + Frac/Limit units. Frac is in
// [0, Limit). A key never seen, or one whose TAT has passed, is State{TAT: now}.
type State struct {
	TAT  int64
	Frac int64
}

// Decision is the outcome of one event at one instant.
type Decision struct {
	Allowed bool
	// Next is the state to keep when Allowed (the event counted).
	Next State
	// TTL is how many units from now Next stays meaningful; after that the
	// key may be forgotten. Zero when denied.
	TTL int64
	// Remaining is how many more events would be allowed at the same
	// instant after this one. Zero when denied.
	Remaining int64
	// RetryAfter is how many units until one more event would be allowed,
	// rounded up; at least 1 when denied, zero when allowed.
	RetryAfter int64
}

// Decide decides one event at now on state s. It is a pure function.
//
// The debt (TAT - now, what the key still owes) is clamped to one Window: it
// can exceed it only when the clock went backwards, and the clamp keeps such
// a jump from blocking a key for longer than a full window, and keeps
// RetryAfter within the emission interval.
func Decide(r Rule, s State, now int64) Decision {
	q, rem := r.Window/r.Limit, r.Window%r.Limit // emission interval q + rem/Limit

	di, df := debt(r, s, now) // debt before this event

	ni, nf := di+q, df+rem // debt after this event
	if nf >= r.Limit {
		ni, nf = ni+1, nf-r.Limit
	}

	d := Outcome(r, ni, nf)
	if d.Allowed {
		d.Next = State{TAT: now + ni, Frac: nf}
	}
	return d
}

// Refund gives back one event on state s at now: it moves the theoretical
// arrival time back by one emission interval, but never before now, so a
// key never gets more than its full Limit. The debt is clamped to one
// Window first, as in [Decide]. It returns the state to keep and true while
// the key still owes something, or the zero State and false when the key is
// back to a full Limit and may be forgotten (also when it owed nothing). It
// is a pure function.
func Refund(r Rule, s State, now int64) (State, bool) {
	q, rem := r.Window/r.Limit, r.Window%r.Limit
	di, df := debt(r, s, now)
	ni, nf := di-q, df-rem
	if nf < 0 {
		ni, nf = ni-1, nf+r.Limit
	}
	if ni < 0 || (ni == 0 && nf == 0) {
		return State{}, false
	}
	return State{TAT: now + ni, Frac: nf}, true
}

// debt returns what a key in state s still owes at now, di + df/Limit
// units with df in [0, Limit): zero once its arrival time has passed, and
// clamped to one Window (see [Decide]).
func debt(r Rule, s State, now int64) (di, df int64) {
	if s.TAT >= now {
		di, df = s.TAT-now, min(s.Frac, r.Limit-1)
	}
	if di > r.Window || (di == r.Window && df > 0) {
		di, df = r.Window, 0
	}
	return di, df
}

// Outcome is the decision for an event that brings the debt to ni + nf/Limit
// units (nf in [0, Limit)), without Next: the Redis script computes the debt
// and stores the state itself, and its caller derives the rest here.
func Outcome(r Rule, ni, nf int64) Decision {
	if ni > r.Window || (ni == r.Window && nf > 0) {
		retry := ni - r.Window
		if nf > 0 {
			retry++
		}
		return Decision{RetryAfter: retry}
	}
	ttl := ni
	if nf > 0 {
		ttl++
	}
	return Decision{Allowed: true, TTL: ttl, Remaining: remaining(r, ni, nf)}
}

// remaining returns how many emission intervals fit in Window minus the debt
// di + df/Limit (which must not exceed Window): floor((Window*Limit -
// (di*Limit + df)) / Window), computed in 128 bits.
func remaining(r Rule, di, df int64) int64 {
	hi, lo := bits.Mul64(uint64(r.Window-di), uint64(r.Limit))
	lo, borrow := bits.Sub64(lo, uint64(df), 0)
	hi -= borrow
	quo, _ := bits.Div64(hi, lo, uint64(r.Window))
	return int64(quo)
}
