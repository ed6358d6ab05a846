package password

import (
	"fmt"
	"strconv"
)

// The caps on Argon2id parameters. [Params.Validate] enforces them on the
// parameters used for new hashes, and [Decode] enforces them on stored
// hashes before allocating anything proportional to the parameters, so a
// hostile or corrupt row costs at most MaxMemory KiB to verify.
const (
	// MaxMemory is the largest memory cost, in KiB (256 MiB). The lower
	// bound is 8 KiB per lane (8 × Parallelism), as Argon2 requires.
	MaxMemory = 262144
	// MinIterations and MaxIterations bound the time cost.
	MinIterations = 1
	MaxIterations = 10
	// MinParallelism and MaxParallelism bound the number of lanes.
	MinParallelism = 1
	MaxParallelism = 16
	// MinSaltLength and MaxSaltLength bound the salt, in bytes. Eight bytes
	// is the Argon2 minimum (RFC 9106 recommends 16, the default).
	MinSaltLength = 8
	MaxSaltLength = 64
	// MinKeyLength and MaxKeyLength bound the derived key, in bytes.
	// Sixteen bytes (128 bits) is the shortest output any common Argon2
	// library writes by default (argon2-cffi before 21.2 wrote 16); a
	// shorter key is refused as too weak to be a real password hash.
	MinKeyLength = 16
	MaxKeyLength = 128
	// MaxEncodedLength bounds the length of a PHC string in bytes. The
	// longest string within the caps is under 300 bytes; anything longer is
	// refused before it is parsed.
	MaxEncodedLength = 512
)

// Params are Argon2id parameters. The zero value is not valid; start from
// [DefaultParams] or [HighParams]. Params is a plain value, safe to copy and
// to share between goroutines.
type Params struct {
	Memory      uint32 // memory cost in KiB
	Iterations  uint32 // time cost (passes over memory)
	Parallelism uint8  // lanes
	SaltLength  uint32 // bytes of random salt
	KeyLength   uint32 // bytes of derived key
}

// DefaultParams returns the OWASP Password Storage Cheat Sheet parameters:
// m=19456 KiB (19 MiB), t=2, p=1, a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// HighParams returns the RFC 9106 second recommended option (§4, the
// "low memory" profile, also the default of argon2-cffi since 21.2):
// m=65536 KiB (64 MiB), t=3, p=4, a 16-byte salt and a 32-byte key. It costs
// about three times the time and memory of [DefaultParams]; budget
// [HasherConfig.MaxConcurrent] × 64 MiB of memory.
func HighParams() Params {
	return Params{Memory: 65536, Iterations: 3, Parallelism: 4, SaltLength: 16, KeyLength: 32}
}

// Cost returns the work of one hash with p: Memory × Iterations, the number
// of 1 KiB Argon2 blocks it computes. Salt and key lengths cost next to
// nothing, and Parallelism splits the work over lanes without changing it
// (on a server whose hashing slots keep every core busy, time follows the
// work). Cost is what a login compares to keep its timing even: a stored
// hash with older, cheaper parameters answers a wrong password sooner than
// the dummy hash verified for an unknown user, so
//
//	stored, err := password.Decode(encoded)
//	if err == nil && stored.Cost() < hasher.Params().Cost() {
//		// verifying encoded is cheaper than a current hash: pad the
//		// answer, and rehash after the next successful login
//	}
func (p Params) Cost() uint64 {
	return uint64(p.Memory) * uint64(p.Iterations)
}

// Validate reports whether p is within the caps (see [MaxMemory] and the
// constants beside it). It returns nil or an error wrapping
// [ErrInvalidParams] that names the first field out of range. Validate checks
// bounds, not strength: Params{Memory: 64, Iterations: 1, Parallelism: 1,
// SaltLength: 16, KeyLength: 32} is valid and suits tests.
func (p Params) Validate() error {
	if reason := checkParams(uint64(p.Memory), uint64(p.Iterations), uint64(p.Parallelism), int(p.SaltLength), int(p.KeyLength)); reason != "" {
		return fmt.Errorf("%w: %s", ErrInvalidParams, reason)
	}
	return nil
}

// checkParams returns "" when the parameters are within the caps, else a
// short reason that quotes the offending number (parameters are not
// secret). The arguments are wide so that a parsed value that does not fit
// the field type is still reported rather than truncated.
func checkParams(m, t, p uint64, saltLen, keyLen int) string {
	switch {
	case p < MinParallelism || p > MaxParallelism:
		return "parallelism " + strconv.FormatUint(p, 10) + " outside 1..16"
	case m > MaxMemory:
		return "memory " + strconv.FormatUint(m, 10) + " KiB over the cap of 262144 KiB"
	case m < 8*p:
		return "memory " + strconv.FormatUint(m, 10) + " KiB under 8 KiB per lane"
	case t < MinIterations || t > MaxIterations:
		return "iterations " + strconv.FormatUint(t, 10) + " outside 1..10"
	case saltLen < MinSaltLength || saltLen > MaxSaltLength:
		return "salt length " + strconv.Itoa(saltLen) + " bytes outside 8..64"
	case keyLen < MinKeyLength || keyLen > MaxKeyLength:
		return "key length " + strconv.Itoa(keyLen) + " bytes outside 16..128"
	}
	return ""
}
