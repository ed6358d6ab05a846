package auth_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
)

// TestEnumerationTimings measures, on SQLite, every public endpoint that
// takes an identifier, for a registered and an unknown one, and reports the
// medians. It asserts no time (a test never does): the figures are for the
// reader, and the behaviour behind them (the same work on both paths) is
// asserted by the flow tests. Limits are off so that every sample does the
// endpoint's full work.
func TestEnumerationTimings(t *testing.T) {
	if testing.Short() {
		t.Skip("timing samples are skipped in -short mode")
	}
	f := newFixture(t, newSQLiteStore, func(c *auth.Config) {
		c.LoginMaxFailures, c.CodeGuessesPerNetwork = -1, -1
		c.CodeResendCooldown, c.CodeSendsPerHour = -1, -1
	})
	ctx := context.Background()
	f.verifiedUser(t, "known")
	_, err := f.svc.Register(ctx, "pending", "pending@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	// A username that its email does not show.
	_, err = f.svc.Register(ctx, "wombat", "owner@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)

	const samples = 101
	median := func(fn func()) time.Duration {
		d := make([]time.Duration, samples)
		for i := range d {
			start := time.Now()
			fn()
			d[i] = time.Since(start)
		}
		slices.Sort(d)
		return d[samples/2]
	}
	for _, tt := range []struct {
		name           string
		known, unknown func()
	}{
		{"login (wrong password / unknown user)",
			func() { _, _ = f.svc.Login(ctx, "known", "Wrong-Password-1", auth.Client{}) },
			func() { _, _ = f.svc.Login(ctx, "nobody", "Wrong-Password-1", auth.Client{}) }},
		{"verify-email (wrong code)",
			func() { _, _ = f.svc.VerifyEmail(ctx, "pending@example.com", "000000", auth.Client{}) },
			func() { _, _ = f.svc.VerifyEmail(ctx, "nobody@example.com", "000000", auth.Client{}) }},
		{"resend-verification",
			func() { _ = f.svc.ResendVerification(ctx, "pending@example.com", auth.Client{}) },
			func() { _ = f.svc.ResendVerification(ctx, "nobody@example.com", auth.Client{}) }},
		{"forgot-password",
			func() { _ = f.svc.ForgotPassword(ctx, "known@example.com", auth.Client{}) },
			func() { _ = f.svc.ForgotPassword(ctx, "nobody@example.com", auth.Client{}) }},
		{"reset-password (wrong code)",
			func() { _ = f.svc.ResetPassword(ctx, "known@example.com", "000000", otherPassword, auth.Client{}) },
			func() { _ = f.svc.ResetPassword(ctx, "nobody@example.com", "000000", otherPassword, auth.Client{}) }},
		{"reset-password (password with the username, wrong code)",
			func() { _ = f.svc.ResetPassword(ctx, "owner@example.com", "000000", "Wombat-Secret-99", auth.Client{}) },
			func() {
				_ = f.svc.ResetPassword(ctx, "nobody@example.com", "000000", "Wombat-Secret-99", auth.Client{})
			}},
	} {
		// Interleaved halves, so that a drift of the machine hits both.
		k1, u1 := median(tt.known), median(tt.unknown)
		u2, k2 := median(tt.unknown), median(tt.known)
		t.Logf("%-58s registered %8v / %8v   unknown %8v / %8v", tt.name, k1, k2, u1, u2)
	}
}
