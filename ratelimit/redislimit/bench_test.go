package redislimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/ratelimit/redislimit"
)

func benchLimiter(b *testing.B) *redislimit.Limiter {
	b.Helper()
	c := redisClient(b)
	return newLimiter(b, redislimit.Config{
		Client: c,
		Rule:   ratelimit.Rule{Limit: 60, Window: time.Minute},
		Prefix: testPrefix(b, c),
	})
}

// BenchmarkAllow is one round trip after another on one key.
func BenchmarkAllow(b *testing.B) {
	l := benchLimiter(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, "203.0.113.7"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllowParallel spreads concurrent calls over 1,000 keys.
func BenchmarkAllowParallel(b *testing.B) {
	l := benchLimiter(b)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "198.51.100." + strconv.Itoa(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := l.Allow(ctx, keys[i%len(keys)]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}
