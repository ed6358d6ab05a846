package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// demoPNG, when set, is where TestBrowserFlow writes the screenshot of the
// signed-in page that the README shows:
//
//	go test ./examples/server -run '^TestBrowserFlow$' -args -demo.png=../../docs/demo.png
var demoPNG = flag.String("demo.png", "", "write the screenshot of the signed-in page to this file")

// browserTimeout bounds a whole browser test: every wait inside it waits on
// a condition in the page, never a fixed time.
const browserTimeout = 90 * time.Second

// chromium returns the path of a Chromium (or Chrome) binary, or skips the
// test when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser tests skipped: no chromium binary on PATH (Debian: apt-get install chromium)")
	return ""
}

// browser starts a headless Chromium and returns the context of its first
// tab. A phone-sized window shows that the page reads on a phone.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.WindowSize(430, 1100),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	require.NoError(t, chromedp.Run(tab), "starting chromium")
	return tab
}

// newTab opens another tab of the same browser (same cookie jar).
func newTab(t *testing.T, tab context.Context) context.Context {
	t.Helper()
	next, cancel := chromedp.NewContext(tab)
	t.Cleanup(cancel)
	return next
}

// shots writes numbered screenshots of the steps to a temporary directory.
type shots struct {
	dir string
	n   int
}

func (s *shots) take(t *testing.T, tab context.Context, name string) []byte {
	t.Helper()
	var png []byte
	// A background tab does not render: bring the tab to the front first.
	require.NoError(t, chromedp.Run(tab,
		chromedp.ActionFunc(func(ctx context.Context) error {
			return target.ActivateTarget(chromedp.FromContext(ctx).Target.TargetID).Do(ctx)
		}),
		chromedp.FullScreenshot(&png, 100), // 100: PNG,
	), "screenshot %s", name)
	s.n++
	require.NoError(t, os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name)), png, 0o644))
	return png
}

// waitState waits until the page has booted into state ("signed-in" or
// "signed-out").
func waitState(state string) chromedp.Action {
	return chromedp.WaitVisible(`body[data-state="`+state+`"]`, chromedp.ByQuery)
}

// waitText waits until the element's text contains want.
func waitText(sel, want string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`document.querySelector(%q).textContent.includes(%q)`, sel, want), nil,
		chromedp.WithPollingInterval(20*time.Millisecond))
}

// fill clears an input and types into it.
func fill(sel, text string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.WaitVisible(sel, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).value = ""`, sel), nil),
		chromedp.SendKeys(sel, text, chromedp.ByQuery),
	}
}

func startWebServer(t *testing.T, extra map[string]string) *testServer {
	t.Helper()
	return startServer(t, envOf(fastHashing, map[string]string{
		"DATABASE_URL":               "memory",
		"JWT_SECRET_KEY":             testSecret,
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
	}, extra))
}

// signUp registers, verifies (with the code from the log mailer) and
// signs in through the page.
func signUp(t *testing.T, tab context.Context, ts *testServer, s *shots, name string) {
	t.Helper()
	email := name + "@example.com"
	require.NoError(t, chromedp.Run(tab,
		chromedp.Navigate(ts.URL+"/"),
		waitState("signed-out"),
		fill("#register-username", name),
		fill("#register-email", email),
		fill("#register-password", "Correct-Horse-7"),
		chromedp.Click(`#register-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Account created"),
	))
	s.take(t, tab, "registered")
	code := ts.Logs.logMailCode(t, email, "Verify your email", 0)
	require.NoError(t, chromedp.Run(tab,
		fill("#verify-code", code),
		chromedp.Click(`#verify-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Email verified"),
	))
	s.take(t, tab, "verified")
	require.NoError(t, chromedp.Run(tab,
		fill("#signin-password", "Correct-Horse-7"),
		chromedp.Click(`#signin-form button[type="submit"]`, chromedp.ByQuery),
		waitState("signed-in"),
		waitText("#me-username", name),
		chromedp.WaitVisible(`#devices li`, chromedp.ByQuery),
	))
}

