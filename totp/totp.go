package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"time"
)

// The parameters of RFC 6238 that every authenticator app understands,
// and the sizes of the shared secret. They are fixed: the otpauth URI
// announces them and no option changes them.
const (
	// Digits is the length of a code.
	Digits = 6
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Skew is how many steps before and after the current one [Validate]
	// accepts, for clocks that drift and users who type slowly.
	Skew = 1

	// SecretSize is the size in bytes of a secret from [GenerateSecret]:
	// 160 bits, the size RFC 4226 recommends for HMAC-SHA-1.
	SecretSize = 20
	// MinSecretSize is the smallest secret, in bytes, that [Code],
	// [Validate] and [URI] accept: the 128 bits RFC 4226 §4 requires.
	MinSecretSize = 16
)

// Code returns the code of secret for the time step that holds at: what an
// authenticator app shows at that moment. Servers call [Validate]; Code is
// for tests and tools that play the part of the app.
//
// Code returns [ErrInvalidSecret] when secret is shorter than
// [MinSecretSize], and [ErrInvalidCode] when at is before 1970, where RFC
// 6238 defines no time step (a zero [time.Time] is such a time). Safe for
// concurrent use.
func Code(secret []byte, at time.Time) (string, error) {
	if len(secret) < MinSecretSize {
		return "", ErrInvalidSecret
	}
	step := stepAt(at)
	if step < 0 {
		// No counter before 1970; an app cannot show one either.
		return "", ErrInvalidCode
	}
	var buf [Digits]byte
	hotp(hmac.New(sha1.New, secret), uint64(step), buf[:])
	return string(buf[:]), nil
}

// Validate checks code against secret at the time at, accepting the codes of
// the [Skew] steps on either side of at's step, and returns the time step
// (Unix time divided by [Period]) whose code matched.
//
// Validate does not remember anything, so by itself it accepts a code as
// often as it is submitted within its window of about 90 seconds. The
// caller refuses a replay by recording the step, atomically, only if it is
// greater than the last step the user spent (a compare-and-set in the
// store); on every instance that sees the same store a code then signs in
// once. When code happens to match two steps of the window (a
// one-in-a-million coincidence) Validate reports the earliest, so that a
// replay is never mistaken for a later step.
//
// A code is exactly [Digits] ASCII digits: no spaces, no signs, no other
// Unicode digits. The comparison runs in constant time and checks every
// step of the window whatever matches.
//
// Validate returns [ErrInvalidCode] when code is malformed or matches no
// step of the window, and [ErrInvalidSecret] when secret is shorter than
// [MinSecretSize]. Safe for concurrent use.
func Validate(secret []byte, code string, at time.Time) (step int64, err error) {
	if len(secret) < MinSecretSize {
		return 0, ErrInvalidSecret
	}
	if !wellFormed(code) {
		return 0, ErrInvalidCode
	}
	mac := hmac.New(sha1.New, secret)
	now := stepAt(at)
	matched, found := int64(0), 0
	var want [Digits]byte
	got := []byte(code)
	// From the latest step down, so that the earliest match is kept last.
	for s := now + Skew; s >= now-Skew; s-- {
		if s < 0 {
			continue
		}
		hotp(mac, uint64(s), want[:])
		eq := subtle.ConstantTimeCompare(want[:], got)
		mask := -int64(eq) // all ones on a match, zero otherwise
		matched = s&mask | matched&^mask
		found |= eq
	}
	if found != 1 {
		return 0, ErrInvalidCode
	}
	return matched, nil
}

// stepAt returns the RFC 6238 time step T = floor(Unix time / X) with
// T0 = 0 and X = [Period].
func stepAt(at time.Time) int64 {
	sec := at.Unix()
	p := int64(Period / time.Second)
	step := sec / p
	if sec%p < 0 {
		step-- // floor, not truncation, before 1970
	}
	return step
}

// hotp writes into out the len(out)-digit HOTP value (RFC 4226 §5.3) of the
// counter under the key mac was made with.
func hotp(mac hash.Hash, counter uint64, out []byte) {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Reset()
	mac.Write(msg[:])
	var sum [sha1.Size]byte
	h := mac.Sum(sum[:0])
	off := h[len(h)-1] & 0x0f
	v := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
}

// wellFormed reports whether code is exactly Digits ASCII digits.
func wellFormed(code string) bool {
	if len(code) != Digits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}
