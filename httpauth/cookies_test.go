package httpauth_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/httpauth"
)

const (
	refreshCookie = "__Secure-forgeauth_refresh"
	trustedOrigin = "https://app.example.net"
)

func newCookieFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixture(tb, fixtureOpts{opts: httpauth.Options{
		DisableIPLimit: true,
		Cookies:        &httpauth.CookieOptions{},
		TrustedOrigins: []string{trustedOrigin},
	}})
}

// setCookie returns the refresh cookie an answer sets, or nil.
func (res result) setCookie(tb testing.TB) *http.Cookie {
	tb.Helper()
	var found *http.Cookie
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == refreshCookie {
			require.Nil(tb, found, "the refresh cookie is set twice")
			found = c
		}
	}
	return found
}

// requireCleared asserts that the answer clears the refresh cookie.
func (res result) requireCleared(tb testing.TB) {
	tb.Helper()
	c := res.setCookie(tb)
	require.NotNil(tb, c, "the answer does not clear the cookie")
	assert.Empty(tb, c.Value)
	assert.Equal(tb, -1, c.MaxAge, "Max-Age=0")
	assert.Equal(tb, prefix+"/auth", c.Path)
}

// cookieHeader sends the refresh cookie with the value.
func cookieHeader(value string) http.Header {
	return http.Header{"Cookie": {refreshCookie + "=" + value}}
}

// cookieLogin signs name in and returns the access token and the cookie.
func (f *fixture) cookieLogin(tb testing.TB, name string) (string, *http.Cookie) {
	tb.Helper()
	res := f.post(tb, "/auth/login", `{"username":"`+name+`","password":"`+strongPW+`"}`)
	var tok tokenBody
	res.json(tb, http.StatusOK, &tok)
	require.NotEmpty(tb, tok.AccessToken)
	require.Empty(tb, tok.RefreshToken)
	c := res.setCookie(tb)
	require.NotNil(tb, c)
	return tok.AccessToken, c
}

// TestCookieAttributes (SECURITY 39): the refresh token is in an HttpOnly,
// Secure, SameSite=Strict, path-scoped cookie, and in no JSON body.
func TestCookieAttributes(t *testing.T) {
	f := newCookieFixture(t)
	f.verifiedUser(t, "crumb")
	res := f.post(t, "/auth/login", `{"username":"crumb","password":"`+strongPW+`"}`)
	require.Equal(t, http.StatusOK, res.status)
	assert.NotContains(t, string(res.body), "refresh_token\"")
	assert.Contains(t, string(res.body), "refresh_expires_at")
	c := res.setCookie(t)
	require.NotNil(t, c)
	assert.True(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, prefix+"/auth", c.Path)
	assert.Empty(t, c.Domain)
	assert.Equal(t, 3, strings.Count(c.Value, ".")+1, "a JWT")
	assert.True(t, c.Expires.After(f.clock.Now()))

	var tok tokenBody
	next := f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: cookieHeader(c.Value)})
	next.json(t, http.StatusOK, &tok)
	assert.Empty(t, tok.RefreshToken)
	assert.NotEmpty(t, tok.AccessToken)
	c2 := next.setCookie(t)
	require.NotNil(t, c2)
	assert.NotEqual(t, c.Value, c2.Value, "rotated")
}

// TestCookieRefreshBodies: refresh takes no body, {}, or a body token,
// which wins over the cookie.
func TestCookieRefreshBodies(t *testing.T) {
	f := newCookieFixture(t)
	f.verifiedUser(t, "bodies")
	_, c := f.cookieLogin(t, "bodies")
	cur := c.Value
	refresh := func(r req) result {
		r.method, r.path = "POST", prefix+"/auth/refresh"
		if r.header == nil {
			r.header = cookieHeader(cur)
		}
		return f.do(t, r)
	}
	ok := func(res result) {
		t.Helper()
		var tok tokenBody
		res.json(t, http.StatusOK, &tok)
		cur = res.setCookie(t).Value
	}
	ok(refresh(req{}))
	ok(refresh(req{contentType: "application/json"}))
	ok(refresh(req{body: `{}`}))

	// The body wins: a valid body token with a bad cookie works, and a bad
	// body token with a good cookie fails without clearing the cookie.
	ok(refresh(req{body: `{"refresh_token":"` + cur + `"}`, header: cookieHeader("garbage")}))
	res := refresh(req{body: `{"refresh_token":"not-a-token"}`})
	res.problem(t, http.StatusUnauthorized, "invalid_refresh_token")
	assert.Nil(t, res.setCookie(t), "a failing body token leaves the cookie alone")
	ok(refresh(req{}))
}

