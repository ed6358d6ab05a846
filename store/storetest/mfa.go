package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func secondFactorCases() []testCase {
	return []testCase{
		{"PendingAndConfirm", testFactorPendingAndConfirm},
		{"SetupTwiceReplaces", testFactorSetupTwice},
		{"ConfirmedIsNotReplaced", testFactorConfirmedStays},
		{"ConfirmNeedsThePendingSecret", testFactorConfirmStale},
		{"StepCompareAndSet", testFactorStep},
		{"RecoveryCodeOnce", testFactorRecoveryOnce},
		{"ReplaceRecoveryCodes", testFactorReplaceCodes},
		{"DuplicateDigests", testFactorDuplicateDigests},
		{"Delete", testFactorDelete},
		{"DeleteUser", testFactorDeleteUser},
		{"PasswordResetKeepsFactor", testFactorSurvivesReset},
		{"ConcurrentStep", testFactorConcurrentStep},
		{"ConcurrentRecoveryCode", testFactorConcurrentRecovery},
	}
}

// factorFixture is a fixture whose store keeps second factors.
func factorFixture(t *testing.T, mk maker) (*fixture, store.SecondFactors) {
	f := mk(t)
	return f, f.s.(store.SecondFactors)
}

// sealed stands in for a sealed TOTP secret: bytes a text column could
// not hold.
func sealed(label string) []byte { return append([]byte{1, 0, 0xff}, label...) }

func recoveryDigests(label string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = digest(fmt.Sprintf("recovery:%s:%d", label, i))
	}
	return out
}

// enrol gives u a confirmed secret with last step step and ten codes.
func (f *fixture) enrol(sf store.SecondFactors, u store.User, step int64) []string {
	f.t.Helper()
	require.NoError(f.t, sf.PutPendingTOTP(f.ctx, u.ID, sealed(u.Username), at(0)), "PutPendingTOTP")
	codes := recoveryDigests(u.Username, 10)
	require.NoError(f.t, sf.ConfirmTOTP(f.ctx, u.ID, sealed(u.Username), step, codes, at(time.Minute)), "ConfirmTOTP")
	return codes
}

func (f *fixture) factor(sf store.SecondFactors, userID string) store.SecondFactor {
	f.t.Helper()
	got, err := sf.SecondFactor(f.ctx, userID)
	require.NoError(f.t, err, "SecondFactor")
	requireUTC(f.t, "SecondFactor", map[string]time.Time{"CreatedAt": got.CreatedAt, "ConfirmedAt": got.ConfirmedAt})
	return got
}

