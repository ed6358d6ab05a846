package storetest

import (
	"errors"
	"fmt"
	"slices"
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
		{"LoginWhilePasswordChanges", testLoginWhilePasswordChanges},
		{"WrongGuesses", testConcurrentWrongGuesses},
		{"MixedGuesses", testConcurrentMixedGuesses},
		{"CreateUserSameEmail", testConcurrentSameEmail},
		{"CreateUserSameUsername", testConcurrentSameUsername},
		{"ReplaceUnverifiedSameEmail", testConcurrentReplaceUnverified},
		{"ReplaceVerifiedSameEmail", testConcurrentReplaceVerified},
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
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	const n = 50
	nexts := make([]store.RefreshToken, n)
	for i := range nexts {
		nexts[i] = makeToken(alice, "A", fmt.Sprintf("next-%d", i), at(time.Hour))
	}
	errs := parallel(n, func(i int) error {
		return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, nexts[i], at(time.Hour))
	})

	// One rotation won; every other presentation found a1 rotated: a replay,
	// which ended the family.
	require.NoError(t, firstOther(errs, store.ErrReused))
	require.Equal(t, map[string]int{"ok": 1, store.ErrReused.Error(): n - 1}, tally(errs, store.ErrReused))
	for i, next := range nexts {
		if errs[i] == nil {
			f.requireEnded(next, at(time.Hour)) // issued, then revoked by the replays
		} else {
			f.requireAbsent(next, at(time.Hour))
		}
	}
	f.requireSessions(alice.ID, at(time.Hour))
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
		olds[i] = f.login(makeToken(u, fam, fmt.Sprintf("old-%d", i), at(0)))
		nexts[i] = makeToken(u, fam, fmt.Sprintf("new-%d", i), at(time.Hour))
	}
	errs := parallel(n, func(i int) error {
		return f.s.RotateRefreshToken(f.ctx, olds[i].TokenHash, nexts[i], at(time.Hour))
	})
	for i, err := range errs {
		require.NoError(t, err, "rotation %d", i)
	}
	for i := range n {
		next := nexts[i]
		next.DeviceName, next.DeviceType, next.SessionExpiresAt = olds[i].DeviceName, olds[i].DeviceType, olds[i].SessionExpiresAt
		f.requireRotates(stored(next), at(2*time.Hour))
		f.requireRotateErr(olds[i], at(2*time.Hour), store.ErrReused)
	}
}

// testRotateWhileRevoking races a refresh against an ending of the same
// session: whichever wins, no usable token of the family may remain.
func testRotateWhileRevoking(t *testing.T, mk maker) {
	tests := []struct {
		name string
		// revoke ends the session of tok; current is the user's hash.
		revoke func(f *fixture, tok store.RefreshToken, current string) error
		okErrs []error // errors the revocation may return when it loses
	}{
		{"RevokeFamily", func(f *fixture, tok store.RefreshToken, _ string) error {
			return f.s.RevokeFamily(f.ctx, tok.UserID, tok.FamilyID, at(time.Hour))
		}, []error{store.ErrNotFound}},
		{"RevokeAllSessions", func(f *fixture, tok store.RefreshToken, _ string) error {
			return f.s.RevokeAllSessions(f.ctx, tok.UserID, at(time.Hour))
		}, nil},
		{"SetPassword", func(f *fixture, tok store.RefreshToken, current string) error {
			return f.s.SetPassword(f.ctx, tok.UserID, current, current+"x", at(time.Hour), "")
		}, nil},
		{"SetActive", func(f *fixture, tok store.RefreshToken, _ string) error {
			return f.s.SetActive(f.ctx, tok.UserID, false, at(time.Hour))
		}, nil},
	}
	const rounds = 20
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			for r := range rounds {
				require.NoError(t, f.s.SetActive(f.ctx, alice.ID, true, at(0)))
				current := f.user(alice.ID).HashedPassword
				fam := fmt.Sprintf("R%d", r)
				old := f.login(makeToken(alice, fam, fam+"-old", at(0)))
				next := makeToken(alice, fam, fam+"-new", at(time.Hour))
				errs := parallel(2, func(i int) error {
					if i == 0 {
						return f.s.RotateRefreshToken(f.ctx, old.TokenHash, next, at(time.Hour))
					}
					return tt.revoke(f, old, current)
				})
				require.NoError(t, firstOther(errs[:1], store.ErrSessionEnded), "round %d: rotation", r)
				require.NoError(t, firstOther(errs[1:], tt.okErrs...), "round %d: revocation", r)
				if errs[0] == nil {
					// The token issued by a rotation racing the revocation
					// must not survive it.
					f.requireEnded(next, at(time.Hour))
				} else {
					f.requireAbsent(next, at(time.Hour))
					f.requireEnded(old, at(time.Hour))
				}
				f.requireSessions(alice.ID, at(time.Hour))
			}
		})
	}
}

