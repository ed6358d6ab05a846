package main

import (
	"context"
	"encoding/base32"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/totp"
)

// The page's passkeys, driven in Chromium with the DevTools virtual
// authenticator: a platform authenticator (internal transport) with
// resident keys and user verification, as a phone or a laptop with a
// fingerprint reader has. It lives in the tab: its credentials survive a
// restart of the server but not a new tab.
//
// The page runs at http://localhost:<port>, the default relying party of
// the example server (RP ID localhost, the origin of its listening port);
// 127.0.0.1 is not a valid relying party ID.
//
// The virtual authenticator answers a pending autofill request (conditional
// mediation) at once when it holds a passkey of the site, as if the user
// had picked it from the username field's suggestions. A test that means
// to press "Sign in with a passkey" instead keeps that request pending: it
// turns the authenticator's automatic presence off while the sign-in form
// shows and the request starts (see holdAutofill).

// virtualAuthenticator is the tab's authenticator.
type virtualAuthenticator struct {
	tab context.Context
	id  webauthn.AuthenticatorID
}

// addAuthenticator adds the tab's authenticator. synced makes its passkeys
// backed up (the BE and BS flags), as a password manager's are.
func addAuthenticator(t *testing.T, tab context.Context, synced bool) *virtualAuthenticator {
	t.Helper()
	va := &virtualAuthenticator{tab: tab}
	require.NoError(t, chromedp.Run(tab,
		webauthn.Enable(),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			va.id, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
				DefaultBackupEligibility:    synced,
				DefaultBackupState:          synced,
			}).Do(ctx)
			return err
		}),
	), "adding the virtual authenticator")
	return va
}

// credentials returns the passkeys the authenticator holds.
func (va *virtualAuthenticator) credentials(t *testing.T) []*webauthn.Credential {
	t.Helper()
	var creds []*webauthn.Credential
	require.NoError(t, chromedp.Run(va.tab, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		creds, err = webauthn.GetCredentials(va.id).Do(ctx)
		return err
	})))
	return creds
}

// presence turns the authenticator's automatic user presence on or off.
// Off, a request that reaches it waits for a touch that never comes.
func (va *virtualAuthenticator) presence(t *testing.T, on bool) {
	t.Helper()
	require.NoError(t, chromedp.Run(va.tab, chromedp.ActionFunc(func(ctx context.Context) error {
		return webauthn.SetAutomaticPresenceSimulation(va.id, on).Do(ctx)
	})))
}

// holdAutofill runs actions, which bring the sign-in form up, with the
// authenticator's presence off, so that the page's autofill request stays
// pending as it does while a person has not picked a passkey; then it
// turns presence on again for the ceremony the test starts next.
func (va *virtualAuthenticator) holdAutofill(t *testing.T, actions ...chromedp.Action) {
	t.Helper()
	va.presence(t, false)
	var available bool
	require.NoError(t, chromedp.Run(va.tab, append(actions,
		waitState("signed-out"),
		chromedp.WaitVisible(`body[data-autofill="waiting"]`, chromedp.ByQuery),
		// The page has made its request. Another call on the same channel
		// to the browser's WebAuthn side is answered only after the
		// browser has taken the request, with presence still off.
		chromedp.Evaluate(`PublicKeyCredential.isConditionalMediationAvailable()`, &available, awaitPromise),
	)...))
	require.True(t, available)
	va.presence(t, true)
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// localhostURL is the URL of the page at localhost, the relying party.
func localhostURL(t *testing.T, ts *testServer) string {
	t.Helper()
	_, port, err := net.SplitHostPort(ts.URL[len("http://"):])
	require.NoError(t, err)
	return "http://localhost:" + port
}

// startPasskeyServer starts the example server on ln with databaseURL and
// no passkey settings (the defaults), and points ts.URL at localhost.
func startPasskeyServer(t *testing.T, ln net.Listener, databaseURL string, extra map[string]string) *testServer {
	t.Helper()
	ts := startServerOn(t, ln, envOf(fastHashing, map[string]string{
		"DATABASE_URL":               databaseURL,
		"JWT_SECRET_KEY":             testSecret,
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
	}, extra))
	ts.URL = localhostURL(t, ts)
	return ts
}

// passkeySignUp makes an account with a passkey on the page and verifies
// its email with the mailed code; nobody is signed in yet.
func passkeySignUp(t *testing.T, tab context.Context, ts *testServer, s *shots, name string) {
	t.Helper()
	email := name + "@example.com"
	require.NoError(t, chromedp.Run(tab,
		chromedp.Navigate(ts.URL+"/"),
		waitState("signed-out"),
		chromedp.WaitVisible("#passkey-signup-form", chromedp.ByID),
		fill("#passkey-signup-username", name),
		fill("#passkey-signup-email", email),
		chromedp.Click(`#passkey-signup-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Account created with a passkey"),
	))
	s.take(t, tab, "passkey-account-created")
	code := ts.Logs.logMailCode(t, email, subjectVerify, 0)
	require.NoError(t, chromedp.Run(tab,
		fill("#verify-code", code),
		chromedp.Click(`#verify-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Sign in with your passkey"),
	))
}

// signInWithButton presses "Sign in with a passkey" and waits for the
// account of name.
func signInWithButton(t *testing.T, tab context.Context, name string) {
	t.Helper()
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#passkey-signin", chromedp.ByID),
		waitState("signed-in"),
		chromedp.WaitReady(`body[data-signin="passkey"]`, chromedp.ByQuery),
		waitText("#me-username", name),
		waitPasskeys(1),
	))
}