func testFactorPendingAndConfirm(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice := f.newUser("alice")
	_, err := sf.SecondFactor(f.ctx, alice.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "no factor before setup")

	require.NoError(t, sf.PutPendingTOTP(f.ctx, alice.ID, sealed("a"), at(0)))
	got := f.factor(sf, alice.ID)
	require.Equal(t, store.SecondFactor{UserID: alice.ID, TOTPSecret: sealed("a"), CreatedAt: norm(at(0))},
		normFactor(got), "a pending secret")
	require.ErrorIs(t, sf.UseTOTPStep(f.ctx, alice.ID, 5, at(0)), store.ErrNotFound, "a pending secret spends no step")

	codes := recoveryDigests("a", 10)
	require.NoError(t, sf.ConfirmTOTP(f.ctx, alice.ID, sealed("a"), 100, codes, at(time.Minute)))
	got = f.factor(sf, alice.ID)
	require.Equal(t, store.SecondFactor{
		UserID: alice.ID, TOTPSecret: sealed("a"), Confirmed: true, LastStep: 100,
		RecoveryCodesLeft: 10, CreatedAt: norm(at(0)), ConfirmedAt: norm(at(time.Minute)),
	}, normFactor(got))

	require.ErrorIs(t, sf.PutPendingTOTP(f.ctx, "no-such-user", sealed("x"), at(0)), store.ErrNotFound)
	_, err = sf.SecondFactor(f.ctx, "no-such-user")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func normFactor(sf store.SecondFactor) store.SecondFactor {
	sf.CreatedAt, sf.ConfirmedAt = norm(sf.CreatedAt), norm(sf.ConfirmedAt)
	return sf
}

func testFactorSetupTwice(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice := f.newUser("alice")
	require.NoError(t, sf.PutPendingTOTP(f.ctx, alice.ID, sealed("first"), at(0)))
	require.NoError(t, sf.PutPendingTOTP(f.ctx, alice.ID, sealed("second"), at(time.Minute)))
	got := f.factor(sf, alice.ID)
	require.True(t, bytes.Equal(sealed("second"), got.TOTPSecret), "the second setup replaces the first")
	require.False(t, got.Confirmed)
	require.ErrorIs(t, sf.ConfirmTOTP(f.ctx, alice.ID, sealed("first"), 1, nil, at(time.Minute)), store.ErrStale,
		"the replaced secret cannot be confirmed")
	require.NoError(t, sf.ConfirmTOTP(f.ctx, alice.ID, sealed("second"), 1, recoveryDigests("a", 2), at(time.Minute)))
}

func testFactorConfirmedStays(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice := f.newUser("alice")
	f.enrol(sf, alice, 7)
	requireConflict(t, sf.PutPendingTOTP(f.ctx, alice.ID, sealed("other"), at(time.Hour)), store.FieldTOTP)
	got := f.factor(sf, alice.ID)
	require.True(t, got.Confirmed)
	require.True(t, bytes.Equal(sealed("alice"), got.TOTPSecret), "the confirmed secret stays")
	require.Equal(t, int64(7), got.LastStep)
}

func testFactorConfirmStale(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	require.ErrorIs(t, sf.ConfirmTOTP(f.ctx, alice.ID, sealed("alice"), 1, nil, at(0)), store.ErrStale, "no pending secret")
	f.enrol(sf, alice, 1)
	require.ErrorIs(t, sf.ConfirmTOTP(f.ctx, alice.ID, sealed("alice"), 9, recoveryDigests("x", 1), at(0)), store.ErrStale,
		"confirmed already")
	got := f.factor(sf, alice.ID)
	require.Equal(t, int64(1), got.LastStep, "a refused confirmation changes nothing")
	require.Equal(t, 10, got.RecoveryCodesLeft)
	require.NoError(t, sf.PutPendingTOTP(f.ctx, bob.ID, sealed("bob"), at(0)))
	require.ErrorIs(t, sf.ConfirmTOTP(f.ctx, bob.ID, sealed("alice"), 1, nil, at(0)), store.ErrStale, "another secret")
	require.ErrorIs(t, sf.ConfirmTOTP(f.ctx, "no-such-user", sealed("alice"), 1, nil, at(0)), store.ErrStale)
}

func testFactorStep(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	f.enrol(sf, alice, 100)
	require.ErrorIs(t, sf.UseTOTPStep(f.ctx, alice.ID, 100, at(0)), store.ErrStale, "the confirming step again")
	require.ErrorIs(t, sf.UseTOTPStep(f.ctx, alice.ID, 99, at(0)), store.ErrStale, "an older step")
	require.NoError(t, sf.UseTOTPStep(f.ctx, alice.ID, 101, at(0)))
	require.ErrorIs(t, sf.UseTOTPStep(f.ctx, alice.ID, 101, at(0)), store.ErrStale, "a replay")
	require.NoError(t, sf.UseTOTPStep(f.ctx, alice.ID, 103, at(0)))
	require.ErrorIs(t, sf.UseTOTPStep(f.ctx, alice.ID, 102, at(0)), store.ErrStale, "a step before the last")
	require.Equal(t, int64(103), f.factor(sf, alice.ID).LastStep)
	require.ErrorIs(t, sf.UseTOTPStep(f.ctx, bob.ID, 200, at(0)), store.ErrNotFound, "no factor")
}

func testFactorRecoveryOnce(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	codes := f.enrol(sf, alice, 1)
	f.enrol(sf, bob, 1)
	require.NoError(t, sf.UseRecoveryCode(f.ctx, alice.ID, codes[3], at(time.Hour)))
	require.ErrorIs(t, sf.UseRecoveryCode(f.ctx, alice.ID, codes[3], at(time.Hour)), store.ErrNotFound, "used")
	require.ErrorIs(t, sf.UseRecoveryCode(f.ctx, bob.ID, codes[4], at(time.Hour)), store.ErrNotFound, "alice's code for bob")
	require.ErrorIs(t, sf.UseRecoveryCode(f.ctx, alice.ID, digest("unknown"), at(time.Hour)), store.ErrNotFound)
	require.ErrorIs(t, sf.UseRecoveryCode(f.ctx, alice.ID, "\x00", at(time.Hour)), store.ErrNotFound)
	require.Equal(t, 9, f.factor(sf, alice.ID).RecoveryCodesLeft)
	require.Equal(t, 10, f.factor(sf, bob.ID).RecoveryCodesLeft)
}

func testFactorReplaceCodes(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	old := f.enrol(sf, alice, 1)
	require.NoError(t, sf.UseRecoveryCode(f.ctx, alice.ID, old[0], at(time.Hour)))
	fresh := recoveryDigests("fresh", 10)
	require.NoError(t, sf.ReplaceRecoveryCodes(f.ctx, alice.ID, fresh, at(time.Hour)))
	require.Equal(t, 10, f.factor(sf, alice.ID).RecoveryCodesLeft)
	for _, d := range old {
		require.ErrorIs(t, sf.UseRecoveryCode(f.ctx, alice.ID, d, at(time.Hour)), store.ErrNotFound, "an old code")
	}
	require.NoError(t, sf.UseRecoveryCode(f.ctx, alice.ID, fresh[9], at(time.Hour)))

	require.ErrorIs(t, sf.ReplaceRecoveryCodes(f.ctx, bob.ID, fresh, at(time.Hour)), store.ErrNotFound, "no factor")
	require.NoError(t, sf.PutPendingTOTP(f.ctx, bob.ID, sealed("bob"), at(0)))
	require.ErrorIs(t, sf.ReplaceRecoveryCodes(f.ctx, bob.ID, fresh, at(time.Hour)), store.ErrNotFound, "pending only")
}

func testFactorDuplicateDigests(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice := f.newUser("alice")
	old := f.enrol(sf, alice, 1)
	dup := []string{digest("d1"), digest("d2"), digest("d1")}
	requireConflict(t, sf.ReplaceRecoveryCodes(f.ctx, alice.ID, dup, at(time.Hour)), store.FieldDigest)
	require.NoError(t, sf.UseRecoveryCode(f.ctx, alice.ID, old[1], at(time.Hour)), "the old codes stay after a refused replacement")
}

func testFactorDelete(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	codes := f.enrol(sf, alice, 1)
	bobCodes := f.enrol(sf, bob, 1)
	require.NoError(t, sf.DeleteSecondFactor(f.ctx, alice.ID))
	_, err := sf.SecondFactor(f.ctx, alice.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, sf.UseRecoveryCode(f.ctx, alice.ID, codes[0], at(time.Hour)), store.ErrNotFound, "codes go with the factor")
	require.ErrorIs(t, sf.DeleteSecondFactor(f.ctx, alice.ID), store.ErrNotFound, "twice")
	require.NoError(t, sf.UseRecoveryCode(f.ctx, bob.ID, bobCodes[0], at(time.Hour)), "bob keeps his")

	// A new enrolment starts from step 0 and fresh codes.
	require.NoError(t, sf.PutPendingTOTP(f.ctx, alice.ID, sealed("again"), at(time.Hour)))
	require.Equal(t, 0, f.factor(sf, alice.ID).RecoveryCodesLeft)
	require.NoError(t, sf.DeleteSecondFactor(f.ctx, alice.ID), "a pending secret too")
}

func testFactorDeleteUser(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	codes := f.enrol(sf, alice, 1)
	f.enrol(sf, bob, 1)
	require.NoError(t, f.s.DeleteUser(f.ctx, alice.ID))
	_, err := sf.SecondFactor(f.ctx, alice.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	// The same ID registered again finds nothing of the old account.
	f.createUser(alice)
	_, err = sf.SecondFactor(f.ctx, alice.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a new account with the old ID has no factor")
	require.ErrorIs(t, sf.UseRecoveryCode(f.ctx, alice.ID, codes[0], at(time.Hour)), store.ErrNotFound)
	require.True(t, f.factor(sf, bob.ID).Confirmed)
}

func testFactorSurvivesReset(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice := f.newUser("alice")
	f.enrol(sf, alice, 1)
	c := f.createCode(makeCode(alice, store.CodePasswordReset, "reset", at(0)))
	f.spend(c, at(time.Minute))
	require.NoError(t, f.s.SetPassword(f.ctx, alice.ID, hash("reset"), hash("changed"), at(time.Hour), ""))
	got := f.factor(sf, alice.ID)
	require.True(t, got.Confirmed, "a password reset or change keeps the second factor")
	require.Equal(t, 10, got.RecoveryCodesLeft)
}

func testFactorConcurrentStep(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice := f.newUser("alice")
	f.enrol(sf, alice, 1)
	const n = 50
	errs := parallel(n, func(int) error { return sf.UseTOTPStep(f.ctx, alice.ID, 2, at(time.Hour)) })
	require.NoError(t, firstOther(errs, store.ErrStale))
	require.Equal(t, map[string]int{"ok": 1, store.ErrStale.Error(): n - 1}, tally(errs, store.ErrStale))
	require.Equal(t, int64(2), f.factor(sf, alice.ID).LastStep)
}

func testFactorConcurrentRecovery(t *testing.T, mk maker) {
	f, sf := factorFixture(t, mk)
	alice := f.newUser("alice")
	codes := f.enrol(sf, alice, 1)
	const n = 50
	errs := parallel(n, func(int) error { return sf.UseRecoveryCode(f.ctx, alice.ID, codes[5], at(time.Hour)) })
	require.NoError(t, firstOther(errs, store.ErrNotFound))
	require.Equal(t, map[string]int{"ok": 1, store.ErrNotFound.Error(): n - 1}, tally(errs, store.ErrNotFound))
	require.Equal(t, 9, f.factor(sf, alice.ID).RecoveryCodesLeft)
}
