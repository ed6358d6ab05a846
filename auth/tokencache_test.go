package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/token"
)

// The cache is internal; its bound and expiry are tested from inside.
func TestTokenCacheBoundAndExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newTokenCache(100)
	for i := 0; i < 1000; i++ {
		c.put(fmt.Sprint("tok", i), token.Claims{ID: fmt.Sprint(i), ExpiresAt: now.Add(time.Minute)}, now)
		if len(c.entries) > 100 {
			t.Fatalf("cache holds %d entries, bound is 100", len(c.entries))
		}
	}
	c.put("last", token.Claims{ID: "last", ExpiresAt: now.Add(time.Minute)}, now)
	if got, ok := c.get("last", now); !ok || got.ID != "last" {
		t.Fatalf("get(last) = %v, %v; want the entry", got, ok)
	}
	if _, ok := c.get("last", now.Add(time.Minute)); ok {
		t.Fatal("an entry is returned at its expiry")
	}
	if _, ok := c.get("never stored", now); ok {
		t.Fatal("an unknown token is returned")
	}

	// Expired entries go first when the cache is full.
	c = newTokenCache(2)
	c.put("old", token.Claims{ExpiresAt: now.Add(time.Second)}, now)
	c.put("live", token.Claims{ExpiresAt: now.Add(time.Hour)}, now)
	c.put("new", token.Claims{ExpiresAt: now.Add(time.Hour)}, now.Add(time.Minute))
	if _, ok := c.entries["live"]; !ok {
		t.Fatal("a live entry was evicted while an expired one could go")
	}
	if _, ok := c.entries["old"]; ok {
		t.Fatal("the expired entry was kept")
	}
}
