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
		c.put(fmt.Sprint("tok", i), token.Claims{ID: fmt.Sprint(i), ExpiresAt: now.Add(time.Minute)})
		if n := len(c.cur) + len(c.old); n > 100 {
			t.Fatalf("cache holds %d entries, bound is 100", n)
		}
	}
	c.put("last", token.Claims{ID: "last", ExpiresAt: now.Add(time.Minute)})
	if got, ok := c.get("last", now); !ok || got.ID != "last" {
		t.Fatalf("get(last) = %v, %v; want the entry", got, ok)
	}
	if _, ok := c.get("last", now.Add(time.Minute)); ok {
		t.Fatal("an entry is returned at its expiry")
	}
	if _, ok := c.get("never stored", now); ok {
		t.Fatal("an unknown token is returned")
	}
	if _, ok := c.get("tok0", now); ok {
		t.Fatal("an entry two generations old is still returned")
	}
}

// An entry of the old generation is still found.
func TestTokenCacheOldGeneration(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newTokenCache(4)
	c.put("a", token.Claims{ID: "a", ExpiresAt: now.Add(time.Minute)})
	c.put("b", token.Claims{ID: "b", ExpiresAt: now.Add(time.Minute)})
	c.put("c", token.Claims{ID: "c", ExpiresAt: now.Add(time.Minute)}) // a, b become old
	if got, ok := c.get("a", now); !ok || got.ID != "a" {
		t.Fatalf("get(a) = %v, %v; want the entry from the old generation", got, ok)
	}
}

// A caller that changes the claims it got changes no other caller's.
func TestTokenCacheHandsOutCopies(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newTokenCache(4)
	c.put("a", token.Claims{ID: "a", ExpiresAt: now.Add(time.Minute), AMR: []string{"pwd"}, Custom: []byte(`{"r":1}`)})
	first, _ := c.get("a", now)
	first.AMR[0] = "mfa"
	first.Custom[6] = '2'
	second, _ := c.get("a", now)
	if second.AMR[0] != "pwd" || string(second.Custom) != `{"r":1}` {
		t.Fatalf("the second caller sees %v %s: the first one's changes", second.AMR, second.Custom)
	}
}