// testLoginWhilePasswordChanges races logins that verified the current
// hash against a change of the password (or a disabling) that ends every
// session: afterwards no session begun with the old hash may be active.
func testLoginWhilePasswordChanges(t *testing.T, mk maker) {
	tests := []struct {
		name   string
		change func(f *fixture, alice store.User) error
	}{
		{"SetPassword", func(f *fixture, alice store.User) error {
			return f.s.SetPassword(f.ctx, alice.ID, alice.HashedPassword, hash("new"), at(time.Hour), "")
		}},
		{"ResetPasswordWithCode", func(f *fixture, alice store.User) error {
			return f.s.ResetPasswordWithCode(f.ctx, alice.ID, digest("code:reset"), 5, hash("new"), at(time.Hour))
		}},
		{"SetActive", func(f *fixture, alice store.User) error {
			return f.s.SetActive(f.ctx, alice.ID, false, at(time.Hour))
		}},
	}
	const n = 50
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			reset := makeCode(alice, store.CodePasswordReset, "reset", at(0))
			reset.ExpiresAt = at(2 * time.Hour)
			f.createCode(reset)
			toks := make([]store.RefreshToken, n)
			for i := range toks {
				toks[i] = makeToken(alice, fmt.Sprintf("L%d", i), fmt.Sprintf("login-%d", i), at(time.Hour))
			}
			changer := n / 2 // released with the logins on either side
			errs := parallel(n, func(i int) error {
				if i == changer {
					return tt.change(f, alice)
				}
				return f.s.CreateSession(f.ctx, toks[i], alice.HashedPassword)
			})
			require.NoError(t, errs[changer], "the change")
			logins := append(slices.Clone(errs[:changer]), errs[changer+1:]...)
			require.NoError(t, firstOther(logins, store.ErrStale))

			f.requireSessions(alice.ID, at(time.Hour))
			for i, err := range errs {
				if i == changer {
					continue
				}
				_, sessionErr := f.s.UserWithSession(f.ctx, alice.ID, toks[i].FamilyID, at(time.Hour))
				require.ErrorIs(t, sessionErr, store.ErrSessionEnded, "login %d", i)
				if err == nil {
					f.requireEnded(toks[i], at(time.Hour)) // created, then revoked
				} else {
					f.requireAbsent(toks[i], at(time.Hour))
				}
			}
		})
	}
}

