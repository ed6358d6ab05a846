package totp_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/totp"
)

var recoveryFormat = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestGenerateRecoveryCodes(t *testing.T) {
	tests := []struct {
		n, want int
	}{
		{0, 10},
		{-1, 10},
		{1, 1},
		{16, 16},
	}
	for _, tt := range tests {
		codes, err := totp.GenerateRecoveryCodes(tt.n, nil)
		require.NoError(t, err)
		require.Len(t, codes, tt.want, "n=%d", tt.n)
		for _, c := range codes {
			assert.Regexp(t, recoveryFormat, c)
			norm, err := totp.NormalizeRecoveryCode(c)
			require.NoError(t, err)
			assert.Equal(t, c, norm, "handed out in canonical form")
		}
	}
}

// TestRecoveryCodeEntropy checks that the 60 bits of each code come from
// the reader: all zeros and all ones give the first and last symbols, a
// known value gives its 5-bit groups from the least significant, and a
// large sample from crypto/rand has no repeats and uses every symbol.
func TestRecoveryCodeEntropy(t *testing.T) {
	codes, err := totp.GenerateRecoveryCodes(3, bytes.NewReader(append(append(
		make([]byte, 8),
		bytes.Repeat([]byte{0xff}, 8)...),
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x41, // 1<<10 | 2<<5 | 1
	)))
	require.NoError(t, err)
	assert.Equal(t, []string{"0000-0000-0000", "ZZZZ-ZZZZ-ZZZZ", "1210-0000-0000"}, codes)

	// The top 4 bits of each 8 bytes are not used.
	high, err := totp.GenerateRecoveryCodes(1, bytes.NewReader([]byte{0xf0, 0, 0, 0, 0, 0, 0, 0}))
	require.NoError(t, err)
	assert.Equal(t, []string{"0000-0000-0000"}, high)
	top, err := totp.GenerateRecoveryCodes(1, bytes.NewReader([]byte{0x08, 0, 0, 0, 0, 0, 0, 0}))
	require.NoError(t, err)
	assert.Equal(t, []string{"0000-0000-000G"}, top, "bit 59 is the last symbol's top bit")

	const n = 10000
	many, err := totp.GenerateRecoveryCodes(n, nil)
	require.NoError(t, err)
	seen := map[string]bool{}
	symbols := map[rune]int{}
	for _, c := range many {
		assert.False(t, seen[c], "repeat %s", c)
		seen[c] = true
		for _, r := range strings.ReplaceAll(c, "-", "") {
			symbols[r]++
		}
	}
	assert.Len(t, symbols, 32, "every symbol of the alphabet appears")
	assert.Equal(t, 60, totp.RecoveryCodeBits)
}

func TestGenerateRecoveryCodesReaderFails(t *testing.T) {
	boom := errors.New("no entropy")
	tests := []struct {
		name    string
		r       io.Reader
		wantErr error
	}{
		{"error", iotest.ErrReader(boom), boom},
		{"short", bytes.NewReader(make([]byte, 79)), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codes, err := totp.GenerateRecoveryCodes(10, tt.r)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Nil(t, codes)
			assert.True(t, strings.HasPrefix(err.Error(), "totp: "), err.Error())
		})
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	const want = "7K3M-Q9TX-V2CD"
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"canonical", want, want, false},
		{"lower case", "7k3m-q9tx-v2cd", want, false},
		{"no dashes", "7K3MQ9TXV2CD", want, false},
		{"spaces", " 7K3M Q9TX V2CD ", want, false},
		{"dashes anywhere", "-7K-3MQ9--TXV2C-D-", want, false},
		{"O for 0", "OOOO-oooo-0000", "0000-0000-0000", false},
		{"I and L for 1", "IiLl-1111-ilIL", "1111-1111-1111", false},
		{"empty", "", "", true},
		{"dashes only", "---", "", true},
		{"eleven", "7K3M-Q9TX-V2C", "", true},
		{"thirteen", "7K3M-Q9TX-V2CDE", "", true},
		{"U is not a symbol", "7K3M-Q9TX-V2CU", "", true},
		{"punctuation", "7K3M.Q9TX.V2CD", "", true},
		{"tab", "7K3M\tQ9TX-V2CD", "", true},
		{"underscore", "7K3M_Q9TX_V2CD", "", true},
		{"fullwidth", "７K3M-Q9TX-V2CD", "", true},
		{"dotless i", "ıK3M-Q9TX-V2CD", "", true},
		{"Kelvin sign", "7\u212a3M-Q9TX-V2CD", "", true},
		{"invalid UTF-8", "7K3M-Q9TX-V2C\xff", "", true},
		{"NUL", "7K3M-Q9TX-V2CD\x00", "", true},
		{"64 bytes", strings.Repeat(" ", 50) + "7K3MQ9TXV2CD" + "  ", want, false},
		{"65 bytes", strings.Repeat(" ", 51) + "7K3MQ9TXV2CD" + "  ", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := totp.NormalizeRecoveryCode(tt.in)
			if tt.wantErr {
				require.ErrorIs(t, err, totp.ErrInvalidCode)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRecoveryCodeDigest(t *testing.T) {
	key := key32(3)
	d, err := totp.RecoveryCodeDigest(key, "user-1", "7K3M-Q9TX-V2CD")
	require.NoError(t, err)

	// HMAC-SHA256 under key of purpose, user and canonical code, each
	// followed by a NUL, in lower-case hex.
	m := hmac.New(sha256.New, key)
	m.Write([]byte("forgeauth/totp recovery code v1\x00user-1\x007K3M-Q9TX-V2CD\x00"))
	assert.Equal(t, hex.EncodeToString(m.Sum(nil)), d)

	typed, err := totp.RecoveryCodeDigest(key, "user-1", " 7k3m q9tx v2cd")
	require.NoError(t, err)
	assert.Equal(t, d, typed, "what the user types digests like the code handed out")

	other := []struct {
		name       string
		key        []byte
		user, code string
	}{
		{"another user", key, "user-2", "7K3M-Q9TX-V2CD"},
		{"another key", key32(4), "user-1", "7K3M-Q9TX-V2CD"},
		{"another code", key, "user-1", "7K3M-Q9TX-V2CE"},
	}
	for _, o := range other {
		got, err := totp.RecoveryCodeDigest(o.key, o.user, o.code)
		require.NoError(t, err)
		assert.NotEqual(t, d, got, o.name)
	}

	long, err := totp.RecoveryCodeDigest(make([]byte, 64), "user-1", "7K3M-Q9TX-V2CD")
	require.NoError(t, err, "a longer key is fine")
	assert.Len(t, long, 64)
}

func TestRecoveryCodeDigestErrors(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		code    string
		wantErr error
	}{
		{"nil key", nil, "7K3M-Q9TX-V2CD", totp.ErrInvalidKey},
		{"31-byte key", make([]byte, 31), "7K3M-Q9TX-V2CD", totp.ErrInvalidKey},
		{"malformed code", key32(3), "7K3M-Q9TX-V2C", totp.ErrInvalidCode},
		{"empty code", key32(3), "", totp.ErrInvalidCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := totp.RecoveryCodeDigest(tt.key, "user-1", tt.code)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Empty(t, d)
		})
	}
}
