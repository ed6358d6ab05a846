package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/internal/fakeidp"
)

// startProviderServer starts the example server with one provider, "acme",
// at the in-process provider idp, and PUBLIC_URL set to the server's own
// URL. OAUTH_REDIRECT_URIS is left unset: the page is the default.
func startProviderServer(t *testing.T, idp *fakeidp.Server) *testServer {
	t.Helper()
	ln := listenLoopback(t)
	return startServerOn(t, ln, envOf(fastHashing, map[string]string{
		"DATABASE_URL":               "memory",
		"JWT_SECRET_KEY":             testSecret,
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
		"PUBLIC_URL":                 "http://" + ln.Addr().String(),
		"OAUTH_PROVIDERS":            "acme",
		"OAUTH_ACME_ISSUER":          idp.Issuer(),
		"OAUTH_ACME_CLIENT_ID":       idp.ClientID,
		"OAUTH_ACME_CLIENT_SECRET":   idp.ClientSecret,
	}))
}

// continueWithAcme loads the page and presses its "Continue with Acme"
// button from the keyboard; the browser then follows the real redirects:
// the server's authorize endpoint, the provider (which approves at once),
// the server's callback, and back to the page with a fragment.
func continueWithAcme(t *testing.T, tab context.Context, ts *testServer, s *shots) {
	t.Helper()
	var label string
	var buttons int
	require.NoError(t, chromedp.Run(tab,
		chromedp.Navigate(ts.URL+"/"),
		waitState("signed-out"),
		chromedp.WaitVisible(`#providers-section`, chromedp.ByQuery),
		chromedp.WaitVisible(`#providers button[data-provider="acme"]`, chromedp.ByQuery),
		chromedp.Text(`#providers button[data-provider="acme"]`, &label, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#providers button").length`, &buttons),
	))
	assert.Equal(t, "Continue with Acme", label)
	assert.Equal(t, 1, buttons)
	s.take(t, tab, "providers")
	require.NoError(t, chromedp.Run(tab,
		chromedp.Focus(`#providers button[data-provider="acme"]`, chromedp.ByQuery),
		chromedp.KeyEvent(kb.Enter),
	))
}

// refreshCookies returns the cookies the browser would send to the page's
// refresh endpoint.
func refreshCookies(t *testing.T, tab context.Context, ts *testServer) []*network.Cookie {
	t.Helper()
	var cookies []*network.Cookie
	require.NoError(t, chromedp.Run(tab, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{ts.URL + "/web/api/v1/auth/refresh"}).Do(ctx)
		return err
	})))
	return cookies
}

// TestBrowserProviderSignIn: "Continue with Acme" on the page, through the
// provider and back, signs a new account in; the code leaves the address
// bar, and a reload keeps the session (the refresh cookie).
func TestBrowserProviderSignIn(t *testing.T) {
	tab := browser(t)
	idp := fakeidp.New(t, time.Now)
	idp.SetAccount(fakeidp.Account{Subject: "acme-grace", Email: "grace@example.com", EmailVerified: true})
	ts := startProviderServer(t, idp)
	s := &shots{dir: t.TempDir()}
	t.Logf("screenshots in %s", s.dir)

	continueWithAcme(t, tab, ts, s)
	pageText(t, tab, "Your account")
	var email, username, href string
	require.NoError(t, chromedp.Run(tab,
		waitState("signed-in"),
		waitText("#status", "Signed in"),
		waitText("#me-email", "grace@example.com"),
		chromedp.Text("#me-email", &email, chromedp.ByID),
		chromedp.Text("#me-username", &username, chromedp.ByID),
		chromedp.Location(&href),
		chromedp.WaitVisible("#devices li", chromedp.ByQuery),
	))
	s.take(t, tab, "provider-signed-in")
	assert.Equal(t, "grace@example.com", email)
	assert.NotEmpty(t, username, "the new account has a username")
	assert.Equal(t, ts.URL+"/", href, "the code is gone from the address bar")
	assert.Equal(t, 1, idp.TokenRequests(), "one code redeemed at the provider")
	require.Len(t, refreshCookies(t, tab, ts), 1, "the exchange set the refresh cookie")

	// A reload keeps the session: the refresh cookie, not the code, which
	// is no longer in the URL.
	var again string
	require.NoError(t, chromedp.Run(tab,
		chromedp.Reload(),
		waitState("signed-in"),
		waitText("#me-email", "grace@example.com"),
		chromedp.Text("#me-username", &again, chromedp.ByID),
	))
	assert.Equal(t, username, again)
	assert.Equal(t, 1, idp.TokenRequests())
	s.take(t, tab, "provider-reloaded")

	// Signing out and continuing again finds the same account by the
	// provider's subject.
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#signout", chromedp.ByID),
		waitState("signed-out"),
	))
	continueWithAcme(t, tab, ts, s)
	pageText(t, tab, "Your account")
	require.NoError(t, chromedp.Run(tab,
		waitState("signed-in"),
		waitText("#me-email", "grace@example.com"),
		chromedp.Text("#me-username", &again, chromedp.ByID),
	))
	assert.Equal(t, username, again)
}

// TestBrowserProviderAccountExists: the provider's email belongs to a
// password account. The page says how to link instead, takes the error out
// of the address bar, and nobody is signed in.
func TestBrowserProviderAccountExists(t *testing.T) {
	tab := browser(t)
	idp := fakeidp.New(t, time.Now)
	idp.SetAccount(fakeidp.Account{Subject: "acme-ada", Email: "ada@example.com", EmailVerified: true})
	ts := startProviderServer(t, idp)
	s := &shots{dir: t.TempDir()}
	t.Logf("screenshots in %s", s.dir)

	c := ts.client("test")
	c.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "ada", "email": "ada@example.com", "password": "Correct-Horse-7"}).
		expect(t, 201, "")
	code := ts.Logs.logMailCode(t, "ada@example.com", "Verify your email", 0)
	c.do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"email": "ada@example.com", "code": code}).
		expect(t, 200, "")

	continueWithAcme(t, tab, ts, s)
	pageText(t, tab, "An account already uses this email")
	var state, href, errText string
	require.NoError(t, chromedp.Run(tab,
		waitState("signed-out"),
		chromedp.Text("#error", &errText, chromedp.ByID),
		chromedp.AttributeValue("body", "data-state", &state, nil, chromedp.ByQuery),
		chromedp.Location(&href),
	))
	s.take(t, tab, "provider-account-exists")
	assert.Equal(t, "An account already uses this email: sign in with your password and link the provider from your account.", errText)
	assert.Equal(t, "signed-out", state)
	assert.Equal(t, ts.URL+"/", href, "the error is gone from the address bar")
	assert.Empty(t, refreshCookies(t, tab, ts), "no session")

	// The password account is untouched and still signs in.
	c.login(t, "ada", "Correct-Horse-7")
}