// TestBrowserFlow drives the page in a real headless Chromium: register,
// verify by the mailed code, sign in, list devices, reload (the refresh
// cookie brings the session back), a second tab, change the password,
// revoke a device, and sign out in one tab, which ends the other's next
// refresh.
func TestBrowserFlow(t *testing.T) {
	tab := browser(t)
	ts := startWebServer(t, nil)
	s := &shots{dir: t.TempDir()}
	t.Logf("screenshots in %s", s.dir)

	signUp(t, tab, ts, s, "alice")
	png := s.take(t, tab, "signed-in")
	if *demoPNG != "" {
		require.NoError(t, os.WriteFile(*demoPNG, png, 0o644))
	}
	var devices int
	require.NoError(t, chromedp.Run(tab, chromedp.Evaluate(`document.querySelectorAll("#devices li").length`, &devices)))
	assert.Equal(t, 1, devices)

	// The refresh cookie: Secure (kept over http on loopback), HttpOnly,
	// SameSite=Strict, scoped to the auth paths; invisible to scripts, and
	// no token in storage.
	var cookies []*network.Cookie
	var jsCookies string
	var stored int
	require.NoError(t, chromedp.Run(tab,
		chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			cookies, err = network.GetCookies().WithURLs([]string{ts.URL + "/web/api/v1/auth/refresh"}).Do(ctx)
			return err
		}),
		chromedp.Evaluate(`document.cookie`, &jsCookies),
		chromedp.Evaluate(`localStorage.length + sessionStorage.length`, &stored),
	))
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.Equal(t, "__Secure-forgeauth_refresh", c.Name)
	assert.True(t, c.Secure)
	assert.True(t, c.HTTPOnly)
	assert.Equal(t, network.CookieSameSiteStrict, c.SameSite)
	assert.Equal(t, "/web/api/v1/auth", c.Path)
	assert.Empty(t, jsCookies, "scripts see no cookie")
	assert.Zero(t, stored, "nothing in web storage")

	// A reload keeps the session: the cookie gets a new access token.
	require.NoError(t, chromedp.Run(tab,
		chromedp.Reload(),
		waitState("signed-in"),
		waitText("#me-username", "alice"),
	))
	s.take(t, tab, "reloaded")

	// A second tab of the same browser is signed in too, in the same
	// session (one device).
	tab2 := newTab(t, tab)
	require.NoError(t, chromedp.Run(tab2,
		chromedp.Navigate(ts.URL+"/"),
		waitState("signed-in"),
		waitText("#me-username", "alice"),
		chromedp.WaitVisible("#devices li", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#devices li").length`, &devices),
	))
	assert.Equal(t, 1, devices)
	s.take(t, tab2, "second-tab")

	// Change the password in the first tab: it stays signed in.
	require.NoError(t, chromedp.Run(tab,
		fill("#password-current", "Correct-Horse-7"),
		fill("#password-new", "Battery-Staple-9"),
		chromedp.Click(`#password-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#status", "Password changed"),
		chromedp.Click("#devices-reload", chromedp.ByID),
		chromedp.WaitVisible(`#devices li`, chromedp.ByQuery),
	))
	s.take(t, tab, "password-changed")

	// Sign out in the first tab; the second tab's next refresh finds the
	// session ended.
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#signout", chromedp.ByID),
		waitState("signed-out"),
		waitText("#status", "Signed out"),
	))
	s.take(t, tab, "signed-out")
	// No provider is configured: the page shows no provider section.
	var noProviders bool
	require.NoError(t, chromedp.Run(tab, chromedp.Evaluate(
		`document.getElementById("providers-section").hidden && document.querySelectorAll("#providers button").length === 0`, &noProviders)))
	assert.True(t, noProviders, "no provider section without providers")
	require.NoError(t, chromedp.Run(tab2,
		chromedp.Click("#devices-reload", chromedp.ByID),
		waitState("signed-out"),
		waitText("#status", "session has ended"),
	))
	s.take(t, tab2, "other-tab-ended")

	// The new password signs in; the old one does not.
	require.NoError(t, chromedp.Run(tab,
		fill("#signin-username", "alice"),
		fill("#signin-password", "Correct-Horse-7"),
		chromedp.Click(`#signin-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#error", "Incorrect username or password"),
		fill("#signin-password", "Battery-Staple-9"),
		chromedp.Click(`#signin-form button[type="submit"]`, chromedp.ByQuery),
		waitState("signed-in"),
	))

	// Two sessions: revoke the other one from this tab's device list.
	require.NoError(t, chromedp.Run(tab2,
		fill("#signin-username", "alice"),
		fill("#signin-password", "Battery-Staple-9"),
		chromedp.Click(`#signin-form button[type="submit"]`, chromedp.ByQuery),
		waitState("signed-in"),
	))
	// Both tabs share the cookie jar: the second sign-in's cookie is the
	// one both now refresh with, so revoke the first session.
	require.NoError(t, chromedp.Run(tab,
		chromedp.Click("#devices-reload", chromedp.ByID),
		chromedp.Poll(`document.querySelectorAll("#devices li").length === 2`, nil, chromedp.WithPollingInterval(20*time.Millisecond)),
		chromedp.Click(`#devices li:not(:has(.badge)) button`, chromedp.ByQuery),
		waitText("#status", "Device signed out"),
		chromedp.Poll(`document.querySelectorAll("#devices li").length === 1`, nil, chromedp.WithPollingInterval(20*time.Millisecond)),
	))
	s.take(t, tab, "device-revoked")
}