// waitPasskeys waits until the Passkeys section lists n passkeys.
func waitPasskeys(n int) chromedp.Action {
	return chromedp.Poll(`document.body.dataset.passkeys === "`+strconv.Itoa(n)+`" && document.querySelectorAll("#passkeys li").length === `+strconv.Itoa(n),
		nil, chromedp.WithPollingInterval(20*time.Millisecond))
}

func TestBrowserPasskeyAccountSQLite(t *testing.T) {
	passkeyAccountFlow(t, "sqlite:"+filepath.Join(t.TempDir(), "passkeys.db"))
}

func TestBrowserPasskeyAccountPostgres(t *testing.T) {
	chromium(t)
	passkeyAccountFlow(t, postgresURL(t))
}

// passkeyAccountFlow: an account made with a passkey and no password,
// verified by the mailed code, signs in with the passkey button, signs out
// and in again; then the server restarts on the same database and port
// and the same passkey, in the same tab, still signs in.
func passkeyAccountFlow(t *testing.T, databaseURL string) {
	tab := browser(t)
	va := addAuthenticator(t, tab, false)
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	ts := startPasskeyServer(t, ln, databaseURL, nil)
	s := &shots{dir: t.TempDir()}
	t.Logf("screenshots in %s", s.dir)

	passkeySignUp(t, tab, ts, s, "pia")
	creds := va.credentials(t)
	require.Len(t, creds, 1, "the authenticator holds the new passkey")
	assert.Equal(t, "localhost", creds[0].RpID)
	assert.True(t, creds[0].IsResidentCredential, "a discoverable credential: no username needed to sign in")

	signInWithButton(t, tab, "pia")
	s.take(t, tab, "passkey-signed-in")
	var meta string
	require.NoError(t, chromedp.Run(tab, chromedp.Text(`#passkeys li .meta`, &meta, chromedp.ByQuery)))
	assert.Contains(t, meta, "last used", "the sign-in used the passkey: %q", meta)
	assert.Contains(t, meta, "on one device only")

	va.holdAutofill(t, chromedp.Click("#signout", chromedp.ByID))
	signInWithButton(t, tab, "pia")

	// Restart on the same database and the same port (the same origin).
	va.holdAutofill(t, chromedp.Click("#signout", chromedp.ByID))
	require.NoError(t, ts.stop(t))
	ln2, err := net.Listen("tcp", addr)
	require.NoError(t, err, "listening again on %s", addr)
	ts2 := startPasskeyServer(t, ln2, databaseURL, nil)
	require.Equal(t, ts.URL, ts2.URL)
	signInWithButton(t, tab, "pia")
	s.take(t, tab, "passkey-after-restart")
	require.Len(t, va.credentials(t), 1)

	// The session of the new server survives a reload (the refresh cookie).
	require.NoError(t, chromedp.Run(tab,
		chromedp.Reload(),
		waitState("signed-in"),
		waitText("#me-username", "pia"),
		waitPasskeys(1),
	))
}

