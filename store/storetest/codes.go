package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func codeCases() []testCase {
	return []testCase{
		{"CreateAndConsume", testCreateAndConsume},
		{"CreateVoidsOlder", testCreateVoidsOlder},
		{"Mismatch", testCodeMismatch},
		{"AttemptsExhausted", testAttemptsExhausted},
		{"AttemptsArePerCode", testAttemptsPerCode},
		{"NotFound", testCodeNotFound},
		{"SameDigestTwice", testSameDigestTwice},
		{"CreateIntegrity", testCodeIntegrity},
		{"VerifyEmailWithCode", testVerifyEmailWithCode},
		{"ResetPasswordWithCode", testResetPasswordWithCode},
	}
}

func testCreateAndConsume(t *testing.T, mk maker) {
	for _, typ := range []store.CodeType{store.CodeEmailVerification, store.CodePasswordReset} {
		t.Run(string(typ), func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			c := f.createCode(makeCode(alice, typ, "c1", at(0)))
			f.consume(c, 0, at(time.Minute))

			_, err := f.s.ConsumeCode(f.ctx, alice.ID, typ, c.CodeHash, 5, at(2*time.Minute))
			require.ErrorIs(t, err, store.ErrNotFound, "a used code")
		})
	}
}

func testCreateVoidsOlder(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	v1 := f.createCode(makeCode(alice, store.CodeEmailVerification, "v1", at(0)))
	r1 := f.createCode(makeCode(alice, store.CodePasswordReset, "r1", at(0)))
	w1 := f.createCode(makeCode(bob, store.CodeEmailVerification, "w1", at(0)))
	v2 := f.createCode(makeCode(alice, store.CodeEmailVerification, "v2", at(time.Minute)))

	// v2 is the active code, so v1 is a wrong guess against it.
	_, err := f.s.ConsumeCode(f.ctx, alice.ID, store.CodeEmailVerification, v1.CodeHash, 5, at(2*time.Minute))
	require.ErrorIs(t, err, store.ErrCodeMismatch)
	f.consume(v2, 1, at(2*time.Minute))
	// v1 was voided, not merely shadowed: with v2 used, nothing is left.
	_, err = f.s.ConsumeCode(f.ctx, alice.ID, store.CodeEmailVerification, v1.CodeHash, 5, at(2*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)

	f.consume(r1, 0, at(2*time.Minute))
	f.consume(w1, 0, at(2*time.Minute))
}

func testCodeMismatch(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	c := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
	for i := range 2 {
		_, err := f.s.ConsumeCode(f.ctx, alice.ID, c.Type, digest("wrong"), 3, at(time.Minute))
		require.ErrorIs(t, err, store.ErrCodeMismatch, "wrong guess %d", i+1)
	}
	got, err := f.s.ConsumeCode(f.ctx, alice.ID, c.Type, c.CodeHash, 3, at(time.Minute))
	require.NoError(t, err)
	want := c
	want.IsUsed, want.Attempts = true, 2
	requireCode(t, want, got)
}

func testAttemptsExhausted(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	c := f.createCode(makeCode(alice, store.CodePasswordReset, "c1", at(0)))
	for i := range 3 {
		_, err := f.s.ConsumeCode(f.ctx, alice.ID, c.Type, digest("wrong"), 3, at(time.Minute))
		require.ErrorIs(t, err, store.ErrCodeMismatch, "wrong guess %d", i+1)
	}
	_, err := f.s.ConsumeCode(f.ctx, alice.ID, c.Type, c.CodeHash, 3, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the right code after the last attempt")
	_, err = f.s.ConsumeCode(f.ctx, alice.ID, c.Type, digest("wrong"), 3, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "a wrong code after the last attempt")

	fresh := f.createCode(makeCode(alice, store.CodePasswordReset, "c2", at(2*time.Minute)))
	f.consume(fresh, 0, at(3*time.Minute))
}

func testAttemptsPerCode(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	verify := f.createCode(makeCode(alice, store.CodeEmailVerification, "verify", at(0)))
	reset := f.createCode(makeCode(alice, store.CodePasswordReset, "reset", at(0)))
	bobs := f.createCode(makeCode(bob, store.CodeEmailVerification, "bob", at(0)))
	for range 3 {
		_, err := f.s.ConsumeCode(f.ctx, alice.ID, verify.Type, digest("wrong"), 3, at(time.Minute))
		require.ErrorIs(t, err, store.ErrCodeMismatch)
	}
	f.consume(reset, 0, at(time.Minute))
	f.consume(bobs, 0, at(time.Minute))
}

func testCodeNotFound(t *testing.T, mk maker) {
	tests := []struct {
		name string
		call func(f *fixture, c store.VerificationCode, bob store.User) error
	}{
		{"expires at that instant", func(f *fixture, c store.VerificationCode, _ store.User) error {
			_, err := f.s.ConsumeCode(f.ctx, c.UserID, c.Type, c.CodeHash, 5, c.ExpiresAt)
			return err
		}},
		{"expired", func(f *fixture, c store.VerificationCode, _ store.User) error {
			_, err := f.s.ConsumeCode(f.ctx, c.UserID, c.Type, c.CodeHash, 5, at(2*time.Hour))
			return err
		}},
		{"other user", func(f *fixture, c store.VerificationCode, bob store.User) error {
			_, err := f.s.ConsumeCode(f.ctx, bob.ID, c.Type, c.CodeHash, 5, at(time.Minute))
			return err
		}},
		{"unknown user", func(f *fixture, c store.VerificationCode, _ store.User) error {
			_, err := f.s.ConsumeCode(f.ctx, id("user", "nobody"), c.Type, c.CodeHash, 5, at(time.Minute))
			return err
		}},
		{"other type", func(f *fixture, c store.VerificationCode, _ store.User) error {
			_, err := f.s.ConsumeCode(f.ctx, c.UserID, store.CodePasswordReset, c.CodeHash, 5, at(time.Minute))
			return err
		}},
		{"wrong code of other type", func(f *fixture, c store.VerificationCode, _ store.User) error {
			_, err := f.s.ConsumeCode(f.ctx, c.UserID, store.CodePasswordReset, digest("wrong"), 5, at(time.Minute))
			return err
		}},
		{"no attempts allowed", func(f *fixture, c store.VerificationCode, _ store.User) error {
			_, err := f.s.ConsumeCode(f.ctx, c.UserID, c.Type, c.CodeHash, 0, at(time.Minute))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			c := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
			require.ErrorIs(t, tt.call(f, c, bob), store.ErrNotFound)
			f.consume(c, 0, at(time.Minute)) // untouched: unused, no attempt counted
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

	f.consume(c2, 0, at(2*time.Minute)) // the newest one
	_, err := f.s.ConsumeCode(f.ctx, alice.ID, c1.Type, c1.CodeHash, 5, at(2*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	f.consume(bobs, 0, at(2*time.Minute))
}

func testCodeIntegrity(t *testing.T, mk maker) {
	t.Run("unknown user", func(t *testing.T) {
		f := mk(t)
		f.newUser("alice")
		require.Error(t, f.s.CreateCode(f.ctx, makeCode(makeUser("nobody"), store.CodeEmailVerification, "n1", at(0))))
	})
	t.Run("duplicate id", func(t *testing.T) {
		f := mk(t)
		alice := f.newUser("alice")
		c1 := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
		dup := makeCode(alice, store.CodeEmailVerification, "c2", at(time.Minute))
		dup.ID = c1.ID
		require.Error(t, f.s.CreateCode(f.ctx, dup))
		f.consume(c1, 0, at(2*time.Minute)) // the failed insert voided nothing
	})
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

	got, err := f.s.VerifyEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(2*time.Minute))
	require.NoError(t, err)
	want := alice
	want.IsVerified, want.UpdatedAt = true, at(2*time.Minute)
	requireUser(t, want, got)
	requireUser(t, want, f.user(alice.ID))

	_, err = f.s.VerifyEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(3*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the code is used")
	// Two wrong guesses were counted against c: with a limit of 2 a fresh
	// code shows that attempts count on the code, not the user.
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
	a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
	verify := f.createCode(makeCode(alice, store.CodeEmailVerification, "v1", at(0)))
	c := f.createCode(makeCode(alice, store.CodePasswordReset, "r1", at(0)))
	newHash := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$" + digest("reset")[:43]

	err := f.s.ResetPasswordWithCode(f.ctx, alice.ID, verify.CodeHash, 5, newHash, at(time.Minute))
	require.ErrorIs(t, err, store.ErrCodeMismatch, "a verification code does not reset")
	err = f.s.ResetPasswordWithCode(f.ctx, id("user", "nobody"), c.CodeHash, 5, newHash, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	requireUser(t, alice, f.user(alice.ID))
	require.False(t, f.token(a1.TokenHash).IsRevoked, "a failed reset ends nothing")

	when := at(2 * time.Minute)
	require.NoError(t, f.s.ResetPasswordWithCode(f.ctx, alice.ID, c.CodeHash, 5, newHash, when))
	want := alice
	want.HashedPassword, want.UpdatedAt, want.TokensValidAfter = newHash, when, when
	requireUser(t, want, f.user(alice.ID))
	require.True(t, f.token(a1.TokenHash).IsRevoked, "every session ends")
	err = f.s.ResetPasswordWithCode(f.ctx, alice.ID, c.CodeHash, 5, newHash, at(3*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the code is used")
	f.consume(verify, 0, at(3*time.Minute)) // the verification code lives on
}
