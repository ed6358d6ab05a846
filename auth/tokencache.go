package auth

import (
	"bytes"
	"slices"
	"sync"
	"time"

	"github.com/forgeauth/forgeauth/token"
)

// defaultTokenCacheSize bounds the verified-token cache: at about 400 bytes
// an entry, 10,000 entries hold some 4 MB.
const defaultTokenCacheSize = 10_000

// tokenCache remembers access tokens that passed full verification, keyed
// by the exact token string, until they expire. A hit skips the signature
// and claim checks (the cost of a JWT parse) but nothing else:
// [Service.Authenticate] still loads the user and applies the revocation
// moment. It is safe for concurrent use.
//
// It keeps two generations of at most max/2 entries each: when the current
// one is full it becomes the old one and the previous old one is dropped
// whole. Every operation is O(1) and memory is bounded; a token dropped
// with its generation is simply verified again on its next use.
type tokenCache struct {
	mu       sync.RWMutex
	half     int
	cur, old map[string]token.Claims
}

func newTokenCache(size int) *tokenCache {
	half := max(size/2, 1)
	return &tokenCache{half: half, cur: make(map[string]token.Claims, min(half, 1024))}
}

// get returns the claims of a cached token that has not expired at now.
func (c *tokenCache) get(tok string, now time.Time) (token.Claims, bool) {
	c.mu.RLock()
	claims, ok := c.cur[tok]
	if !ok {
		claims, ok = c.old[tok]
	}
	c.mu.RUnlock()
	if !ok || !now.Before(claims.ExpiresAt) {
		return token.Claims{}, false
	}
	// Every caller gets slices of its own: a handler that changes its
	// claims must not change another request's.
	claims.AMR = slices.Clone(claims.AMR)
	claims.Custom = bytes.Clone(claims.Custom)
	return claims, true
}

// put remembers a verified token.
func (c *tokenCache) put(tok string, claims token.Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[string]token.Claims, min(c.half, 1024))
	}
	c.cur[tok] = claims
}
