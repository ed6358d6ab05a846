package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// concurrently runs f(0) ... f(n-1) at once and returns their errors.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	done := make(chan struct{})
	start := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
	return errs
}

// winners counts the calls that succeeded and asserts that every other
// one failed with a conflict on field.
func winners(t *testing.T, errs []error, field string) int {
	t.Helper()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		var ce *store.ConflictError
		if assert.ErrorAs(t, err, &ce) {
			assert.Equal(t, field, ce.Field)
		}
	}
	return ok
}

// TestCreateSessionRacesUserChange starts 50 sessions of one user while a
// password change, a reset or a disabling commits: every start either
// fails as stale or made a token that the change then revoked, so no
// session survives the change.
func TestCreateSessionRacesUserChange(t *testing.T) {
	changes := []struct {
		name   string
		change func(ctx context.Context, s *sqlstore.Store, u store.User) error
	}{
		{"SetPassword", func(ctx context.Context, s *sqlstore.Store, u store.User) error {
			return s.SetPassword(ctx, u.ID, u.HashedPassword, "new-hash", t0, "")
		}},
		{"ResetPasswordWithCode", func(ctx context.Context, s *sqlstore.Store, u store.User) error {
			return s.ResetPasswordWithCode(ctx, u.ID, code(u, u.ID).CodeHash, 5, "new-hash", t0)
		}},
		{"SetActive", func(ctx context.Context, s *sqlstore.Store, u store.User) error {
			return s.SetActive(ctx, u.ID, false, t0)
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			rounds := 8
			if b.name == "SQLite" {
				rounds = 2
			}
			for _, c := range changes {
				t.Run(c.name, func(t *testing.T) {
					var ok, stale int
					for round := range rounds {
						u := user(fmt.Sprintf("%s-%d", c.name, round))
						require.NoError(t, s.CreateUser(ctx, u))
						require.NoError(t, s.CreateCode(ctx, code(u, u.ID)))
						const n = 50
						errs := concurrently(n+1, func(i int) error {
							if i == n/2 {
								return c.change(ctx, s, u)
							}
							tk := token(u, fmt.Sprint(u.ID, i), fmt.Sprint(u.ID, i))
							return s.CreateSession(ctx, tk, u.HashedPassword)
						})
						require.NoError(t, errs[n/2], "the change")
						for i, err := range errs {
							switch {
							case i == n/2:
							case err == nil:
								ok++
							case errors.Is(err, store.ErrStale):
								stale++
							default:
								t.Errorf("session start: %v", err)
							}
						}
						require.Zero(t, count(t, db, `SELECT COUNT(*) FROM refresh_tokens WHERE user_id = $1 AND NOT is_revoked`, u.ID),
							"a session survived the change")
					}
					assert.Equal(t, rounds*50, ok+stale)
					t.Logf("%d sessions started before the change, %d refused after it", ok, stale)
				})
			}
		})
	}
}

// TestConcurrentReplaceUnverified registers one unverified address 50
// times at once: each registration replaces the one before, none fails,
// one user remains, and nothing of the replaced users is left.
func TestConcurrentReplaceUnverified(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			first := user("first")
			first.Email = "shared@example.com"
			require.NoError(t, s.CreateUser(ctx, first))
			startSession(t, s, first, token(first, "F", "f1"))

			errs := concurrently(50, func(i int) error {
				u := user(fmt.Sprint("user", i))
				u.Email = []string{"shared@example.com", "SHARED@example.com "}[i%2]
				return s.ReplaceUnverifiedUser(ctx, u)
			})
			for _, err := range errs {
				assert.NoError(t, err)
			}
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM users`))
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM refresh_tokens`))
		})
	}
}

