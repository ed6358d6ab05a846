package totp_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xhkdf "golang.org/x/crypto/hkdf"

	"github.com/forgeauth/forgeauth/totp"
)

func TestSealOpenSecret(t *testing.T) {
	key := key32(7)
	secret, err := totp.GenerateSecret(nil)
	require.NoError(t, err)

	sealed, err := totp.SealSecret(key, "user-1", secret, nil)
	require.NoError(t, err)
	assert.Len(t, sealed, 1+12+totp.SecretSize+16)
	assert.Equal(t, byte(1), sealed[0], "version byte")
	assert.False(t, bytes.Contains(sealed, secret), "the secret is not in the clear")

	got, err := totp.OpenSecret(key, "user-1", sealed)
	require.NoError(t, err)
	assert.Equal(t, secret, got)

	again, err := totp.SealSecret(key, "user-1", secret, nil)
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "a fresh nonce each time")
}

func TestSealSecretInjectedNonce(t *testing.T) {
	nonce := []byte("twelve bytes")
	a, err := totp.SealSecret(key32(7), "u", rfcSecret, bytes.NewReader(nonce))
	require.NoError(t, err)
	b, err := totp.SealSecret(key32(7), "u", rfcSecret, iotest.OneByteReader(bytes.NewReader(nonce)))
	require.NoError(t, err)
	assert.Equal(t, a, b, "same key, nonce, user and secret")
	assert.Equal(t, nonce, a[1:13])
}

func TestOpenSecretRefuses(t *testing.T) {
	key := key32(7)
	sealed, err := totp.SealSecret(key, "user-1", rfcSecret, nil)
	require.NoError(t, err)

	with := func(f func([]byte) []byte) []byte {
		return f(bytes.Clone(sealed))
	}
	type openCase struct {
		name   string
		key    []byte
		userID string
		sealed []byte
	}
	tests := []openCase{
		{"wrong key", key32(8), "user-1", sealed},
		{"wrong user", key, "user-2", sealed},
		{"user with a suffix", key, "user-10", sealed},
		{"empty user", key, "", sealed},
		{"version 0", key, "user-1", with(func(b []byte) []byte { b[0] = 0; return b })},
		{"version 2", key, "user-1", with(func(b []byte) []byte { b[0] = 2; return b })},
		{"byte added", key, "user-1", append(bytes.Clone(sealed), 0)},
		{"nil", key, "user-1", nil},
	}
	for i := 1; i < len(sealed); i++ { // nonce, ciphertext and tag
		flipped := with(func(b []byte) []byte { b[i] ^= 1; return b })
		tests = append(tests, openCase{fmt.Sprintf("bit flipped in byte %d", i), key, "user-1", flipped})
	}
	for i := range len(sealed) {
		tests = append(tests, openCase{fmt.Sprintf("truncated to %d bytes", i), key, "user-1", sealed[:i]})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := totp.OpenSecret(tt.key, tt.userID, tt.sealed)
			require.ErrorIs(t, err, totp.ErrDecrypt)
			assert.Nil(t, got)
		})
	}
}

func TestSealKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		key := make([]byte, n)
		sealed, err := totp.SealSecret(key, "u", rfcSecret, nil)
		require.ErrorIs(t, err, totp.ErrInvalidKey, "%d bytes", n)
		assert.Nil(t, sealed)
		secret, err := totp.OpenSecret(key, "u", make([]byte, 49))
		require.ErrorIs(t, err, totp.ErrInvalidKey, "%d bytes", n)
		assert.Nil(t, secret)
	}
}

func TestSealSecretReaderFails(t *testing.T) {
	boom := errors.New("no entropy")
	tests := []struct {
		name    string
		r       io.Reader
		wantErr error
	}{
		{"error", iotest.ErrReader(boom), boom},
		{"short", bytes.NewReader(make([]byte, 11)), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := totp.SealSecret(key32(7), "u", rfcSecret, tt.r)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Nil(t, sealed)
			assert.True(t, strings.HasPrefix(err.Error(), "totp: "), err.Error())
		})
	}
}

func TestDeriveKey(t *testing.T) {
	jwtSecret := []byte("a JWT secret of at least 32 bytes, as token requires")
	k1, err := totp.DeriveKey(jwtSecret, totp.DefaultKeyInfo)
	require.NoError(t, err)
	assert.Len(t, k1, totp.KeySize)

	// The same as an independent HKDF-SHA256 (x/crypto), no salt.
	want := make([]byte, 32)
	_, err = io.ReadFull(xhkdf.New(sha256.New, jwtSecret, nil, []byte(totp.DefaultKeyInfo)), want)
	require.NoError(t, err)
	assert.Equal(t, want, k1)

	k2, err := totp.DeriveKey(jwtSecret, totp.DefaultKeyInfo)
	require.NoError(t, err)
	assert.Equal(t, k1, k2, "deterministic: every instance derives the same key")

	other, err := totp.DeriveKey(jwtSecret, "another purpose")
	require.NoError(t, err)
	assert.NotEqual(t, k1, other)
	assert.False(t, bytes.Contains(k1, jwtSecret[:8]))

	// A seed sealed under the derived key opens only under it.
	sealed, err := totp.SealSecret(k1, "u", rfcSecret, nil)
	require.NoError(t, err)
	_, err = totp.OpenSecret(other, "u", sealed)
	require.ErrorIs(t, err, totp.ErrDecrypt)
	got, err := totp.OpenSecret(k2, "u", sealed)
	require.NoError(t, err)
	assert.Equal(t, rfcSecret, got)
}

func TestDeriveKeyShortSecret(t *testing.T) {
	for _, n := range []int{0, 1, 31} {
		key, err := totp.DeriveKey(make([]byte, n), totp.DefaultKeyInfo)
		require.ErrorIs(t, err, totp.ErrInvalidKey, "%d bytes", n)
		assert.Nil(t, key)
	}
	key, err := totp.DeriveKey(make([]byte, 32), "")
	require.NoError(t, err)
	assert.Len(t, key, 32)
}
