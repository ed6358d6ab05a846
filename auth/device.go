package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"io"
	"strings"
	"time"
)

// Device tokens (OWASP's "device cookies"): a successful login hands the
// client a token naming the account and a random device id, signed with a
// key derived from Config.CodeKey. Presented at a later login of the same
// account, it proves the client signed in there before, so its attempts
// are limited per device rather than by the account-wide ceiling that
// failures from elsewhere may have reached. Nothing is stored: a device
// token ends by expiring, or when the code key changes.
//
// The format is "d1." base64url(expiry(8) | device id(16) | user id)
// "." base64url(HMAC-SHA256 of the part before).

const deviceTokenPrefix = "d1."

// maxDeviceToken bounds what deviceID parses.
const maxDeviceToken = 256

// newDeviceToken returns a device token for userID, or "" when device
// tokens are off or the randomness fails (the login still succeeds).
func (s *Service) newDeviceToken(userID string) string {
	if s.deviceKey == nil {
		return ""
	}
	var head [24]byte
	binary.BigEndian.PutUint64(head[:8], uint64(s.now().Add(s.deviceTTL).Unix()))
	if _, err := io.ReadFull(s.rand, head[8:]); err != nil {
		return ""
	}
	payload := deviceTokenPrefix + base64.RawURLEncoding.EncodeToString(append(head[:], userID...))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.deviceMAC(payload))
}

// deviceID checks a device token against the account userID and returns
// its device id. ok is false for an empty, malformed, forged or expired
// token and for a token of another account.
func (s *Service) deviceID(tok, userID string) (id string, ok bool) {
	if s.deviceKey == nil || userID == "" || len(tok) > maxDeviceToken || !strings.HasPrefix(tok, deviceTokenPrefix) {
		return "", false
	}
	payload, sig, found := strings.Cut(tok[len(deviceTokenPrefix):], ".")
	if !found {
		return "", false
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.deviceMAC(deviceTokenPrefix+payload)) {
		return "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil || len(raw) < 24 {
		return "", false
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	if !s.now().Before(expires) || string(raw[24:]) != userID {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(raw[8:24]), true
}

func (s *Service) deviceMAC(payload string) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
