package oauthlogin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadSeal is returned by [Open] for a value that [Seal] did not make
// with the key, that was changed, or whose time has passed.
var ErrBadSeal = errors.New("oauthlogin: sealed value is invalid or expired")

// sealContext keeps these MACs apart from any other use of the key.
const sealContext = "forgeauth oauth flow cookie v1\n"

// Seal returns payload with its expiry, signed with key (HMAC-SHA256): the
// value of the cookie that binds a flow to the browser that began it. The
// payload is readable by whoever holds the value; it is not encrypted.
func Seal(key []byte, payload string, exp time.Time) string {
	body := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + strconv.FormatInt(exp.Unix(), 10)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(key, body))
}

// Open checks a value made by [Seal] with key and returns its payload. A
// value with a wrong signature, in the wrong form, or expired at now is
// [ErrBadSeal].
func Open(key []byte, sealed string, now time.Time) (string, error) {
	i := strings.LastIndexByte(sealed, '.')
	if i < 0 {
		return "", ErrBadSeal
	}
	body, sig := sealed[:i], sealed[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, body)) {
		return "", ErrBadSeal
	}
	enc, expText, ok := strings.Cut(body, ".")
	if !ok {
		return "", ErrBadSeal
	}
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return "", ErrBadSeal
	}
	payload, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", ErrBadSeal
	}
	return string(payload), nil
}

func mac(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sealContext))
	m.Write([]byte(body))
	return m.Sum(nil)
}
