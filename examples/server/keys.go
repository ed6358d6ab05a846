package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/forgeauth/forgeauth/auth"
)

// keyNeeds tells what run must make up for development: a random
// JWT_SECRET_KEY when an HMAC algorithm has none, or, with an asymmetric
// algorithm (which never uses a secret), a random AUTH_CODE_KEY when
// Complete mode needs one and none is set. A key file is never made up:
// without JWT_PRIVATE_KEY_FILE an asymmetric algorithm is an error.
func keyNeeds(getenv func(string) string) (secret, codeKey bool) {
	if !auth.Asymmetric(strings.TrimSpace(getenv("JWT_ALGORITHM"))) {
		return getenv("JWT_SECRET_KEY") == "", false
	}
	mode := strings.ToLower(strings.TrimSpace(getenv("AUTH_MODE")))
	complete := mode == "" || mode == string(auth.ModeComplete)
	return false, complete && strings.TrimSpace(getenv("AUTH_CODE_KEY")) == ""
}

// withRandomCodeKey returns getenv with AUTH_CODE_KEY set to 32 random
// bytes, in hex.
func withRandomCodeKey(getenv func(string) string) (func(string) string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("AUTH_CODE_KEY: making a random key: %w", err)
	}
	key := hex.EncodeToString(b)
	return func(name string) string {
		if name == "AUTH_CODE_KEY" {
			return key
		}
		return getenv(name)
	}, nil
}