// TestCookieRefreshErrors: every way a cookie-mode refresh fails.
func TestCookieRefreshErrors(t *testing.T) {
	f := newCookieFixture(t)
	f.verifiedUser(t, "errs")
	_, c := f.cookieLogin(t, "errs")
	tampered := c.Value[:len(c.Value)-4] + "AAAA"
	tests := []struct {
		name    string
		r       req
		status  int
		code    string
		cleared bool
		noCT    bool // send the body without a Content-Type
	}{
		{"no cookie, no body", req{}, 401, "invalid_refresh_token", false, false},
		{"tampered cookie", req{header: cookieHeader(tampered)}, 401, "invalid_refresh_token", true, false},
		{"garbage cookie", req{header: cookieHeader("x")}, 401, "invalid_refresh_token", true, false},
		{"body without Content-Type", req{body: `{}`, header: cookieHeader(c.Value)}, 415, "unsupported_media_type", false, true},
		{"text/plain body", req{body: `{}`, contentType: "text/plain", header: cookieHeader(c.Value)}, 415, "unsupported_media_type", false, false},
		{"text/plain, empty", req{contentType: "text/plain", header: cookieHeader(c.Value)}, 415, "unsupported_media_type", false, false},
		{"malformed JSON", req{body: `{`, header: cookieHeader(c.Value)}, 400, "bad_request", false, false},
		{"unknown field", req{body: `{"token":"x"}`, header: cookieHeader(c.Value)}, 400, "bad_request", false, false},
		{"not UTF-8", req{body: "{\"refresh_token\":\"\xff\"}", header: cookieHeader(c.Value)}, 400, "bad_request", false, false},
		{"too large", req{body: `{"refresh_token":"` + strings.Repeat("a", 17<<10) + `"}`, header: cookieHeader(c.Value)}, 413, "payload_too_large", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.method, tt.r.path = "POST", prefix+"/auth/refresh"
			hr := f.newRequest(tt.r)
			if tt.noCT {
				hr.Header.Del("Content-Type")
			}
			rec := httptestRecorder()
			f.h.ServeHTTP(rec, hr)
			res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			res.problem(t, tt.status, tt.code)
			if tt.cleared {
				res.requireCleared(t)
			} else {
				assert.Nil(t, res.setCookie(t))
			}
		})
	}
	// The cookie was never spent by the failures.
	f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: cookieHeader(c.Value)}).json(t, http.StatusOK, &tokenBody{})
}

// TestCookieExpiredAndReused: an expired or a reused cookie is 401 and
// cleared.
func TestCookieExpiredAndReused(t *testing.T) {
	f := newCookieFixture(t)
	f.verifiedUser(t, "old")
	_, c := f.cookieLogin(t, "old")
	res := f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: cookieHeader(c.Value)})
	require.Equal(t, http.StatusOK, res.status)
	reused := f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: cookieHeader(c.Value)})
	reused.problem(t, http.StatusUnauthorized, "invalid_refresh_token")
	reused.requireCleared(t)

	_, c = f.cookieLogin(t, "old")
	f.clock.Advance(25 * time.Hour)
	expired := f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: cookieHeader(c.Value)})
	expired.problem(t, http.StatusUnauthorized, "invalid_refresh_token")
	expired.requireCleared(t)
}

// TestCookieLogout: logout reads and clears the cookie; logout-all clears
// it too; a logged-out cookie no longer refreshes.
func TestCookieLogout(t *testing.T) {
	f := newCookieFixture(t)
	f.verifiedUser(t, "bye")
	_, c := f.cookieLogin(t, "bye")
	res := f.do(t, req{method: "POST", path: prefix + "/auth/logout", header: cookieHeader(c.Value)})
	require.Equal(t, http.StatusNoContent, res.status)
	res.requireCleared(t)
	f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: cookieHeader(c.Value)}).
		problem(t, http.StatusUnauthorized, "invalid_refresh_token")

	bad := f.do(t, req{method: "POST", path: prefix + "/auth/logout", header: cookieHeader("x")})
	bad.problem(t, http.StatusUnauthorized, "invalid_refresh_token")
	bad.requireCleared(t)
	f.do(t, req{method: "POST", path: prefix + "/auth/logout", body: `{"x":1}`}).problem(t, http.StatusBadRequest, "bad_request")
	f.do(t, req{method: "POST", path: prefix + "/auth/logout"}).problem(t, http.StatusUnauthorized, "invalid_refresh_token")

	access, c := f.cookieLogin(t, "bye")
	all := f.do(t, req{method: "POST", path: prefix + "/auth/logout-all", bearer: access})
	require.Equal(t, http.StatusNoContent, all.status)
	all.requireCleared(t)
	f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: cookieHeader(c.Value)}).
		problem(t, http.StatusUnauthorized, "invalid_refresh_token")
}