// TestConcurrentReplaceAndCreate mixes 25 replacements and 25 plain
// creations of one address: each ends in success or an email conflict,
// never another error, and one user remains.
func TestConcurrentReplaceAndCreate(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			errs := concurrently(50, func(i int) error {
				u := user(fmt.Sprint("user", i))
				u.Email = "shared@example.com"
				if i%2 == 0 {
					return s.CreateUser(ctx, u)
				}
				return s.ReplaceUnverifiedUser(ctx, u)
			})
			assert.GreaterOrEqual(t, winners(t, errs, store.FieldEmail), 1)
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM users`))
		})
	}
}

// TestConcurrentReplaceVerified tries to replace a verified user 50 times
// at once: every attempt is an email conflict and the user stays.
func TestConcurrentReplaceVerified(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			owner := user("owner")
			owner.IsVerified = true
			require.NoError(t, s.CreateUser(ctx, owner))
			errs := concurrently(50, func(i int) error {
				u := user(fmt.Sprint("user", i))
				u.Email = owner.Email
				return s.ReplaceUnverifiedUser(ctx, u)
			})
			assert.Zero(t, winners(t, errs, store.FieldEmail))
			assert.Equal(t, []string{owner.ID}, column(t, db, `SELECT id FROM users`))
		})
	}
}

// TestConcurrentTakeTicket takes one ticket 50 times at once: exactly one
// take gets it.
func TestConcurrentTakeTicket(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			tk := store.Ticket{Kind: "mfa", Digest: hexDigest("t"), Data: []byte("state"), ExpiresAt: t0.Add(1e9)}
			require.NoError(t, s.PutTicket(ctx, tk))
			errs := concurrently(50, func(int) error {
				got, err := s.TakeTicket(ctx, tk.Kind, tk.Digest, t0)
				if err == nil && string(got.Data) != "state" {
					return fmt.Errorf("got %q", got.Data)
				}
				return err
			})
			var ok int
			for _, err := range errs {
				if err == nil {
					ok++
					continue
				}
				assert.ErrorIs(t, err, store.ErrNotFound)
			}
			assert.Equal(t, 1, ok)
		})
	}
}

// TestConcurrentCreateSessionOneDigest starts 50 sessions with one digest
// at once: one succeeds, the others are a conflict on the digest.
func TestConcurrentCreateSessionOneDigest(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			errs := concurrently(50, func(i int) error {
				tk := token(alice, fmt.Sprint(i), fmt.Sprint(i))
				tk.TokenHash = hexDigest("same")
				return s.CreateSession(ctx, tk, alice.HashedPassword)
			})
			assert.Equal(t, 1, winners(t, errs, store.FieldTokenHash))
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM refresh_tokens`))
		})
	}
}

// TestCleanupRacesVerification verifies 50 old, unverified users while the
// clean-up deletes the unverified ones: each user ends either verified,
// with a verification that succeeded, or deleted, with one that found
// nothing; never a successful verification of a deleted user.
func TestCleanupRacesVerification(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			const n = 50
			users := make([]store.User, n)
			for i := range users {
				users[i] = user(fmt.Sprint("pending", i))
				require.NoError(t, s.CreateUser(ctx, users[i]))
				c := code(users[i], users[i].ID)
				c.Type = store.CodeEmailVerification
				require.NoError(t, s.CreateCode(ctx, c))
			}
			cutoff := t0.Add(1e9)
			var deleted int64
			errs := concurrently(n+1, func(i int) error {
				if i == n {
					var err error
					deleted, err = s.DeleteExpired(ctx, t0, cutoff)
					return err
				}
				_, err := s.VerifyEmailWithCode(ctx, users[i].ID, code(users[i], users[i].ID).CodeHash, 5, t0)
				return err
			})
			require.NoError(t, errs[n], "clean-up")
			var verified int
			for i, err := range errs[:n] {
				_, lookErr := s.UserByID(ctx, users[i].ID)
				switch {
				case err == nil:
					verified++
					assert.NoError(t, lookErr, "a verified user was deleted")
				case errors.Is(err, store.ErrNotFound):
					assert.ErrorIs(t, lookErr, store.ErrNotFound, "a user kept without verification")
				default:
					t.Errorf("verification: %v", err)
				}
			}
			assert.Equal(t, verified, count(t, db, `SELECT COUNT(*) FROM users WHERE is_verified`))
			assert.Equal(t, 2*(n-verified), int(deleted), "each deleted user and their unspent code")
			t.Logf("%d verified first, %d deleted first", verified, n-verified)
		})
	}
}
