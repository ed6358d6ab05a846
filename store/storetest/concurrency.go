package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func concurrencyCases() []testCase {
	return []testCase{
		{"RotateOneToken", testConcurrentRotateOne},
		{"RotateManyTokens", testConcurrentRotateMany},
		{"RotateWhileRevoking", testRotateWhileRevoking},
		{"WrongGuesses", testConcurrentWrongGuesses},
		{"MixedGuesses", testConcurrentMixedGuesses},
		{"CreateUserSameEmail", testConcurrentSameEmail},
		{"CreateUserSameUsername", testConcurrentSameUsername},
	}
}

// parallel runs fn(0..n-1) on n goroutines released at once and returns
// their errors by index.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts errors by the first target they match; "ok" counts nil and
// "other" the rest.
func tally(errs []error, targets ...error) map[string]int {
	counts := map[string]int{}
	for _, err := range errs {
		key := "other"
		if err == nil {
			key = "ok"
		}
		for _, target := range targets {
			if errors.Is(err, target) {
				key = target.Error()
				break
			}
		}
		counts[key]++
	}
	return counts
}

// firstOther returns the first error that matches none of targets, for a
// useful failure message.
func firstOther(errs []error, targets ...error) error {
	for _, err := range errs {
		if err == nil {
			continue
		}
		matched := false
		for _, target := range targets {
			matched = matched || errors.Is(err, target)
		}
		if !matched {
			return err
		}
	}
	return nil
}

func testConcurrentRotateOne(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
	const n = 50
	nexts := make([]store.RefreshToken, n)
	for i := range nexts {
		nexts[i] = makeToken(alice, "A", fmt.Sprintf("next-%d", i), at(time.Hour))
	}
	records := make([]store.RefreshToken, n)
	errs := parallel(n, func(i int) error {
		var err error
		records[i], err = f.s.RotateRefreshToken(f.ctx, a1.TokenHash, nexts[i], at(time.Hour))
		return err
	})

	counts := tally(errs, store.ErrReused)
	require.NoError(t, firstOther(errs, store.ErrReused))
	require.Equal(t, map[string]int{"ok": 1, store.ErrReused.Error(): n - 1}, counts)
	for i, rec := range records {
		assert.Equal(t, a1.ID, rec.ID, "record of call %d", i)
		assert.Equal(t, alice.ID, rec.UserID, "record of call %d", i)
		assert.Equal(t, a1.FamilyID, rec.FamilyID, "record of call %d", i)
	}
	// The winner's token was issued, then revoked by the reuse that followed;
	// no loser's token exists.
	for i, next := range nexts {
		if errs[i] == nil {
			got := f.token(next.TokenHash)
			assert.True(t, got.IsRevoked, "the winner's token after the reuse")
			assert.Equal(t, next.ID, f.token(a1.TokenHash).ReplacedBy)
		} else {
			f.requireAbsentToken(next.TokenHash)
		}
	}
	sessions, err := f.s.Sessions(f.ctx, alice.ID, at(time.Hour))
	require.NoError(t, err)
	require.Empty(t, sessions)
}

func testConcurrentRotateMany(t *testing.T, mk maker) {
	// Distinct sessions refreshing at once must not get in each other's way.
	f := mk(t)
	const n = 20
	users := []store.User{f.newUser("alice"), f.newUser("bob"), f.newUser("carol"), f.newUser("dave")}
	olds := make([]store.RefreshToken, n)
	nexts := make([]store.RefreshToken, n)
	for i := range n {
		u := users[i%len(users)]
		fam := fmt.Sprintf("F%d", i)
		olds[i] = f.createToken(makeToken(u, fam, fmt.Sprintf("old-%d", i), at(0)))
		nexts[i] = makeToken(u, fam, fmt.Sprintf("new-%d", i), at(time.Hour))
	}
	errs := parallel(n, func(i int) error {
		_, err := f.s.RotateRefreshToken(f.ctx, olds[i].TokenHash, nexts[i], at(time.Hour))
		return err
	})
	for i, err := range errs {
		require.NoError(t, err, "rotation %d", i)
		assert.False(t, f.token(nexts[i].TokenHash).IsRevoked)
		assert.True(t, f.token(olds[i].TokenHash).IsRevoked)
	}
}

