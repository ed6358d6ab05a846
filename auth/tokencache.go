package auth

import (
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
type tokenCache struct {
	mu      sync.RWMutex
	max     int
	entries map[string]token.Claims
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[string]token.Claims, min(max, 1024))}
}

// get returns the claims of a cached token that has not expired at now.
func (c *tokenCache) get(tok string, now time.Time) (token.Claims, bool) {
	c.mu.RLock()
	claims, ok := c.entries[tok]
	c.mu.RUnlock()
	if !ok || !now.Before(claims.ExpiresAt) {
		return token.Claims{}, false
	}
	return claims, true
}

// put remembers a verified token. When the cache is full it first drops
// expired entries, then arbitrary ones (Go's map order), so memory stays
// bounded whatever the traffic.
func (c *tokenCache) put(tok string, claims token.Claims, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, v := range c.entries {
			if !now.Before(v.ExpiresAt) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[tok] = claims
}