// TestCookieCrossOrigin (SECURITY 39): in cookie mode every unsafe request
// from another, untrusted origin is 403 forbidden and changes nothing;
// same-origin requests, trusted origins and clients without browser
// headers go through. The bearer transport does not check JSON requests
// (TestLoginCSRF), so this is the cookie mode's own defence.
func TestCookieCrossOrigin(t *testing.T) {
	f := newCookieFixture(t)
	f.verifiedUser(t, "xorigin")
	access, c := f.cookieLogin(t, "xorigin")
	var devices []deviceBody
	f.do(t, req{method: "GET", path: prefix + "/auth/devices", bearer: access}).json(t, http.StatusOK, &devices)
	require.Len(t, devices, 1)
	sid := devices[0].ID

	hostile := []struct {
		name   string
		header http.Header
	}{
		{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
		{"same-site, untrusted origin", http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {"https://sub.example.com"}}},
		{"no Sec-Fetch-Site, other Origin", http.Header{"Origin": {"https://evil.example"}}},
		{"Origin null", http.Header{"Origin": {"null"}}},
	}
	unsafe := []req{
		{method: "POST", path: prefix + "/auth/refresh"},
		{method: "POST", path: prefix + "/auth/logout"},
		{method: "POST", path: prefix + "/auth/logout-all", bearer: access},
		{method: "POST", path: prefix + "/auth/change-password", bearer: access, body: `{"current_password":"` + strongPW + `","new_password":"` + otherStrongPW + `"}`},
		{method: "DELETE", path: prefix + "/auth/devices/" + sid, bearer: access},
		{method: "POST", path: prefix + "/auth/login", body: `{"username":"xorigin","password":"` + strongPW + `"}`},
		{method: "POST", path: prefix + "/auth/register", body: `{"username":"xorigin2","email":"xorigin2@example.com","password":"` + strongPW + `"}`},
	}
	for _, h := range hostile {
		for _, r := range unsafe {
			t.Run(h.name+" "+r.method+" "+r.path, func(t *testing.T) {
				r.header = cookieHeader(c.Value)
				for k, v := range h.header {
					r.header[k] = v
				}
				res := f.do(t, r)
				p := res.problem(t, http.StatusForbidden, "forbidden")
				assert.Contains(t, p.Detail, "Cross-origin")
				assert.Nil(t, res.setCookie(t), "a refused request sets no cookie")
				assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))
			})
		}
	}
	// Nothing changed: the cookie still refreshes, the session and the
	// password are the same, no account was made.
	var tok tokenBody
	res := f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: cookieHeader(c.Value)})
	res.json(t, http.StatusOK, &tok)
	f.do(t, req{method: "GET", path: prefix + "/auth/devices", bearer: tok.AccessToken}).json(t, http.StatusOK, &devices)
	require.Len(t, devices, 1)
	assert.Equal(t, sid, devices[0].ID)
	f.login(t, "xorigin")
	f.post(t, "/auth/login", `{"username":"xorigin2","password":"`+strongPW+`"}`).problem(t, http.StatusUnauthorized, "invalid_credentials")

	// Allowed: same-origin, a trusted origin, no browser headers.
	for name, hdr := range map[string]http.Header{
		"same-origin":    {"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://example.com"}},
		"trusted origin": {"Sec-Fetch-Site": {"cross-site"}, "Origin": {trustedOrigin}},
		"no headers":     {},
	} {
		t.Run("allowed "+name, func(t *testing.T) {
			hdr = hdr.Clone()
			hdr.Set("Cookie", refreshCookie+"="+res.setCookie(t).Value)
			next := f.do(t, req{method: "POST", path: prefix + "/auth/refresh", header: hdr})
			next.json(t, http.StatusOK, &tok)
			res = next
		})
	}
	// GET is not checked: it changes nothing.
	f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken,
		header: http.Header{"Sec-Fetch-Site": {"cross-site"}}}).json(t, http.StatusOK, &userBody{})
}

