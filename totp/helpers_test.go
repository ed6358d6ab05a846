package totp_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/totp"
)

// rfcSecret is the SHA-1 seed of RFC 4226 Appendix D and RFC 6238
// Appendix B.
var rfcSecret = []byte("12345678901234567890")

// stepTime returns the first instant of a time step.
func stepTime(step int64) time.Time {
	return time.Unix(step*int64(totp.Period/time.Second), 0)
}

// mustCode returns the code of secret at at or fails the test.
func mustCode(tb testing.TB, secret []byte, at time.Time) string {
	tb.Helper()
	code, err := totp.Code(secret, at)
	if err != nil {
		tb.Fatalf("Code: %v", err)
	}
	return code
}

// key32 returns a KeySize-byte key filled with b.
func key32(b byte) []byte {
	return bytes.Repeat([]byte{b}, totp.KeySize)
}
