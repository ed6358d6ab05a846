package httpauth_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/forgeauth/forgeauth/httpauth"
)

// TestLoginCSRF: a form login posted from another origin is refused 403
// forbidden before the password is checked; same-origin forms, trusted
// origins, clients without browser headers and JSON bodies go through.
func TestLoginCSRF(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{
		DisableIPLimit: true,
		TrustedOrigins: []string{"https://app.example.net"},
	}})
	f.verifiedUser(t, "csrf")
	form := url.Values{"username": {"csrf"}, "password": {strongPW}}.Encode()
	json := `{"username":"csrf","password":"` + strongPW + `"}`
	const formCT = "application/x-www-form-urlencoded"

	tests := []struct {
		name   string
		body   string
		ct     string
		header http.Header
		want   int
	}{
		{"cross-site form", form, formCT, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"same-site form from an untrusted origin", form, formCT, http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {"https://other.example.com"}}, http.StatusForbidden},
		{"same-site form without an origin", form, formCT, http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"form with another Origin, no Sec-Fetch-Site", form, formCT, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"form with the Host on another port", form, formCT, http.Header{"Origin": {"http://example.com:8080"}}, http.StatusForbidden},
		{"form with Origin null", form, formCT, http.Header{"Origin": {"null"}}, http.StatusForbidden},
		{"cross-site form, wrong password: still 403", url.Values{"username": {"csrf"}, "password": {canary}}.Encode(), formCT, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"same-origin form", form, formCT, http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://example.com"}}, http.StatusOK},
		{"form typed by the user", form, formCT, http.Header{"Sec-Fetch-Site": {"none"}}, http.StatusOK},
		{"form with the same Origin, no Sec-Fetch-Site", form, formCT, http.Header{"Origin": {"http://example.com"}}, http.StatusOK},
		{"form from a trusted origin", form, formCT, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://app.example.net"}}, http.StatusOK},
		{"form from a non-browser client", form, formCT, nil, http.StatusOK},
		{"cross-site JSON is not checked", json, "", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(t, req{method: "POST", path: prefix + "/auth/login", body: tt.body, contentType: tt.ct, header: tt.header})
			if tt.want == http.StatusOK {
				var tok tokenBody
				res.json(t, http.StatusOK, &tok)
				assert.NotEmpty(t, tok.AccessToken)
				return
			}
			p := res.problem(t, http.StatusForbidden, "forbidden")
			assert.Contains(t, p.Detail, "same origin")
			assert.NotContains(t, string(res.body), canary)
		})
	}
}

// TestLoginCSRFBeforeTheFlow: a refused form never reaches the service:
// no failed login is counted against the account.
func TestLoginCSRFBeforeTheFlow(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}})
	f.verifiedUser(t, "victim")
	bad := url.Values{"username": {"victim"}, "password": {"Wrong-Horse-7"}}.Encode()
	for range 10 {
		f.do(t, req{method: "POST", path: prefix + "/auth/login", body: bad, contentType: "application/x-www-form-urlencoded",
			header: http.Header{"Sec-Fetch-Site": {"cross-site"}}}).problem(t, http.StatusForbidden, "forbidden")
	}
	// Ten wrong passwords would have throttled the account (5 failures).
	f.login(t, "victim")
}