// testConcurrentWrongGuesses: whichever method presents them, concurrent
// wrong guesses are evaluated no more than maxAttempts times.
func testConcurrentWrongGuesses(t *testing.T, mk maker) {
	const n, maxAttempts = 50, 5
	tests := []struct {
		name  string
		typ   store.CodeType
		guess func(f *fixture, userID, codeHash string) error
	}{
		{"CheckCode", store.CodePasswordReset, func(f *fixture, userID, codeHash string) error {
			return f.s.CheckCode(f.ctx, userID, store.CodePasswordReset, codeHash, maxAttempts, at(time.Minute))
		}},
		{"VerifyEmailWithCode", store.CodeEmailVerification, func(f *fixture, userID, codeHash string) error {
			_, err := f.s.VerifyEmailWithCode(f.ctx, userID, codeHash, maxAttempts, at(time.Minute))
			return err
		}},
		{"ResetPasswordWithCode", store.CodePasswordReset, func(f *fixture, userID, codeHash string) error {
			return f.s.ResetPasswordWithCode(f.ctx, userID, codeHash, maxAttempts, hash("new"), at(time.Minute))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			c := f.createCode(makeCode(alice, tt.typ, "c1", at(0)))
			errs := parallel(n, func(i int) error {
				return tt.guess(f, alice.ID, digest(fmt.Sprintf("wrong-%d", i)))
			})
			require.NoError(t, firstOther(errs, store.ErrCodeMismatch, store.ErrNotFound))
			require.Equal(t, map[string]int{
				store.ErrCodeMismatch.Error(): maxAttempts,
				store.ErrNotFound.Error():     n - maxAttempts,
			}, tally(errs, store.ErrCodeMismatch, store.ErrNotFound))

			err := f.s.CheckCode(f.ctx, alice.ID, c.Type, c.CodeHash, maxAttempts, at(time.Minute))
			require.ErrorIs(t, err, store.ErrNotFound, "the right code after the attempts ran out")
			f.requireCodeAttempts(c, maxAttempts, at(time.Minute))
			requireUser(t, alice, f.user(alice.ID))
		})
	}
}

func testConcurrentMixedGuesses(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	c := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
	const n, maxAttempts = 50, 5
	errs := parallel(n, func(i int) error {
		guess := c.CodeHash
		if i%2 == 1 {
			guess = digest(fmt.Sprintf("wrong-%d", i))
		}
		_, err := f.s.VerifyEmailWithCode(f.ctx, alice.ID, guess, maxAttempts, at(time.Minute))
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
	assert.Equal(t, counts["ok"] == 1, f.user(alice.ID).IsVerified, "verified exactly when a guess succeeded")
	f.requireCodeGone(c, at(time.Minute))
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

// testConcurrentReplaceUnverified races registrations for one email, half
// through ReplaceUnverifiedUser and half through CreateUser: whatever the
// order, exactly one user holds the email in the end.
func testConcurrentReplaceUnverified(t *testing.T, mk maker) {
	f := mk(t)
	const n = 20
	users := make([]store.User, n)
	for i := range users {
		users[i] = makeUser(fmt.Sprintf("user%d", i))
		users[i].Email = "Same@Example.com"
	}
	errs := parallel(n, func(i int) error {
		if i%2 == 0 {
			return f.s.ReplaceUnverifiedUser(f.ctx, users[i])
		}
		return f.s.CreateUser(f.ctx, users[i])
	})
	for i, err := range errs {
		if i%2 == 0 {
			require.NoError(t, err, "ReplaceUnverifiedUser %d: every holder was unverified", i)
		} else if err != nil {
			requireConflict(t, err, store.FieldEmail)
		}
	}
	holder, err := f.s.UserByEmail(f.ctx, "same@example.com")
	require.NoError(t, err)
	existing := 0
	for i, u := range users {
		_, err := f.s.UserByID(f.ctx, u.ID)
		if err == nil {
			existing++
			assert.Equal(t, u.ID, holder.ID, "user %d exists but does not hold the email", i)
			continue
		}
		require.ErrorIs(t, err, store.ErrNotFound, "user %d", i)
	}
	require.Equal(t, 1, existing, "users left holding the email")
}

// testConcurrentReplaceVerified: registrations racing for an email its
// verified holder owns all fail, and the holder stays.
func testConcurrentReplaceVerified(t *testing.T, mk maker) {
	f := mk(t)
	owner := makeUser("owner")
	owner.Email, owner.IsVerified = "same@example.com", true
	f.createUser(owner)
	const n = 20
	errs := parallel(n, func(i int) error {
		u := makeUser(fmt.Sprintf("user%d", i))
		u.Email = "Same@Example.com"
		return f.s.ReplaceUnverifiedUser(f.ctx, u)
	})
	for _, err := range errs {
		requireConflict(t, err, store.FieldEmail)
	}
	requireUser(t, owner, f.user(owner.ID))
	for i := range n {
		f.requireNoUser(makeUser(fmt.Sprintf("user%d", i)).ID)
	}
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
