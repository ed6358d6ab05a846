package ratelimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/ratelimit"
)

func benchMemory(b *testing.B, maxKeys int) *ratelimit.Memory {
	b.Helper()
	m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rule:    ratelimit.Rule{Limit: 60, Window: time.Minute},
		MaxKeys: maxKeys,
	})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkMemoryAllow is one hot key: after its burst, every event is a
// denial, which costs the same as an allowed event on a known key.
func BenchmarkMemoryAllow(b *testing.B) {
	m := benchMemory(b, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Allow(ctx, "203.0.113.7"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryAllowParallel spreads events over 10,000 keys from every
// processor.
func BenchmarkMemoryAllowParallel(b *testing.B) {
	m := benchMemory(b, 0)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "198.51.100." + strconv.Itoa(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Allow(ctx, keys[i%len(keys)]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}

// BenchmarkMemoryAllowNewKeys is a flood of distinct keys into a full
// limiter: every event inserts a key and evicts another.
func BenchmarkMemoryAllowNewKeys(b *testing.B) {
	const maxKeys = 10_000
	m := benchMemory(b, maxKeys)
	ctx := context.Background()
	keys := make([]string, 4*maxKeys)
	for i := range keys {
		keys[i] = "2001:db8::" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.Allow(ctx, keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