// TestBrowserCrossSite (SECURITY 39): a page on another origin (the same
// host on another port: same site, so the SameSite=Strict cookie is sent,
// which leaves the refusal to the cross-origin protection) posts a form to
// refresh and fetches logout with credentials. The server refuses both
// with 403, and the session is unharmed.
func TestBrowserCrossSite(t *testing.T) {
	tab := browser(t)
	ts := startWebServer(t, nil)
	s := &shots{dir: t.TempDir()}
	signUp(t, tab, ts, s, "carol")

	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>elsewhere</title>
<form id="f" method="POST" action="%[1]s/web/api/v1/auth/refresh"></form>
<script>
fetch(%[1]q + "/web/api/v1/auth/logout", {method: "POST", credentials: "include"})
  .then(r => { document.body.dataset.fetch = "status " + r.status; })
  .catch(() => { document.body.dataset.fetch = "blocked"; });
</script>`, ts.URL)
	}))
	t.Cleanup(attacker.Close)
	require.NotEqual(t, ts.URL, attacker.URL)

	evil := newTab(t, tab)
	var outcome string
	require.NoError(t, chromedp.Run(evil,
		chromedp.Navigate(attacker.URL+"/"),
		chromedp.WaitVisible(`body[data-fetch]`, chromedp.ByQuery),
		chromedp.AttributeValue("body", "data-fetch", &outcome, nil, chromedp.ByQuery),
	))
	assert.Equal(t, "blocked", outcome, "the page on the other origin cannot read the answer")
	ts.Logs.waitFor(t, "the refused logout", func(log string) (string, bool) {
		return "", strings.Contains(log, `path=/web/api/v1/auth/logout status=403`)
	})

	var body string
	require.NoError(t, chromedp.Run(evil, chromedp.Submit("#f", chromedp.ByID)))
	body = pageText(t, evil, "forbidden")
	assert.Contains(t, body, `"status":403`)
	assert.Contains(t, body, "Cross-origin requests are refused")
	s.take(t, evil, "cross-site-refused")

	// Nothing changed: the session still refreshes, with the same device.
	var devices int
	require.NoError(t, chromedp.Run(tab,
		chromedp.Reload(),
		waitState("signed-in"),
		waitText("#me-username", "carol"),
		// The list loads after the sign-in state shows.
		chromedp.WaitVisible("#devices li", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#devices li").length`, &devices),
	))
	assert.Equal(t, 1, devices)
	assert.NotContains(t, ts.Logs.String(), `path=/web/api/v1/auth/logout status=204`)
}

// TestBrowserPageOff: with AUTH_COOKIES=false there is no page and no
// cookie API; the bearer API is unchanged.
func TestBrowserPageOff(t *testing.T) {
	ts := startWebServer(t, map[string]string{"AUTH_COOKIES": "false"})
	for _, path := range []string{"/", "/assets/app.js", "/web/api/v1/openapi.json"} {
		res, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
	res, err := http.Get(ts.URL + "/api/v1/openapi.json")
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

// pageText waits, across the navigation a form submission starts, until
// the tab's document text contains want, and returns the text.
func pageText(t *testing.T, tab context.Context, want string) string {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var text string
		// While the new document loads, the old context is gone: an error
		// here means "not yet".
		err := chromedp.Run(tab, chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &text))
		if err == nil && strings.Contains(text, want) {
			return text
		}
		select {
		case <-tab.Done():
			t.Fatalf("the page never showed %q (last error %v, text %q)", want, err, text)
		case <-tick.C:
		}
	}
}
