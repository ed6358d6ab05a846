package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func codeCases() []testCase {
	return []testCase{
		{"CreateCheckAndSpend", testCreateCheckAndSpend},
		{"CheckCode", testCheckCode},
		{"CreateVoidsOlder", testCreateVoidsOlder},
		{"Mismatch", testCodeMismatch},
		{"AttemptsExhausted", testAttemptsExhausted},
		{"AttemptsArePerCode", testAttemptsPerCode},
		{"NotFound", testCodeNotFound},
		{"SameDigestTwice", testSameDigestTwice},
		{"CreateConflict", testCodeConflict},
		{"VerifyEmailWithCode", testVerifyEmailWithCode},
		{"ResetPasswordWithCode", testResetPasswordWithCode},
	}
}

func testCreateCheckAndSpend(t *testing.T, mk maker) {
	for _, typ := range []store.CodeType{store.CodeEmailVerification, store.CodePasswordReset} {
		t.Run(string(typ), func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			c := f.createCode(makeCode(alice, typ, "c1", at(0)))
			f.requireCodeFresh(c, at(time.Minute))
			f.spend(c, at(time.Minute))
			err := f.s.CheckCode(f.ctx, alice.ID, typ, c.CodeHash, 5, at(2*time.Minute))
			require.ErrorIs(t, err, store.ErrNotFound, "a used code")
		})
	}
}

// testCheckCode: a match spends nothing and counts nothing; a mismatch
// counts; with no active code there is nothing to match.
func testCheckCode(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	c := f.createCode(makeCode(alice, store.CodePasswordReset, "c1", at(0)))
	for i := range 3 {
		require.NoError(t, f.s.CheckCode(f.ctx, alice.ID, c.Type, c.CodeHash, 1, at(time.Minute)), "check %d", i+1)
	}
	require.ErrorIs(t, f.s.CheckCode(f.ctx, alice.ID, c.Type, digest("wrong"), 5, at(time.Minute)), store.ErrCodeMismatch)
	f.requireCodeAttempts(c, 1, at(time.Minute))
	require.NoError(t, f.s.CheckCode(f.ctx, alice.ID, c.Type, c.CodeHash, 5, at(time.Minute)))
	f.requireCodeAttempts(c, 1, at(time.Minute)) // a match resets nothing either
	f.spend(c, at(2*time.Minute))                // a checked code can still be spent
	require.ErrorIs(t, f.s.CheckCode(f.ctx, alice.ID, c.Type, digest("wrong"), 5, at(3*time.Minute)), store.ErrNotFound,
		"a wrong code with no active code")
}

func testCreateVoidsOlder(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	v1 := f.createCode(makeCode(alice, store.CodeEmailVerification, "v1", at(0)))
	r1 := f.createCode(makeCode(alice, store.CodePasswordReset, "r1", at(0)))
	w1 := f.createCode(makeCode(bob, store.CodeEmailVerification, "w1", at(0)))
	v2 := f.createCode(makeCode(alice, store.CodeEmailVerification, "v2", at(time.Minute)))

	// v2 is the active code, so v1 is a wrong guess against it.
	err := f.s.CheckCode(f.ctx, alice.ID, store.CodeEmailVerification, v1.CodeHash, 5, at(2*time.Minute))
	require.ErrorIs(t, err, store.ErrCodeMismatch)
	f.requireCodeAttempts(v2, 1, at(2*time.Minute))
	f.spend(v2, at(2*time.Minute))
	// v1 was voided, not merely shadowed: with v2 used, nothing is left.
	f.requireCodeGone(v1, at(2*time.Minute))

	f.requireCodeFresh(r1, at(2*time.Minute))
	f.requireCodeFresh(w1, at(2*time.Minute))
}

func testCodeMismatch(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	c := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
	for i := range 2 {
		err := f.s.CheckCode(f.ctx, alice.ID, c.Type, digest("wrong"), 3, at(time.Minute))
		require.ErrorIs(t, err, store.ErrCodeMismatch, "wrong guess %d", i+1)
	}
	f.requireCodeAttempts(c, 2, at(time.Minute))
	_, err := f.s.VerifyEmailWithCode(f.ctx, alice.ID, c.CodeHash, 3, at(time.Minute))
	require.NoError(t, err, "the right code after two wrong guesses")
}

