package memstore_test

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

// rotator rotates the refresh tokens of one family of one user, one after
// another; IDs and digests are made from the family and a counter.
type rotator struct {
	s      *memstore.Store
	family string
	prev   string // digest of the active token
	next   int
}

// newRotator creates the family's first token. It may run on a goroutine of
// b.RunParallel, so it reports failure with Error, never Fatal.
func newRotator(b *testing.B, s *memstore.Store, family string) *rotator {
	r := &rotator{s: s, family: family}
	first := r.token()
	if err := s.CreateSession(b.Context(), first, ""); err != nil {
		b.Error(err)
	}
	r.prev = first.TokenHash
	return r
}

func (r *rotator) token() store.RefreshToken {
	id := r.family + "/" + strconv.Itoa(r.next)
	r.next++
	return store.RefreshToken{
		ID: id, UserID: "u", FamilyID: r.family, TokenHash: "h/" + id,
		ExpiresAt: benchTime.Add(24 * time.Hour), SessionExpiresAt: benchTime.Add(30 * 24 * time.Hour),
		CreatedAt: benchTime, LastUsedAt: benchTime,
	}
}

func (r *rotator) rotate(b *testing.B) {
	next := r.token()
	if err := r.s.RotateRefreshToken(b.Context(), r.prev, next, benchTime); err != nil {
		b.Error(err)
	}
	r.prev = next.TokenHash
}

var benchTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newBenchStore(b *testing.B) *memstore.Store {
	b.Helper()
	s := memstore.New()
	if err := s.CreateUser(b.Context(), store.User{ID: "u", Username: "u", Email: "u@example.com", IsActive: true}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkRotate measures one refresh-token rotation; the store keeps every
// rotated token, as it would until DeleteExpired. Two of the allocations
// per op are the benchmark's own ID and digest strings.
func BenchmarkRotate(b *testing.B) {
	s := newBenchStore(b)
	r := newRotator(b, s, "f")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.rotate(b)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkRotateParallel measures rotations from 32 goroutines at once,
// each rotating its own session, all through the one lock.
func BenchmarkRotateParallel(b *testing.B) {
	const goroutines = 32
	s := newBenchStore(b)
	var families atomic.Int64
	b.SetParallelism((goroutines + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := newRotator(b, s, "f"+strconv.FormatInt(families.Add(1), 10))
		for pb.Next() {
			r.rotate(b)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
