package totp

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GenerateSecret returns a new shared secret of [SecretSize] random bytes
// read from random; nil means crypto/rand. Store it encrypted
// ([SealSecret]); show it to the user once, as [EncodeSecret], [URI] and
// [QRDataURL].
//
// GenerateSecret returns an error wrapping the reader's error when random
// cannot supply the bytes (a short read is such an error, never a shorter
// secret). Safe for concurrent use when random is.
func GenerateSecret(random io.Reader) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	secret := make([]byte, SecretSize)
	if _, err := io.ReadFull(random, secret); err != nil {
		return nil, fmt.Errorf("totp: reading randomness: %w", err)
	}
	return secret, nil
}

// EncodeSecret returns secret in base32 (RFC 4648) without padding, the form
// a user types into an authenticator app and the secret parameter of
// [URI]: 32 characters for a secret of [SecretSize] bytes.
func EncodeSecret(secret []byte) string {
	return b32.EncodeToString(secret)
}

// URI returns the otpauth URI of secret in the Key URI Format that
// authenticator apps read from a QR code:
//
//	otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
//
// issuer names the service ("Example Inc") and account the user
// ("alice@example.com"). Both are percent-encoded as UTF-8, with every
// character but ASCII letters, digits, "-._~" and "@" escaped: a space is
// %20 (never "+"), a colon inside either is %3A, so the colon between
// them stays the only separator; "&", "=", "+" and "#" cannot cut the
// query short. The Key URI Format forbids colons inside the label and a few
// apps decode the label before they split it, so an issuer without a
// colon is the safer choice; the issuer parameter names it exactly either
// way.
//
// URI returns [ErrInvalidSecret] when secret is shorter than
// [MinSecretSize], and [ErrInvalidLabel] when issuer or account is empty,
// is not valid UTF-8, or holds a control character.
func URI(secret []byte, issuer, account string) (string, error) {
	if len(secret) < MinSecretSize {
		return "", ErrInvalidSecret
	}
	if !validLabel(issuer) || !validLabel(account) {
		return "", ErrInvalidLabel
	}
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	b.WriteString(escape(issuer))
	b.WriteByte(':')
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	b.WriteString("&issuer=")
	b.WriteString(escape(issuer))
	b.WriteString("&algorithm=SHA1&digits=")
	b.WriteString(strconv.Itoa(Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(int(Period.Seconds())))
	return b.String(), nil
}

func validLabel(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// escape percent-encodes every byte of s but the RFC 3986 unreserved
// characters and "@", which is legal in both the path and the query and
// keeps an email address readable. net/url's escapers keep ":" (PathEscape)
// or write a space as "+" (QueryEscape), which authenticator apps read as
// a plus sign.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '@' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}
