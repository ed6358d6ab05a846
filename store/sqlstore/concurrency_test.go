package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// TestConcurrentRotation presents one refresh token 50 times at once:
// exactly one rotation succeeds, every other one is reuse.
func TestConcurrentRotation(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			a1 := token(alice, "A", "a1")
			startSession(t, s, alice, a1)

			const n = 50
			errs := make(chan error, n)
			start := make(chan struct{})
			for i := range n {
				next := token(alice, "A", fmt.Sprintf("next-%d", i))
				go func() {
					<-start
					errs <- s.RotateRefreshToken(ctx, a1.TokenHash, next, t0.Add(time.Minute))
				}()
			}
			close(start)
			var ok, reused int
			for range n {
				switch err := <-errs; {
				case err == nil:
					ok++
				case errors.Is(err, store.ErrReused):
					reused++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
			assert.Equal(t, 1, ok, "successful rotations")
			assert.Equal(t, n-1, reused, "rotations refused as reuse")
			assert.Equal(t, 2, count(t, db, `SELECT COUNT(*) FROM refresh_tokens`), "one token inserted")
			assert.Equal(t, 0, count(t, db, `SELECT COUNT(*) FROM refresh_tokens WHERE NOT is_revoked`),
				"reuse revoked the family")
		})
	}
}

// TestRotationRacesRevocation rotates a family as fast as it can while
// another client revokes it: afterwards no usable token of the family may
// remain, whichever way the race went (SECURITY.md, sessions 12 and 14).
func TestRotationRacesRevocation(t *testing.T) {
	revokers := []struct {
		name   string
		revoke func(ctx context.Context, s *sqlstore.Store, u store.User, first store.RefreshToken) error
	}{
		{"RevokeFamily", func(ctx context.Context, s *sqlstore.Store, u store.User, first store.RefreshToken) error {
			return s.RevokeFamily(ctx, u.ID, first.FamilyID, t0)
		}},
		{"RevokeAllSessions", func(ctx context.Context, s *sqlstore.Store, u store.User, _ store.RefreshToken) error {
			return s.RevokeAllSessions(ctx, u.ID, t0)
		}},
		{"SetActive", func(ctx context.Context, s *sqlstore.Store, u store.User, _ store.RefreshToken) error {
			return s.SetActive(ctx, u.ID, false, t0)
		}},
		{"SetPassword", func(ctx context.Context, s *sqlstore.Store, u store.User, _ store.RefreshToken) error {
			return s.SetPassword(ctx, u.ID, u.HashedPassword, "new-hash", t0, "")
		}},
		{"Reuse", func(ctx context.Context, s *sqlstore.Store, u store.User, first store.RefreshToken) error {
			thief := token(u, "A", u.ID+"-thief")
			thief.FamilyID = first.FamilyID
			err := s.RotateRefreshToken(ctx, first.TokenHash, thief, t0)
			if errors.Is(err, store.ErrReused) {
				return nil
			}
			return fmt.Errorf("reuse of the first token: %v", err)
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			for _, r := range revokers {
				t.Run(r.name, func(t *testing.T) {
					// SQLite serialises writers, so there is little to race;
					// PostgreSQL is where a missed token would show.
					rounds, maxRotations := 15, 200
					if b.name == "SQLite" {
						rounds = 3
					}
					for round := range rounds {
						u := user(fmt.Sprintf("%s-%d", r.name, round))
						raceOnce(t, s, db, u, maxRotations, r.revoke)
					}
				})
			}
		})
	}
}

func raceOnce(tb testing.TB, s *sqlstore.Store, db *sql.DB, u store.User, maxRotations int,
	revoke func(ctx context.Context, s *sqlstore.Store, u store.User, first store.RefreshToken) error) {
	tb.Helper()
	ctx := context.Background()
	require.NoError(tb, s.CreateUser(ctx, u))
	first := token(u, "A", u.ID+"-0")
	first.FamilyID = "family-" + u.ID
	startSession(tb, s, u, first)

	rotated := make(chan struct{})
	var wg sync.WaitGroup
	var rotErr, revErr error
	wg.Go(func() {
		cur := first
		for i := 1; i <= maxRotations; i++ {
			next := token(u, "A", fmt.Sprintf("%s-%d", u.ID, i))
			next.FamilyID = first.FamilyID
			if err := s.RotateRefreshToken(ctx, cur.TokenHash, next, t0); err != nil {
				if !errors.Is(err, store.ErrReused) && !errors.Is(err, store.ErrSessionEnded) {
					rotErr = err
				}
				break
			}
			if i == 1 {
				close(rotated)
			}
			cur = next
		}
	})
	wg.Go(func() {
		<-rotated
		revErr = revoke(ctx, s, u, first)
	})
	wg.Wait()
	require.NoError(tb, rotErr, "rotation")
	require.NoError(tb, revErr, "revocation")
	active := count(tb, db, `SELECT COUNT(*) FROM refresh_tokens WHERE family_id = $1 AND NOT is_revoked`, first.FamilyID)
	require.Zero(tb, active, "a token of the family survived its revocation")
}

// TestConcurrentCodeGuesses makes 50 wrong guesses at once against a code
// allowing 5: exactly 5 are evaluated, and then the right code fails too.
func TestConcurrentCodeGuesses(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			c := code(alice, "c1")
			require.NoError(t, s.CreateCode(ctx, c))

			const n, limit = 50, 5
			errs := make(chan error, n)
			start := make(chan struct{})
			for i := range n {
				go func() {
					<-start
					errs <- s.CheckCode(ctx, alice.ID, c.Type, hexDigest(fmt.Sprint("wrong", i)), limit, t0)
				}()
			}
			close(start)
			var mismatch, notFound int
			for range n {
				switch err := <-errs; {
				case errors.Is(err, store.ErrCodeMismatch):
					mismatch++
				case errors.Is(err, store.ErrNotFound):
					notFound++
				default:
					t.Errorf("unexpected result: %v", err)
				}
			}
			assert.Equal(t, limit, mismatch, "wrong guesses evaluated")
			assert.Equal(t, n-limit, notFound)
			err := s.CheckCode(ctx, alice.ID, c.Type, c.CodeHash, limit, t0)
			require.ErrorIs(t, err, store.ErrNotFound, "the right code after the limit")
			assert.Equal(t, limit, count(t, db, `SELECT attempts FROM verification_codes`))
		})
	}
}

// TestConcurrentRegistration creates one email 20 times at once (with
// different usernames and case): one user results.
func TestConcurrentRegistration(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			errs := concurrently(20, func(i int) error {
				u := user(fmt.Sprint("user", i))
				if i%2 == 1 {
					u.Email = "SAME@example.com"
				} else {
					u.Email = "same@example.com "
				}
				return s.CreateUser(ctx, u)
			})
			assert.Equal(t, 1, winners(t, errs, store.FieldEmail))
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM users`))
		})
	}
}

// TestCreateCodeConcurrently issues 10 codes of one user at once: exactly
// one stays unused.
func TestCreateCodeConcurrently(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			var wg sync.WaitGroup
			for i := range 10 {
				wg.Go(func() {
					c := code(alice, fmt.Sprint("c", i))
					c.CreatedAt = t0.Add(time.Duration(i) * time.Second)
					assert.NoError(t, s.CreateCode(ctx, c))
				})
			}
			wg.Wait()
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM verification_codes WHERE NOT is_used`))
		})
	}
}

func count(tb testing.TB, db *sql.DB, query string, args ...any) int {
	tb.Helper()
	var n int
	require.NoError(tb, db.QueryRow(query, args...).Scan(&n))
	return n
}