func testAttemptsExhausted(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	c := f.createCode(makeCode(alice, store.CodePasswordReset, "c1", at(0)))
	for i := range 3 {
		err := f.s.CheckCode(f.ctx, alice.ID, c.Type, digest("wrong"), 3, at(time.Minute))
		require.ErrorIs(t, err, store.ErrCodeMismatch, "wrong guess %d", i+1)
	}
	err := f.s.CheckCode(f.ctx, alice.ID, c.Type, c.CodeHash, 3, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the right code after the last attempt")
	err = f.s.CheckCode(f.ctx, alice.ID, c.Type, digest("wrong"), 3, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "a wrong code after the last attempt")
	err = f.s.ResetPasswordWithCode(f.ctx, alice.ID, c.CodeHash, 3, hash("new"), at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "a reset with the right code after the last attempt")
	f.requireCodeAttempts(c, 3, at(time.Minute)) // the refused calls counted nothing

	fresh := f.createCode(makeCode(alice, store.CodePasswordReset, "c2", at(2*time.Minute)))
	f.requireCodeFresh(fresh, at(3*time.Minute))
}

func testAttemptsPerCode(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	verify := f.createCode(makeCode(alice, store.CodeEmailVerification, "verify", at(0)))
	reset := f.createCode(makeCode(alice, store.CodePasswordReset, "reset", at(0)))
	bobs := f.createCode(makeCode(bob, store.CodeEmailVerification, "bob", at(0)))
	for range 3 {
		err := f.s.CheckCode(f.ctx, alice.ID, verify.Type, digest("wrong"), 3, at(time.Minute))
		require.ErrorIs(t, err, store.ErrCodeMismatch)
	}
	f.requireCodeAttempts(verify, 3, at(time.Minute))
	f.requireCodeFresh(reset, at(time.Minute))
	f.requireCodeFresh(bobs, at(time.Minute))
}

func testCodeNotFound(t *testing.T, mk maker) {
	tests := []struct {
		name string
		call func(f *fixture, c store.VerificationCode, bob store.User) error
	}{
		{"expires at that instant", func(f *fixture, c store.VerificationCode, _ store.User) error {
			return f.s.CheckCode(f.ctx, c.UserID, c.Type, c.CodeHash, 5, c.ExpiresAt)
		}},
		{"expired", func(f *fixture, c store.VerificationCode, _ store.User) error {
			return f.s.CheckCode(f.ctx, c.UserID, c.Type, c.CodeHash, 5, at(2*time.Hour))
		}},
		{"wrong code, expired", func(f *fixture, c store.VerificationCode, _ store.User) error {
			return f.s.CheckCode(f.ctx, c.UserID, c.Type, digest("wrong"), 5, at(2*time.Hour))
		}},
		{"other user", func(f *fixture, c store.VerificationCode, bob store.User) error {
			return f.s.CheckCode(f.ctx, bob.ID, c.Type, c.CodeHash, 5, at(time.Minute))
		}},
		{"unknown user", func(f *fixture, c store.VerificationCode, _ store.User) error {
			return f.s.CheckCode(f.ctx, id("user", "nobody"), c.Type, c.CodeHash, 5, at(time.Minute))
		}},
		{"other type", func(f *fixture, c store.VerificationCode, _ store.User) error {
			return f.s.CheckCode(f.ctx, c.UserID, store.CodePasswordReset, c.CodeHash, 5, at(time.Minute))
		}},
		{"wrong code of other type", func(f *fixture, c store.VerificationCode, _ store.User) error {
			return f.s.CheckCode(f.ctx, c.UserID, store.CodePasswordReset, digest("wrong"), 5, at(time.Minute))
		}},
		{"no attempts allowed", func(f *fixture, c store.VerificationCode, _ store.User) error {
			return f.s.CheckCode(f.ctx, c.UserID, c.Type, c.CodeHash, 0, at(time.Minute))
		}},
		{"verify, other user", func(f *fixture, c store.VerificationCode, bob store.User) error {
			_, err := f.s.VerifyEmailWithCode(f.ctx, bob.ID, c.CodeHash, 5, at(time.Minute))
			return err
		}},
		{"verify, expired", func(f *fixture, c store.VerificationCode, _ store.User) error {
			_, err := f.s.VerifyEmailWithCode(f.ctx, c.UserID, c.CodeHash, 5, c.ExpiresAt)
			return err
		}},
		{"reset, no reset code", func(f *fixture, c store.VerificationCode, _ store.User) error {
			return f.s.ResetPasswordWithCode(f.ctx, c.UserID, c.CodeHash, 5, hash("new"), at(time.Minute))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			c := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
			require.ErrorIs(t, tt.call(f, c, bob), store.ErrNotFound)
			f.requireCodeFresh(c, at(time.Minute)) // untouched: unused, no attempt counted
			requireUser(t, alice, f.user(alice.ID))
		})
	}
}

func testSameDigestTwice(t *testing.T, mk maker) {
	// A keyed digest of a short code can repeat: a resend may draw the same
	// code, and two users may share one digest under some keying.
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	c1 := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
	c2 := makeCode(alice, store.CodeEmailVerification, "c2", at(time.Minute))
	c2.CodeHash = c1.CodeHash
	f.createCode(c2)
	bobs := makeCode(bob, store.CodeEmailVerification, "bob", at(0))
	bobs.CodeHash = c1.CodeHash
	f.createCode(bobs)

	f.spend(c2, at(2*time.Minute)) // the newest one; c1 was voided
	f.requireCodeGone(c1, at(2*time.Minute))
	f.requireCodeFresh(bobs, at(2*time.Minute))
}

func testCodeConflict(t *testing.T, mk maker) {
	t.Run("unknown user", func(t *testing.T) {
		f := mk(t)
		f.newUser("alice")
		err := f.s.CreateCode(f.ctx, makeCode(makeUser("nobody"), store.CodeEmailVerification, "n1", at(0)))
		require.ErrorIs(t, err, store.ErrNotFound)
	})
	for _, other := range []string{"same user and type", "other type", "other user"} {
		t.Run("taken id, "+other, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			c1 := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
			dup := makeCode(alice, store.CodeEmailVerification, "c2", at(time.Minute))
			switch other {
			case "other type":
				dup.Type = store.CodePasswordReset
			case "other user":
				dup.UserID = bob.ID
			}
			dup.ID = c1.ID
			requireConflict(t, f.s.CreateCode(f.ctx, dup), store.FieldID)
			f.requireCodeFresh(c1, at(2*time.Minute)) // the failed insert voided nothing
			// The refused code is not active: for alice's email verification
			// c1 still is, so its digest is a wrong guess.
			want := store.ErrNotFound
			if other == "same user and type" {
				want = store.ErrCodeMismatch
			}
			err := f.s.CheckCode(f.ctx, dup.UserID, dup.Type, dup.CodeHash, 5, at(2*time.Minute))
			require.ErrorIs(t, err, want, "the refused code")
		})
	}
}

