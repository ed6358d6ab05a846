package totp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
)

const (
	// KeySize is the size in bytes of the key of [SealSecret] and
	// [OpenSecret] (AES-256), of the key from [DeriveKey], and the least
	// size of the key of [RecoveryCodeDigest].
	KeySize = 32

	// DefaultKeyInfo is the info string to pass to [DeriveKey] for the key
	// that seals TOTP secrets. Every instance must derive with the same
	// info, and a new info string means a new key.
	DefaultKeyInfo = "forgeauth/totp secret encryption v1"
)

// sealVersion is the first byte of a sealed secret: AES-256-GCM, a 12-byte
// random nonce, the version byte and the user id as additional data.
const sealVersion byte = 1

// SealSecret encrypts secret for the user with userID under key with
// AES-256-GCM and returns
//
//	version (1 byte) || nonce (12 bytes) || ciphertext and tag (len(secret)+16 bytes)
//
// 49 bytes for a secret of [SecretSize]. The version byte and the user id
// are authenticated as additional data, so a sealed secret copied to
// another user's row does not open for that user. The nonce is read from
// random; nil means crypto/rand. Random nonces are safe far beyond the
// number of enrolments any service makes (NIST SP 800-38D allows 2^32
// messages under one key).
//
// SealSecret returns [ErrInvalidKey] when key is not [KeySize] bytes, and an
// error wrapping the reader's error when random cannot supply the nonce.
// Safe for concurrent use when random is.
func SealSecret(key []byte, userID string, secret []byte, random io.Reader) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(secret)+aead.Overhead())
	out[0] = sealVersion
	nonce := out[1:]
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, fmt.Errorf("totp: reading randomness: %w", err)
	}
	return aead.Seal(out, nonce, secret, additionalData(userID)), nil
}

// OpenSecret decrypts a value made by [SealSecret] for the same user under
// the same key and returns the secret.
//
// OpenSecret returns [ErrInvalidKey] when key is not [KeySize] bytes, and
// [ErrDecrypt] when sealed does not open for userID under key: another
// key, another user, any altered, missing or added byte, or a version
// byte other than 1. Safe for concurrent use.
func OpenSecret(key []byte, userID string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	n := aead.NonceSize()
	if len(sealed) < 1+n+aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrDecrypt
	}
	secret, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], additionalData(userID))
	if err != nil {
		return nil, ErrDecrypt
	}
	return secret, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, ErrInvalidKey
	}
	block, err := aes.NewCipher(key) // fails only on a size, checked above
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func additionalData(userID string) []byte {
	return append([]byte{sealVersion}, userID...)
}

// DeriveKey derives a [KeySize]-byte key from secret with HKDF-SHA256 (RFC
// 5869), without salt, with info naming the purpose: [DefaultKeyInfo] for
// the key of [SealSecret]. It lets a service that configures no key of
// its own derive one from a secret it already holds (the HS256 JWT
// secret), while the two keys stay independent: knowing the derived key
// tells nothing about secret. The same secret and info always give the
// same key, on every instance.
//
// DeriveKey returns [ErrInvalidKey] when secret is shorter than [KeySize]
// bytes: HKDF spreads entropy, it does not add any. Safe for concurrent
// use.
func DeriveKey(secret []byte, info string) ([]byte, error) {
	if len(secret) < KeySize {
		return nil, ErrInvalidKey
	}
	key, err := hkdf.Key(sha256.New, secret, nil, info, KeySize)
	if err != nil {
		return nil, fmt.Errorf("totp: deriving key: %w", err)
	}
	return key, nil
}
