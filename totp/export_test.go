package totp

import (
	"crypto/hmac"
	"crypto/sha1"
)

// HOTP gives the external tests the RFC 4226 core with any number of
// digits, for the 8-digit vectors of RFC 6238 Appendix B and the full
// 10-digit values of RFC 4226 Appendix D.
func HOTP(secret []byte, counter uint64, digits int) string {
	out := make([]byte, digits)
	hotp(hmac.New(sha1.New, secret), counter, out)
	return string(out)
}