func testVerifyEmailWithCode(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	c := f.createCode(makeCode(alice, store.CodeEmailVerification, "v1", at(0)))
	reset := f.createCode(makeCode(alice, store.CodePasswordReset, "r1", at(0)))

	_, err := f.s.VerifyEmailWithCode(f.ctx, alice.ID, digest("wrong"), 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrCodeMismatch)
	_, err = f.s.VerifyEmailWithCode(f.ctx, alice.ID, reset.CodeHash, 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrCodeMismatch, "a reset code does not verify")
	_, err = f.s.VerifyEmailWithCode(f.ctx, bob.ID, c.CodeHash, 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "bob has no code")
	_, err = f.s.VerifyEmailWithCode(f.ctx, id("user", "nobody"), c.CodeHash, 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "an unknown user")
	requireUser(t, alice, f.user(alice.ID))
	f.requireCodeAttempts(c, 2, at(time.Minute))
	f.requireCodeFresh(reset, at(time.Minute))

	got, err := f.s.VerifyEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(2*time.Minute))
	require.NoError(t, err)
	want := alice
	want.IsVerified, want.UpdatedAt = true, at(2*time.Minute)
	requireUser(t, want, got)
	requireUser(t, want, f.user(alice.ID))

	_, err = f.s.VerifyEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(3*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the code is used")
	f.requireCodeFresh(reset, at(3*time.Minute)) // the reset code lives on
	// Out of attempts, even the right code verifies nothing.
	c2 := f.createCode(makeCode(bob, store.CodeEmailVerification, "w1", at(0)))
	for range 2 {
		_, err = f.s.VerifyEmailWithCode(f.ctx, bob.ID, digest("wrong"), 2, at(time.Minute))
		require.ErrorIs(t, err, store.ErrCodeMismatch)
	}
	_, err = f.s.VerifyEmailWithCode(f.ctx, bob.ID, c2.CodeHash, 2, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "out of attempts even with the right code")
	require.False(t, f.user(bob.ID).IsVerified)
}

func testResetPasswordWithCode(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	b1 := f.login(makeToken(alice, "B", "b1", at(0)))
	verify := f.createCode(makeCode(alice, store.CodeEmailVerification, "v1", at(0)))
	c := f.createCode(makeCode(alice, store.CodePasswordReset, "r1", at(0)))
	// A rehash since the code was sent does not matter: a reset sets the
	// hash whatever it was.
	require.NoError(t, f.s.ReplacePasswordHash(f.ctx, alice.ID, alice.HashedPassword, hash("rehashed")))
	alice = f.user(alice.ID)
	newHash := hash("reset")

	err := f.s.ResetPasswordWithCode(f.ctx, alice.ID, verify.CodeHash, 5, newHash, at(time.Minute))
	require.ErrorIs(t, err, store.ErrCodeMismatch, "a verification code does not reset")
	err = f.s.ResetPasswordWithCode(f.ctx, id("user", "nobody"), c.CodeHash, 5, newHash, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	requireUser(t, alice, f.user(alice.ID))
	f.requireSessions(alice.ID, at(time.Minute), sessionOf(a1, a1), sessionOf(b1, b1)) // a failed reset ends nothing
	f.requireCodeAttempts(c, 1, at(time.Minute))

	when := at(2 * time.Minute)
	require.NoError(t, f.s.ResetPasswordWithCode(f.ctx, alice.ID, c.CodeHash, 5, newHash, when))
	want := alice
	want.HashedPassword, want.UpdatedAt, want.TokensValidAfter = newHash, when, when
	requireUser(t, want, f.user(alice.ID))
	f.requireSessions(alice.ID, when) // every session ends
	f.requireEnded(a1, when)
	f.requireEnded(b1, when)
	err = f.s.ResetPasswordWithCode(f.ctx, alice.ID, c.CodeHash, 5, newHash, at(3*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the code is used")
	f.requireCodeFresh(verify, at(3*time.Minute)) // the verification code lives on
}