// TestCookieCORS: CORS answers the trusted origins only, with credentials
// and the origin echoed (never "*"), and answers their preflights.
func TestCookieCORS(t *testing.T) {
	f := newCookieFixture(t)
	preflight := func(origin string) result {
		return f.do(t, req{method: "OPTIONS", path: prefix + "/auth/refresh", header: http.Header{
			"Origin": {origin}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"content-type"}, "Sec-Fetch-Site": {"cross-site"},
		}})
	}
	res := preflight(trustedOrigin)
	require.Equal(t, http.StatusNoContent, res.status)
	assert.Equal(t, trustedOrigin, res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, res.header.Get("Access-Control-Allow-Methods"), "POST")
	assert.Contains(t, res.header.Get("Access-Control-Allow-Headers"), "Content-Type")
	assert.Contains(t, res.header.Values("Vary"), "Origin")

	res = preflight("https://evil.example")
	res.problem(t, http.StatusForbidden, "forbidden")
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, res.header.Get("Access-Control-Allow-Credentials"))

	// An actual request from the trusted origin carries the CORS headers;
	// one from elsewhere does not, and none says "*".
	res = f.do(t, req{method: "GET", path: prefix + "/openapi.json", header: http.Header{"Origin": {trustedOrigin}}})
	assert.Equal(t, trustedOrigin, res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Retry-After, WWW-Authenticate", res.header.Get("Access-Control-Expose-Headers"))
	res = f.do(t, req{method: "GET", path: prefix + "/openapi.json", header: http.Header{"Origin": {"https://evil.example"}}})
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	// The bearer transport answers no CORS at all.
	bearer := newFixture(t, fixtureOpts{opts: httpauth.Options{TrustedOrigins: []string{trustedOrigin}}})
	res = bearer.do(t, req{method: "GET", path: prefix + "/openapi.json", header: http.Header{"Origin": {trustedOrigin}}})
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))
}

// TestCookieOptions: the cookie's name and path, and the refused options.
func TestCookieOptions(t *testing.T) {
	good := []struct {
		name     string
		opts     httpauth.CookieOptions
		pfx      string
		wantName string
		wantPath string
	}{
		{"defaults", httpauth.CookieOptions{}, "", httpauth.DefaultCookieNameSecure, "/api/v1/auth"},
		{"root path", httpauth.CookieOptions{Path: "/"}, "", httpauth.DefaultCookieNameHost, "/"},
		{"own prefix", httpauth.CookieOptions{}, "/web/api", httpauth.DefaultCookieNameSecure, "/web/api/auth"},
		{"root prefix", httpauth.CookieOptions{}, "/", httpauth.DefaultCookieNameSecure, "/auth"},
		{"named", httpauth.CookieOptions{Name: "__Secure-rt", Path: "/api/"}, "", "__Secure-rt", "/api"},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true, Prefix: tt.pfx, Cookies: &tt.opts}})
			f.verifiedUserAt(t, "named", tt.pfx)
			pfx := strings.TrimSuffix(tt.pfx, "/")
			if tt.pfx == "" {
				pfx = prefix
			}
			res := f.do(t, req{method: "POST", path: pfx + "/auth/login", body: `{"username":"named","password":"` + strongPW + `"}`})
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			var c *http.Cookie
			for _, ck := range (&http.Response{Header: res.header}).Cookies() {
				c = ck
			}
			require.NotNil(t, c)
			assert.Equal(t, tt.wantName, c.Name)
			assert.Equal(t, tt.wantPath, c.Path)
		})
	}
	for name, opts := range map[string]httpauth.CookieOptions{
		"no prefix":          {Name: "refresh"},
		"__Host- off root":   {Name: "__Host-rt", Path: "/api"},
		"bad name":           {Name: "__Secure-a b"},
		"bad path":           {Path: "api"},
		"path with ..":       {Path: "/api/../x"},
		"name with a comma":  {Name: "__Secure-a,b"},
		"name with a letter": {Name: "__Secure-é"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := httpauth.New(newFixture(t, fixtureOpts{}).svc, httpauth.Options{Cookies: &opts})
			require.True(t, errors.Is(err, httpauth.ErrInvalidOptions), "err: %v", err)
		})
	}
}

// verifiedUserAt registers and verifies name through the endpoints under
// the prefix pfx ("" is the default prefix).
func (f *fixture) verifiedUserAt(tb testing.TB, name, pfx string) {
	tb.Helper()
	p := strings.TrimSuffix(pfx, "/")
	if pfx == "" {
		p = prefix
	}
	email := name + "@example.com"
	f.do(tb, req{method: "POST", path: p + "/auth/register", body: `{"username":"` + name + `","email":"` + email + `","password":"` + strongPW + `"}`}).
		json(tb, http.StatusCreated, &userBody{})
	f.do(tb, req{method: "POST", path: p + "/auth/verify-email", body: `{"email":"` + email + `","code":"` + f.nextCode(tb, email) + `"}`}).
		json(tb, http.StatusOK, &userBody{})
}
