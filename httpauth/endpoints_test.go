package httpauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
)

func TestRegister(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	res := f.post(t, "/auth/register", `{"username":"alice","email":"Alice@Example.com","password":"`+strongPW+`"}`)
	var u userBody
	res.json(t, http.StatusCreated, &u)
	assert.NotEmpty(t, u.ID)
	assert.Equal(t, "alice", u.Username)
	assert.True(t, u.IsActive)
	assert.False(t, u.IsVerified, "Complete mode registers unverified users")
	assert.False(t, u.IsSuperuser)
	assert.Equal(t, "2026-03-04T05:06:07Z", u.CreatedAt)
	assert.Equal(t, "2026-03-04T05:06:07Z", u.UpdatedAt)
	assert.Nil(t, u.LastLoginAt, "last_login_at is null until the first login")
	assert.Contains(t, string(res.body), `"last_login_at":null`)
	assert.NotContains(t, string(res.body), "argon2", "the hash never leaves the server")
	assert.NotContains(t, string(res.body), "password")
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", res.header.Get("Referrer-Policy"))
	assert.NotEmpty(t, f.nextCode(t, "Alice@Example.com"), "a verification code is mailed")
}

func TestCompleteFlow(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.register(t, "bob")
	email := "bob@example.com"

	// Login before verification is refused.
	f.post(t, "/auth/login", `{"username":"bob","password":"`+strongPW+`"}`).problem(t, http.StatusForbidden, "email_not_verified")

	// Verify the email with the mailed code.
	var u userBody
	f.post(t, "/auth/verify-email", `{"email":"`+email+`","code":"`+f.nextCode(t, email)+`"}`).json(t, http.StatusOK, &u)
	assert.True(t, u.IsVerified)

	// Log in from a browser: the device comes from the User-Agent.
	res := f.do(t, req{method: "POST", path: prefix + "/auth/login", body: `{"username":"bob","password":"` + strongPW + `"}`,
		header: http.Header{"User-Agent": {firefoxLinux}}})
	var tok tokenBody
	res.json(t, http.StatusOK, &tok)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	assert.Equal(t, "bearer", tok.TokenType)
	assert.NotEmpty(t, tok.AccessToken)
	assert.NotEmpty(t, tok.RefreshToken)
	assert.Equal(t, int64(1800), tok.ExpiresIn)
	assert.Equal(t, "2026-03-04T05:36:07Z", tok.ExpiresAt)
	assert.Equal(t, "2026-03-05T05:06:07Z", tok.RefreshExpiresAt)

	// users/me shows the login.
	f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken}).json(t, http.StatusOK, &u)
	require.NotNil(t, u.LastLoginAt)
	assert.Equal(t, "2026-03-04T05:06:07Z", *u.LastLoginAt)
	assert.Equal(t, "bob", u.Username)

	// A second device logs in with a form and names itself.
	f.clock.Advance(time.Minute)
	form := url.Values{"username": {email}, "password": {strongPW}, "device_name": {"Bob's phone"}, "device_type": {"mobile"}, "grant_type": {"password"}}
	var tok2 tokenBody
	f.do(t, req{method: "POST", path: prefix + "/auth/login", body: form.Encode(), contentType: "application/x-www-form-urlencoded",
		remoteAddr: "198.51.100.7:4444"}).json(t, http.StatusOK, &tok2)

	// Devices: both, oldest first, the asking one marked current.
	var devs []deviceBody
	f.do(t, req{method: "GET", path: prefix + "/auth/devices", bearer: tok.AccessToken}).json(t, http.StatusOK, &devs)
	require.Len(t, devs, 2)
	assert.Equal(t, "Firefox on Linux", devs[0].DeviceName)
	assert.Equal(t, "desktop", devs[0].DeviceType)
	assert.Equal(t, firefoxLinux, devs[0].UserAgent)
	assert.Equal(t, "192.0.2.1", devs[0].IPAddress)
	assert.True(t, devs[0].Current)
	assert.Equal(t, "Bob's phone", devs[1].DeviceName)
	assert.Equal(t, "mobile", devs[1].DeviceType)
	assert.Equal(t, "198.51.100.7", devs[1].IPAddress)
	assert.False(t, devs[1].Current)
	assert.Equal(t, "2026-03-04T05:07:07Z", devs[1].CreatedAt)

	// Refresh rotates; the old refresh token is then refused.
	f.clock.Advance(time.Minute)
	var tok3 tokenBody
	f.post(t, "/auth/refresh", `{"refresh_token":"`+tok.RefreshToken+`"}`).json(t, http.StatusOK, &tok3)
	assert.NotEqual(t, tok.RefreshToken, tok3.RefreshToken)
	assert.NotEqual(t, tok.AccessToken, tok3.AccessToken)
	f.post(t, "/auth/refresh", `{"refresh_token":"`+tok.RefreshToken+`"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")

	// Revoke the phone from the (reuse-revoked) first session's successor:
	// log in again first, since reuse ended that session.
	tok = f.login(t, "bob")
	f.do(t, req{method: "DELETE", path: prefix + "/auth/devices/" + devs[1].ID, bearer: tok.AccessToken}).expectNoContent(t)
	f.do(t, req{method: "DELETE", path: prefix + "/auth/devices/" + devs[1].ID, bearer: tok.AccessToken}).problem(t, http.StatusNotFound, "not_found")
	f.post(t, "/auth/refresh", `{"refresh_token":"`+tok2.RefreshToken+`"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")

	// Change the password: 204, and the new one works.
	f.clock.Advance(time.Minute)
	f.do(t, req{method: "POST", path: prefix + "/auth/change-password", bearer: tok.AccessToken,
		body: `{"current_password":"` + strongPW + `","new_password":"` + otherStrongPW + `"}`}).expectNoContent(t)
	f.clock.Advance(time.Second)
	var tok4 tokenBody
	f.post(t, "/auth/login", `{"username":"bob","password":"`+otherStrongPW+`"}`).json(t, http.StatusOK, &tok4)

	// Logout ends that session, and is idempotent.
	f.post(t, "/auth/logout", `{"refresh_token":"`+tok4.RefreshToken+`"}`).expectNoContent(t)
	f.post(t, "/auth/logout", `{"refresh_token":"`+tok4.RefreshToken+`"}`).expectNoContent(t)
	f.post(t, "/auth/refresh", `{"refresh_token":"`+tok4.RefreshToken+`"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")

	// Logout-all: every earlier access token fails from then on.
	tok5 := f.loginWith(t, "bob", otherStrongPW)
	f.clock.Advance(time.Second)
	f.do(t, req{method: "POST", path: prefix + "/auth/logout-all", bearer: tok5.AccessToken}).expectNoContent(t)
	f.clock.Advance(time.Second)
	res = f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok5.AccessToken})
	res.problem(t, http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"))
	f.post(t, "/auth/refresh", `{"refresh_token":"`+tok5.RefreshToken+`"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")
}

func TestPasswordReset(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "carol")
	email := "carol@example.com"
	old := f.login(t, "carol")

	res := f.post(t, "/auth/forgot-password", `{"email":"`+email+`"}`)
	assert.Equal(t, http.StatusAccepted, res.status)
	assert.Equal(t, acceptedBody, string(res.body))
	code := f.nextCode(t, email)

	f.clock.Advance(time.Minute)
	f.post(t, "/auth/reset-password", `{"email":"`+email+`","code":"`+code+`","new_password":"`+otherStrongPW+`"}`).expectNoContent(t)
	f.clock.Advance(time.Second)

	// The reset ended every session and voided the code.
	f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: old.AccessToken}).problem(t, http.StatusUnauthorized, "invalid_token")
	f.post(t, "/auth/refresh", `{"refresh_token":"`+old.RefreshToken+`"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")
	f.post(t, "/auth/reset-password", `{"email":"`+email+`","code":"`+code+`","new_password":"`+strongPW+`"}`).problem(t, http.StatusBadRequest, "invalid_code")
	f.post(t, "/auth/login", `{"username":"carol","password":"`+strongPW+`"}`).problem(t, http.StatusUnauthorized, "invalid_credentials")
	f.loginWith(t, "carol", otherStrongPW)
}

// TestNoEnumeration: resend-verification and forgot-password answer byte for
// byte the same for an unknown, an unverified and a verified account.
func TestNoEnumeration(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.register(t, "dave")     // unverified
	f.verifiedUser(t, "erin") // verified
	accounts := []string{"nobody@example.com", "dave@example.com", "erin@example.com"}
	for _, path := range []string{"/auth/resend-verification", "/auth/forgot-password"} {
		t.Run(path, func(t *testing.T) {
			for _, email := range accounts {
				f.clock.Advance(2 * time.Minute) // past the resend cool-down
				res := f.post(t, path, `{"email":"`+email+`"}`)
				assert.Equal(t, http.StatusAccepted, res.status, email)
				assert.Equal(t, acceptedBody, string(res.body), email)
				assert.Equal(t, "application/json", res.header.Get("Content-Type"))
			}
		})
	}
	// The unverified account got a new verification code.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := f.mail.Wait(ctx, "dave@example.com") // the registration mail
	require.NoError(t, err)
	assert.NotEmpty(t, f.nextCode(t, "dave@example.com"), "resend mails a code")
}

func TestBasicMode(t *testing.T) {
	f := newFixture(t, fixtureOpts{basic: true})
	u := f.register(t, "frank")
	assert.True(t, u.IsActive, "Basic mode users are active at once")
	tok := f.login(t, "frank")
	assert.NotEmpty(t, tok.AccessToken)
	assert.Empty(t, tok.RefreshToken, "no refresh token in Basic mode")
	assert.Empty(t, tok.RefreshExpiresAt)
	var me userBody
	f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken}).json(t, http.StatusOK, &me)
	assert.Equal(t, u.ID, me.ID)

	// The Complete-mode endpoints do not exist.
	for _, r := range []req{
		{method: "POST", path: "/auth/verify-email", body: `{"email":"a@b.c","code":"123456"}`},
		{method: "POST", path: "/auth/resend-verification", body: `{"email":"a@b.c"}`},
		{method: "POST", path: "/auth/refresh", body: `{"refresh_token":"x"}`},
		{method: "POST", path: "/auth/logout", body: `{"refresh_token":"x"}`},
		{method: "POST", path: "/auth/logout-all", bearer: tok.AccessToken},
		{method: "POST", path: "/auth/forgot-password", body: `{"email":"a@b.c"}`},
		{method: "POST", path: "/auth/reset-password", body: `{"email":"a@b.c","code":"123456","new_password":"x"}`},
		{method: "POST", path: "/auth/change-password", bearer: tok.AccessToken, body: `{"current_password":"x","new_password":"y"}`},
		{method: "GET", path: "/auth/devices", bearer: tok.AccessToken},
		{method: "DELETE", path: "/auth/devices/abc", bearer: tok.AccessToken},
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			r.path = prefix + r.path
			f.do(t, r).problem(t, http.StatusNotFound, "not_found")
		})
	}
}

func TestOpenAPIRoute(t *testing.T) {
	for _, tt := range []struct {
		name  string
		basic bool
		paths int
	}{{"complete", false, 21}, {"basic", true, 4}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{basic: tt.basic})
			res := f.do(t, req{method: "GET", path: prefix + "/openapi.json"})
			assert.Equal(t, http.StatusOK, res.status)
			assert.Equal(t, "application/json", res.header.Get("Content-Type"))
			assert.Equal(t, "3.1.0", f.doc.OpenAPI)
			assert.Equal(t, prefix, f.doc.Servers[0].URL)
			assert.Equal(t, tt.paths, f.doc.Paths.Len())
			if tt.basic {
				assert.Nil(t, f.doc.Paths.Find("/auth/refresh"))
			}
		})
	}
}

// TestEveryDocumentedRouteIsServed: each operation of the document reaches a
// handler (no 404 or 405 from routing), and the document's code enum is the
// set of codes. The service signs with a key pair, so that the JWK Set is
// served too.
func TestEveryDocumentedRouteIsServed(t *testing.T) {
	keys := withKeyPair(t, "EdDSA")
	f := newFixture(t, fixtureOpts{mutate: func(c *auth.Config) {
		keys(c)
		mfaOn(c)
		passkeysOn(c)
		c.MFAKey = []byte("an MFA key of exactly 32 bytes!!")
	}})
	n := 0
	for path, item := range f.doc.Paths.Map() {
		for method := range item.Operations() {
			n++
			t.Run(method+" "+path, func(t *testing.T) {
				p := prefix + strings.ReplaceAll(path, "{id}", "some-id")
				res := f.do(t, req{method: method, path: p})
				assert.NotEqual(t, http.StatusMethodNotAllowed, res.status)
				if res.status == http.StatusNotFound {
					t.Fatalf("%s %s is documented but not routed", method, p)
				}
			})
		}
	}
	assert.Equal(t, 37, n)

	var enum []string
	for _, v := range f.doc.Components.Schemas["ProblemCode"].Value.Enum {
		enum = append(enum, v.(string))
	}
	assert.ElementsMatch(t, []string{
		"bad_request", "invalid_code", "invalid_credentials", "invalid_token", "invalid_refresh_token",
		"invalid_password", "email_not_verified", "inactive_user", "forbidden", "not_found",
		"method_not_allowed", "user_exists", "payload_too_large", "unsupported_media_type",
		"validation_failed", "rate_limited", "internal", "unavailable", "last_superuser",
		"mfa_required", "insufficient_user_authentication", "mfa_already_enabled", "mfa_not_enabled",
		"invalid_redirect_uri", "invalid_state", "last_login_method", "passkey_exists",
	}, enum)
}

func (res result) expectNoContent(tb testing.TB) {
	tb.Helper()
	require.Equal(tb, http.StatusNoContent, res.status, "body: %s", res.body)
	require.Empty(tb, res.body)
	require.Equal(tb, "no-store", res.header.Get("Cache-Control"))
}

func (f *fixture) loginWith(tb testing.TB, name, pw string) tokenBody {
	tb.Helper()
	var t tokenBody
	f.post(tb, "/auth/login", `{"username":"`+name+`","password":"`+pw+`"}`).json(tb, http.StatusOK, &t)
	return t
}