// TestBrowserPasskeyAdd: a password account adds a passkey from the
// Passkeys section, sees it listed and renames it; after signing out, the
// username field's autofill signs in with it. Removed (the password
// remains), it is gone from the list, and the authenticator's copy no
// longer signs in.
func TestBrowserPasskeyAdd(t *testing.T) {
	tab := browser(t)
	va := addAuthenticator(t, tab, true)
	ts := startPasskeyServer(t, listenLoopback(t), "memory", nil)
	s := &shots{dir: t.TempDir()}
	t.Logf("screenshots in %s", s.dir)

	signUp(t, tab, ts, s, "alice")
	require.NoError(t, chromedp.Run(tab,
		waitPasskeys(0),
		chromedp.WaitVisible("#passkeys-empty", chromedp.ByID),
		fill("#passkey-name", "Work laptop"),
		chromedp.Click(`#passkey-add-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Passkey added: Work laptop"),
		waitPasskeys(1),
		waitText("#passkeys li .name", "Work laptop"),
	))
	require.Len(t, va.credentials(t), 1)
	var meta string
	require.NoError(t, chromedp.Run(tab, chromedp.Text(`#passkeys li .meta`, &meta, chromedp.ByQuery)))
	assert.Contains(t, meta, "added ")
	assert.Contains(t, meta, "not used yet")
	var badge string
	require.NoError(t, chromedp.Run(tab, chromedp.Text(`#passkeys li .badge`, &badge, chromedp.ByQuery)))
	assert.Equal(t, "synced", badge)
	s.take(t, tab, "passkey-added")

	require.NoError(t, chromedp.Run(tab,
		chromedp.Click(`#passkeys li button[aria-label="Rename passkey Work laptop"]`, chromedp.ByQuery),
		fill(`#passkeys li form.rename input`, "Home laptop"),
		chromedp.Click(`#passkeys li form.rename button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Passkey renamed to Home laptop"),
		waitPasskeys(1),
		waitText("#passkeys li .name", "Home laptop"),
	))
	s.take(t, tab, "passkey-renamed")

	// Signing out brings up the sign-in form, whose autofill request the
	// authenticator answers: the passkey signs in.
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#signout", chromedp.ByID),
		chromedp.WaitReady(`body[data-signin="passkey-autofill"]`, chromedp.ByQuery),
		waitState("signed-in"),
		waitText("#me-username", "alice"),
		waitPasskeys(1),
		waitText("#passkeys li .meta", "last used"),
	))
	s.take(t, tab, "passkey-autofill")

	require.NoError(t, chromedp.Run(tab,
		chromedp.Click(`#passkeys li button[aria-label="Remove passkey Home laptop"]`, chromedp.ByQuery),
		waitText("#status", "Passkey removed"),
		waitPasskeys(0),
		chromedp.WaitVisible("#passkeys-empty", chromedp.ByID),
	))
	s.take(t, tab, "passkey-removed")

	// The authenticator still holds its copy, which the server no longer
	// knows: autofill offers it, and the sign-in is refused.
	require.Len(t, va.credentials(t), 1)
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#signout", chromedp.ByID),
		waitState("signed-out"),
		waitText("#error", "This passkey is not registered here"),
	))
	ts.Logs.waitFor(t, "the refused passkey", func(log string) (string, bool) {
		return "", strings.Contains(log, "path=/web/api/v1/auth/passkeys/login/finish status=401")
	})
	var state string
	require.NoError(t, chromedp.Run(tab, chromedp.AttributeValue("body", "data-state", &state, nil, chromedp.ByQuery)))
	assert.Equal(t, "signed-out", state)
	s.take(t, tab, "removed-passkey-refused")
}

// TestBrowserPasskeyLastLoginMethod: an account whose only way to sign in
// is its passkey cannot remove it; the page says why, and the passkey
// stays.
func TestBrowserPasskeyLastLoginMethod(t *testing.T) {
	tab := browser(t)
	addAuthenticator(t, tab, false)
	ts := startPasskeyServer(t, listenLoopback(t), "memory", nil)
	s := &shots{dir: t.TempDir()}
	t.Logf("screenshots in %s", s.dir)

	passkeySignUp(t, tab, ts, s, "pat")
	signInWithButton(t, tab, "pat")
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click(`#passkeys li button.danger`, chromedp.ByQuery),
		waitText("#error", "only way to sign in"),
	))
	s.take(t, tab, "last-login-method")
	ts.Logs.waitFor(t, "the refused removal", func(log string) (string, bool) {
		return "", strings.Contains(log, "status=409")
	})
	require.NoError(t, chromedp.Run(tab,
		waitPasskeys(1),
		chromedp.Reload(),
		waitState("signed-in"),
		waitPasskeys(1),
	))
}

