package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
)

const (
	// RecoveryCodeCount is how many codes [GenerateRecoveryCodes] makes
	// when asked for none in particular.
	RecoveryCodeCount = 10
	// RecoveryCodeBits is the entropy of one recovery code: 12 characters
	// of a 32-symbol alphabet, 5 bits each, drawn uniformly.
	RecoveryCodeBits = 60
)

// recoveryAlphabet is Crockford's base32: digits and capitals without I, L,
// O and U, so no two symbols look alike and no word forms by accident.
const recoveryAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

const (
	groups     = 3
	groupLen   = 4
	codeChars  = groups * groupLen                 // 12
	codeLength = codeChars + groups - 1            // 14, with the dashes
	maxInput   = 64                                // longer input is refused before any work
	digestTag  = "forgeauth/totp recovery code v1" // domain separation
)

// GenerateRecoveryCodes returns n recovery codes (n <= 0 means
// [RecoveryCodeCount]) read from random; nil means crypto/rand. Each is
// three groups of four characters of Crockford's base32, upper case, in
// the form "7K3M-Q9TX-V2CD", and carries [RecoveryCodeBits] bits of
// entropy. Show them to the user once and store only their
// [RecoveryCodeDigest].
//
// The codes are not checked for duplicates: two equal codes among ten
// have a chance of about 2^-54.
//
// GenerateRecoveryCodes returns an error wrapping the reader's error when
// random cannot supply 8 bytes per code. Safe for concurrent use when
// random is.
func GenerateRecoveryCodes(n int, random io.Reader) ([]string, error) {
	if n <= 0 {
		n = RecoveryCodeCount
	}
	if random == nil {
		random = rand.Reader
	}
	buf := make([]byte, 8*n)
	if _, err := io.ReadFull(random, buf); err != nil {
		return nil, fmt.Errorf("totp: reading randomness: %w", err)
	}
	codes := make([]string, n)
	for i := range codes {
		// 32 symbols are exactly 5 bits: 60 bits of the 64 make 12
		// characters with no bias.
		v := binary.BigEndian.Uint64(buf[8*i:])
		var c [codeLength]byte
		for j, k := 0, 0; j < codeChars; j++ {
			if j > 0 && j%groupLen == 0 {
				c[k] = '-'
				k++
			}
			c[k] = recoveryAlphabet[v&31]
			v >>= 5
			k++
		}
		codes[i] = string(c[:])
	}
	clear(buf)
	return codes, nil
}

// NormalizeRecoveryCode returns what a user typed as the canonical form of a
// recovery code ("7K3M-Q9TX-V2CD"), so it can be compared with or digested
// like the code handed out. It ignores case, spaces and dashes anywhere,
// and reads O as 0 and I or L as 1, the letters Crockford's base32 leaves
// out because they look like those digits.
//
// NormalizeRecoveryCode returns [ErrInvalidCode] when the input is longer
// than 64 bytes, holds any other character (any non-ASCII one included),
// or does not come to 12 characters.
func NormalizeRecoveryCode(s string) (string, error) {
	if len(s) > maxInput {
		return "", ErrInvalidCode
	}
	var c [codeLength]byte
	n, k := 0, 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '-':
			continue
		case 'a' <= ch && ch <= 'z':
			ch -= 'a' - 'A'
		}
		switch ch {
		case 'O':
			ch = '0'
		case 'I', 'L':
			ch = '1'
		}
		if !isRecoverySymbol(ch) || n == codeChars {
			return "", ErrInvalidCode
		}
		if n > 0 && n%groupLen == 0 {
			c[k] = '-'
			k++
		}
		c[k] = ch
		k++
		n++
	}
	if n != codeChars {
		return "", ErrInvalidCode
	}
	return string(c[:]), nil
}

func isRecoverySymbol(ch byte) bool {
	return '0' <= ch && ch <= '9' || 'A' <= ch && ch <= 'Z' && ch != 'I' && ch != 'L' && ch != 'O' && ch != 'U'
}

// RecoveryCodeDigest returns the keyed digest of a recovery code for the
// user with userID: HMAC-SHA256 under key over a purpose label, the user
// and the normalized code ([NormalizeRecoveryCode]), in lower-case hex. A
// store keeps only this digest; a copy of the table reveals no code and a
// digest moved to another user's row matches nothing. Digest the code the
// user typed and compare with the stored digests (a store lookup by
// (user, digest) is fine: the digest leaks nothing about the code).
//
// key is a server secret of at least [KeySize] bytes, the same on every
// instance; [DeriveKey] can make one from another secret.
//
// RecoveryCodeDigest returns [ErrInvalidKey] when key is shorter than
// [KeySize], and [ErrInvalidCode] when code is not a recovery code.
// Safe for concurrent use.
func RecoveryCodeDigest(key []byte, userID, code string) (string, error) {
	if len(key) < KeySize {
		return "", ErrInvalidKey
	}
	canonical, err := NormalizeRecoveryCode(code)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	for _, part := range [...]string{digestTag, userID, canonical} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)), nil
}
