package sqlstore_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// BenchmarkRotate measures one client rotating one session's refresh token
// again and again. The PostgreSQL run commits durably (the server's own
// synchronous_commit), as production would.
func BenchmarkRotate(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) {
		s, _ := newSQLite(b, true)
		benchRotate(b, s)
	})
	b.Run("Postgres", func(b *testing.B) {
		db := openPostgres(b, postgresSchema(b), 4)
		benchRotate(b, newStore(b, db, sqlstore.Postgres, true))
	})
}

// BenchmarkRotateParallel measures 32 clients (16 per GOMAXPROCS at 2), each
// rotating its own session of its own user, and reports rotations per
// second.
func BenchmarkRotateParallel(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) {
		s, _ := newSQLite(b, true)
		benchRotateParallel(b, s)
	})
	b.Run("Postgres", func(b *testing.B) {
		db := openPostgres(b, postgresSchema(b), 40)
		benchRotateParallel(b, newStore(b, db, sqlstore.Postgres, true))
	})
}

func benchRotateParallel(b *testing.B, s *sqlstore.Store) {
	var clients atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ch := newChain(b, s, fmt.Sprint("client", clients.Add(1)))
		for pb.Next() {
			ch.rotate(b)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}

func benchRotate(b *testing.B, s *sqlstore.Store) {
	ch := newChain(b, s, "client")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ch.rotate(b)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}

// chain is one session whose current token is rotated into the next.
type chain struct {
	s    *sqlstore.Store
	user store.User
	cur  store.RefreshToken
	n    int
}

func newChain(tb testing.TB, s *sqlstore.Store, name string) *chain {
	tb.Helper()
	ctx := context.Background()
	u := user(name)
	require.NoError(tb, s.CreateUser(ctx, u))
	first := token(u, name, name+"-0")
	first.ExpiresAt = t0.Add(24 * 365 * time.Hour)
	first.SessionExpiresAt = first.ExpiresAt
	require.NoError(tb, s.CreateSession(ctx, first, u.HashedPassword))
	return &chain{s: s, user: u, cur: first}
}

func (c *chain) rotate(tb testing.TB) {
	c.n++
	next := c.cur
	label := c.user.Username + "-" + strconv.Itoa(c.n)
	next.ID, next.TokenHash = "token-"+label, hexDigest("token:"+label)
	next.CreatedAt = t0.Add(time.Duration(c.n) * time.Millisecond)
	next.LastUsedAt = next.CreatedAt
	if err := c.s.RotateRefreshToken(context.Background(), c.cur.TokenHash, next, next.CreatedAt); err != nil {
		tb.Fatalf("rotation %d: %v", c.n, err)
	}
	c.cur = next
}