// TestBrowserSecondStep: a password account with TOTP and a passkey signs
// in with the password, then the page asks for the second step: a TOTP
// code once, and the passkey ("Use a passkey") the next time.
func TestBrowserSecondStep(t *testing.T) {
	tab := browser(t)
	va := addAuthenticator(t, tab, false)
	ts := startPasskeyServer(t, listenLoopback(t), "memory", map[string]string{"AUTH_MFA": "true"})
	s := &shots{dir: t.TempDir()}
	t.Logf("screenshots in %s", s.dir)

	signUp(t, tab, ts, s, "mia")
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click(`#passkey-add-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Passkey added"),
		waitPasskeys(1),
	))

	// TOTP through the bearer API, playing the authenticator app.
	const pw = "Correct-Horse-7"
	c := ts.client("second-step-test")
	tok := c.login(t, "mia", pw)
	r := c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", tok.Access, map[string]string{"current_password": pw})
	r.expect(t, http.StatusOK, "")
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.object(t)["secret"].(string))
	require.NoError(t, err)
	now := time.Now()
	code, err := totp.Code(secret, now)
	require.NoError(t, err)
	c.do(t, "POST", "/api/v1/auth/mfa/totp/confirm", tok.Access, map[string]string{"code": code}).expect(t, http.StatusOK, "")

	signInFirstStep := func() {
		t.Helper()
		va.holdAutofill(t, chromedp.Click("#signout", chromedp.ByID))
		require.NoError(t, chromedp.Run(tab,
			fill("#signin-username", "mia"),
			fill("#signin-password", pw),
			chromedp.Click(`#signin-form button[type="submit"]`, chromedp.ByQuery),
			chromedp.WaitVisible("#mfa-section", chromedp.ByID),
			chromedp.WaitVisible("#mfa-passkey", chromedp.ByID),
			chromedp.WaitNotVisible("#signin-form", chromedp.ByID),
		))
	}

	// The code of the next time step: the current one went into confirm,
	// and a step is accepted once.
	signInFirstStep()
	s.take(t, tab, "second-step")
	next, err := totp.Code(secret, now.Add(30*time.Second))
	require.NoError(t, err)
	require.NoError(t, chromedp.Run(tab,
		fill("#mfa-code", next),
		chromedp.Click("#mfa-verify", chromedp.ByID),
		waitState("signed-in"),
		chromedp.WaitReady(`body[data-signin="totp"]`, chromedp.ByQuery),
		waitText("#me-username", "mia"),
	))

	signInFirstStep()
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#mfa-passkey", chromedp.ByID),
		waitState("signed-in"),
		chromedp.WaitReady(`body[data-signin="passkey-mfa"]`, chromedp.ByQuery),
		waitText("#me-username", "mia"),
		chromedp.WaitNotVisible("#mfa-section", chromedp.ByID),
	))
	s.take(t, tab, "second-step-passkey")
}
