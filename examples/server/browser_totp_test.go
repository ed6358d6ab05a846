package main

import (
	"encoding/base32"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/totp"
)

// authenticatorApp plays the user's authenticator app. The server spends a
// time step once per user and accepts the codes of the steps on either side
// of its current one, so the app gives the code of the step after the last
// one spent, which is at most the next step: a test that spends no more
// than two steps in a row never waits for the clock.
type authenticatorApp struct {
	secret []byte
	last   int64 // the last step spent
}

func (a *authenticatorApp) code(t *testing.T) string {
	t.Helper()
	period := int64(totp.Period / time.Second)
	now := time.Now().Unix() / period
	step := max(a.last+1, now)
	require.LessOrEqual(t, step, now+totp.Skew, "the next unspent step is beyond the server's window")
	a.last = step
	code, err := totp.Code(a.secret, time.Unix(step*period, 0))
	require.NoError(t, err)
	return code
}

// wrong returns a well-formed code that no step near now accepts.
func (a *authenticatorApp) wrong(t *testing.T) string {
	t.Helper()
	now := time.Now()
	for _, c := range []string{"000000", "111111", "222222"} {
		taken := false
		for d := -2; d <= 2; d++ {
			got, err := totp.Code(a.secret, now.Add(time.Duration(d)*totp.Period))
			require.NoError(t, err)
			taken = taken || got == c
		}
		if !taken {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// waitTOTP waits until the page shows the state of two-step verification:
// "off", "pending" or "on".
func waitTOTP(state string) chromedp.Action {
	return chromedp.WaitReady(`body[data-totp="`+state+`"]`, chromedp.ByQuery)
}

// TestBrowserTOTP: from the page, a password user sets up TOTP (the QR
// code and the key, a wrong code refused, then the app's code), gets ten
// recovery codes, signs in again with the password and a code at the
// second step, makes new recovery codes with an old one, is refused when
// turning TOTP off with an old code that no longer works (nothing
// changes), and turns it off with a new one. AUTH_MFA is not set: the
// example server has it on by default here.
func TestBrowserTOTP(t *testing.T) {
	tab := browser(t)
	ts := startWebServer(t, nil)
	s := &shots{dir: t.TempDir()}
	t.Logf("screenshots in %s", s.dir)
	const pw = "Correct-Horse-7"
	poll := func(expr string) chromedp.Action {
		return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(20*time.Millisecond))
	}
	codesShown := func(n int) []string {
		t.Helper()
		var codes []string
		require.NoError(t, chromedp.Run(tab,
			chromedp.WaitVisible("#totp-codes", chromedp.ByID),
			poll(fmt.Sprintf(`document.querySelectorAll("#totp-codes-list li").length === %d`, n)),
			chromedp.Evaluate(`[...document.querySelectorAll("#totp-codes-list li")].map((li) => li.textContent)`, &codes),
		))
		return codes
	}

	signUp(t, tab, ts, s, "tess")
	require.NoError(t, chromedp.Run(tab,
		waitTOTP("off"),
		chromedp.WaitVisible("#totp-setup-form", chromedp.ByID),
		waitText("#totp-state", "Off"),
	))

	// A wrong password is refused once, and the session stays.
	require.NoError(t, chromedp.Run(tab,
		fill("#totp-setup-password", "Wrong-Horse-7"),
		chromedp.Click(`#totp-setup-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#error", "The current password is incorrect"),
		waitTOTP("off"),
		waitState("signed-in"),
	))

	// Set up: the QR code (a data: URL the page's policy allows) and the key.
	var qrWidth int
	var key string
	require.NoError(t, chromedp.Run(tab,
		fill("#totp-setup-password", pw),
		chromedp.Click(`#totp-setup-form button[type="submit"]`, chromedp.ByQuery),
		waitTOTP("pending"),
		chromedp.WaitVisible("#totp-qr", chromedp.ByID),
		poll(`document.getElementById("totp-qr").complete`),
		chromedp.Evaluate(`document.getElementById("totp-qr").naturalWidth`, &qrWidth),
		chromedp.Evaluate(`document.getElementById("totp-secret").textContent`, &key),
		chromedp.WaitNotVisible("#totp-setup-form", chromedp.ByID),
	))
	assert.Positive(t, qrWidth, "the QR code image loads")
	// Exactly one refused setup: the page did not send the wrong password
	// again after a refresh.
	ts.Logs.waitFor(t, "the setup", func(log string) (string, bool) {
		return "", strings.Contains(log, "path=/web/api/v1/auth/mfa/totp/setup status=200")
	})
	assert.Equal(t, 1, strings.Count(ts.Logs.String(), "path=/web/api/v1/auth/mfa/totp/setup status=401"))
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(key, " ", ""))
	require.NoError(t, err, "the key on the page: %q", key)
	app := &authenticatorApp{secret: secret}
	s.take(t, tab, "totp-setup")

	// A wrong code changes nothing; the app's code turns TOTP on and shows
	// ten recovery codes once.
	require.NoError(t, chromedp.Run(tab,
		fill("#totp-confirm-code", app.wrong(t)),
		chromedp.Click(`#totp-confirm-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#error", "The code is invalid"),
		waitTOTP("pending"),
		chromedp.WaitVisible("#totp-qr", chromedp.ByID),
		fill("#totp-confirm-code", app.code(t)),
		chromedp.Click(`#totp-confirm-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Two-step verification is on"),
		waitTOTP("on"),
		waitText("#totp-codes", "Save these recovery codes now"),
		waitText("#totp-state", "10 recovery codes left"),
		chromedp.WaitNotVisible("#totp-enrol", chromedp.ByID),
	))
	first := codesShown(10)
	s.take(t, tab, "totp-recovery-codes")
	var secretLeft string
	require.NoError(t, chromedp.Run(tab,
		chromedp.Evaluate(`document.getElementById("totp-secret").textContent`, &secretLeft),
		chromedp.Click("#totp-codes-done", chromedp.ByID),
		chromedp.WaitNotVisible("#totp-codes", chromedp.ByID),
	))
	assert.Empty(t, secretLeft, "the key leaves the page once TOTP is on")

	// Sign out and in again: the password, then a code at the second step.
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#signout", chromedp.ByID),
		waitState("signed-out"),
		fill("#signin-username", "tess"),
		fill("#signin-password", pw),
		chromedp.Click(`#signin-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#mfa-section", chromedp.ByID),
		fill("#mfa-code", app.code(t)),
		chromedp.Click("#mfa-verify", chromedp.ByID),
		waitState("signed-in"),
		chromedp.WaitReady(`body[data-signin="totp"]`, chromedp.ByQuery),
		waitTOTP("on"),
		waitText("#totp-state", "10 recovery codes left"),
		chromedp.WaitVisible("#totp-manage-form", chromedp.ByID),
	))

	// New recovery codes, with one of the first set (a recovery code, so no
	// time step is spent): the old ones stop working.
	require.NoError(t, chromedp.Run(tab,
		fill("#totp-manage-password", pw),
		fill("#totp-manage-code", first[0]),
		chromedp.Click("#totp-regenerate", chromedp.ByID),
		waitText("#status", "New recovery codes"),
		waitText("#totp-codes", "Save these recovery codes now"),
	))
	second := codesShown(10)
	for _, c := range second {
		assert.NotContains(t, first, c)
	}
	require.NoError(t, chromedp.Run(tab,
		waitText("#totp-state", "10 recovery codes left"),
		chromedp.Click("#totp-codes-done", chromedp.ByID),
		chromedp.WaitNotVisible("#totp-codes", chromedp.ByID),
	))

	// Turning off with an old recovery code is refused and changes
	// nothing, as a reload shows.
	require.NoError(t, chromedp.Run(tab,
		fill("#totp-manage-password", pw),
		fill("#totp-manage-code", first[1]),
		chromedp.Click("#totp-disable", chromedp.ByID),
		waitText("#error", "The code is invalid"),
		chromedp.Reload(),
		waitState("signed-in"),
		waitTOTP("on"),
		waitText("#totp-state", "10 recovery codes left"),
	))
	s.take(t, tab, "totp-on")

	// The password changes in another tab of the browser, which revokes
	// this tab's access token: turning off first meets a refused token, and
	// the page refreshes from the shared session and sends it again.
	const newPW = "Battery-Staple-9"
	tab2 := newTab(t, tab)
	require.NoError(t, chromedp.Run(tab2,
		chromedp.Navigate(ts.URL+"/"),
		waitState("signed-in"),
		fill("#password-current", pw),
		fill("#password-new", newPW),
		chromedp.Click(`#password-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Password changed"),
	))

	// Turn off with a new recovery code; the password alone signs in again.
	require.NoError(t, chromedp.Run(tab,
		fill("#totp-manage-password", newPW),
		fill("#totp-manage-code", second[0]),
		chromedp.Click("#totp-disable", chromedp.ByID),
		waitText("#status", "Two-step verification is off"),
		waitTOTP("off"),
		chromedp.WaitVisible("#totp-setup-form", chromedp.ByID),
		chromedp.WaitNotVisible("#totp-manage-form", chromedp.ByID),
	))
	ts.Logs.waitFor(t, "turning off", func(log string) (string, bool) {
		return "", strings.Contains(log, "path=/web/api/v1/auth/mfa/totp/disable status=204")
	})
	assert.Contains(t, ts.Logs.String(), "path=/web/api/v1/auth/mfa/totp/disable status=401", "the revoked token was refused first")
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#signout", chromedp.ByID),
		waitState("signed-out"),
		fill("#signin-username", "tess"),
		fill("#signin-password", newPW),
		chromedp.Click(`#signin-form button[type="submit"]`, chromedp.ByQuery),
		waitState("signed-in"),
		chromedp.WaitReady(`body[data-signin="password"]`, chromedp.ByQuery),
		waitTOTP("off"),
	))
	s.take(t, tab, "totp-off")
}