// testRotateWhileRevoking races a refresh against a logout of the same
// family: whichever wins, no usable token of the family may remain.
func testRotateWhileRevoking(t *testing.T, mk maker) {
	tests := []struct {
		name   string
		revoke func(f *fixture, tok store.RefreshToken) error
		okErrs []error // errors the revocation may return when it loses
	}{
		{"RevokeFamily", func(f *fixture, tok store.RefreshToken) error {
			return f.s.RevokeFamily(f.ctx, tok.UserID, tok.FamilyID, at(time.Hour))
		}, []error{store.ErrNotFound}},
		{"RevokeAllSessions", func(f *fixture, tok store.RefreshToken) error {
			return f.s.RevokeAllSessions(f.ctx, tok.UserID, at(time.Hour))
		}, nil},
		{"SetPassword", func(f *fixture, tok store.RefreshToken) error {
			return f.s.SetPassword(f.ctx, tok.UserID, "x", at(time.Hour), "")
		}, nil},
	}
	const rounds = 20
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			for r := range rounds {
				fam := fmt.Sprintf("R%d", r)
				old := f.createToken(makeToken(alice, fam, fam+"-old", at(0)))
				next := makeToken(alice, fam, fam+"-new", at(time.Hour))
				errs := parallel(2, func(i int) error {
					if i == 0 {
						_, err := f.s.RotateRefreshToken(f.ctx, old.TokenHash, next, at(time.Hour))
						return err
					}
					return tt.revoke(f, old)
				})
				require.NoError(t, firstOther(errs[:1], store.ErrReused), "round %d: rotation", r)
				require.NoError(t, firstOther(errs[1:], tt.okErrs...), "round %d: revocation", r)
				assert.True(t, f.token(old.TokenHash).IsRevoked, "round %d: old token", r)
				if errs[0] == nil {
					assert.True(t, f.token(next.TokenHash).IsRevoked,
						"round %d: the token issued by a rotation racing the revocation survived it", r)
				} else {
					f.requireAbsentToken(next.TokenHash)
				}
			}
			sessions, err := f.s.Sessions(f.ctx, alice.ID, at(time.Hour))
			require.NoError(t, err)
			require.Empty(t, sessions)
		})
	}
}

func testConcurrentWrongGuesses(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	c := f.createCode(makeCode(alice, store.CodePasswordReset, "c1", at(0)))
	const n, maxAttempts = 50, 5
	errs := parallel(n, func(i int) error {
		_, err := f.s.ConsumeCode(f.ctx, alice.ID, c.Type, digest(fmt.Sprintf("wrong-%d", i)), maxAttempts, at(time.Minute))
		return err
	})
	require.NoError(t, firstOther(errs, store.ErrCodeMismatch, store.ErrNotFound))
	require.Equal(t, map[string]int{
		store.ErrCodeMismatch.Error(): maxAttempts,
		store.ErrNotFound.Error():     n - maxAttempts,
	}, tally(errs, store.ErrCodeMismatch, store.ErrNotFound))

	_, err := f.s.ConsumeCode(f.ctx, alice.ID, c.Type, c.CodeHash, maxAttempts, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the right code after the attempts ran out")
}

func testConcurrentMixedGuesses(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	c := f.createCode(makeCode(alice, store.CodePasswordReset, "c1", at(0)))
	const n, maxAttempts = 50, 5
	errs := parallel(n, func(i int) error {
		hash := c.CodeHash
		if i%2 == 1 {
			hash = digest(fmt.Sprintf("wrong-%d", i))
		}
		_, err := f.s.ConsumeCode(f.ctx, alice.ID, c.Type, hash, maxAttempts, at(time.Minute))
		return err
	})
	require.NoError(t, firstOther(errs, store.ErrCodeMismatch, store.ErrNotFound))
	counts := tally(errs, store.ErrCodeMismatch, store.ErrNotFound)
	assert.LessOrEqual(t, counts["ok"], 1, "successes: %v", counts)
	assert.LessOrEqual(t, counts[store.ErrCodeMismatch.Error()], maxAttempts, "wrong guesses evaluated: %v", counts)
	for i, err := range errs {
		if i%2 == 1 {
			assert.NotNil(t, err, "wrong guess %d succeeded", i)
		}
	}
	_, err := f.s.ConsumeCode(f.ctx, alice.ID, c.Type, c.CodeHash, maxAttempts, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the code after the race")
}

func testConcurrentSameEmail(t *testing.T, mk maker) {
	for _, n := range []int{2, 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := mk(t)
			errs := parallel(n, func(i int) error {
				u := makeUser(fmt.Sprintf("user%d", i))
				u.Email = "Same@Example.com"
				if i%2 == 1 {
					u.Email = " same@example.COM "
				}
				return f.s.CreateUser(f.ctx, u)
			})
			requireOneWinner(t, errs, store.FieldEmail)
			got, err := f.s.UserByEmail(f.ctx, "same@example.com")
			require.NoError(t, err)
			for i, err := range errs {
				if err == nil {
					assert.Equal(t, makeUser(fmt.Sprintf("user%d", i)).ID, got.ID)
				}
			}
		})
	}
}

func testConcurrentSameUsername(t *testing.T, mk maker) {
	f := mk(t)
	const n = 20
	errs := parallel(n, func(i int) error {
		u := makeUser(fmt.Sprintf("user%d", i))
		u.Username = "Same"
		if i%2 == 1 {
			u.Username = "sAME"
		}
		return f.s.CreateUser(f.ctx, u)
	})
	requireOneWinner(t, errs, store.FieldUsername)
	_, err := f.s.UserByUsername(f.ctx, "same")
	require.NoError(t, err)
}

func requireOneWinner(tb testing.TB, errs []error, field string) {
	tb.Helper()
	require.NoError(tb, firstOther(errs, store.ErrConflict))
	require.Equal(tb, map[string]int{"ok": 1, store.ErrConflict.Error(): len(errs) - 1},
		tally(errs, store.ErrConflict))
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ce *store.ConflictError
		require.ErrorAs(tb, err, &ce)
		require.Equal(tb, field, ce.Field)
	}
}
