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

	var di, df int64 // debt before this event
	if s.TAT >= now {
		di, df = s.TAT-now, min(s.Frac, r.Limit-1)
	}
	if di > r.Window || (di == r.Window && df > 0) {
		di, df = r.Window, 0
	}

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
