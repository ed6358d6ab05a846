package password

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// Hash derives an Argon2id key from pw with parameters p and a fresh salt
// read from random, and returns it as a PHC string
// ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>), the format argon2-cffi and
// the reference argon2 tool write and read. A nil random means crypto/rand.
//
// Hash costs p.Memory KiB and p.Iterations passes of CPU time; it takes no
// context because it does no I/O. A server bounds how many run at once
// with a [Hasher]. The password is hashed as given: no trimming, no
// normalisation, no length limit (a longer password adds one linear Blake2b
// pass; bound the input where it enters, as an HTTP body limit does). Safe
// for concurrent use when random is.
//
// Hash returns an error wrapping [ErrInvalidParams] when p fails
// [Params.Validate], and an error wrapping the reader's error when random
// cannot supply the salt.
func Hash(pw string, p Params, random io.Reader) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	if random == nil {
		random = rand.Reader
	}
	salt := make([]byte, p.SaltLength)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return encode(p, salt, key), nil
}

// Verify reports whether pw matches encoded, a PHC string made by [Hash] or
// by any other Argon2id implementation: any argon2id v=19 string whose
// parameters are within the caps verifies, whatever its parameters or key
// length. The comparison is constant-time.
//
// Verify returns nil on a match, [ErrMismatch] when the password differs,
// and an error wrapping [ErrMalformed] when encoded cannot be used (see
// [Decode]); such a string is refused before any memory proportional to
// its parameters is allocated. Verify never panics. Safe for concurrent use.
func Verify(pw, encoded string) error {
	d, err := decode(encoded)
	if err != nil {
		return err
	}
	return verify(pw, d)
}

func verify(pw string, d decoded) error {
	p := d.params
	key := argon2.IDKey([]byte(pw), d.salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	if subtle.ConstantTimeCompare(key, d.key) != 1 {
		return ErrMismatch
	}
	return nil
}

// Decode parses a PHC string and returns its parameters, with SaltLength and
// KeyLength set to the decoded lengths of its salt and key. It does no
// hashing.
//
// Decode returns an error wrapping [ErrMalformed] for anything but a
// canonical argon2id v=19 PHC string within the caps: a string longer than
// [MaxEncodedLength], another variant ($argon2i$, $argon2d$), another
// version, missing or extra fields, parameters out of order or out of
// range (see [MaxMemory] and the constants beside it), numbers with a sign
// or leading zeros, or salt and key that are not unpadded, canonical
// standard base64. The error text gives the reason and never quotes the
// string.
func Decode(encoded string) (Params, error) {
	d, err := decode(encoded)
	if err != nil {
		return Params{}, err
	}
	return d.params, nil
}

// NeedsRehash reports whether encoded should be replaced by a hash made with
// p: true when its memory, iterations, parallelism, salt length or key
// length differ from p's, or when it cannot be decoded. Call it after a
// successful [Verify], and store the new hash of the password just checked
// (the OWASP "upgrade the work factor on login" practice). A malformed
// string also reports true; [Verify] has already refused it.
func NeedsRehash(encoded string, p Params) bool {
	got, err := Decode(encoded)
	return err != nil || got != p
}
