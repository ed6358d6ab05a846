package httpauth_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/internal/fakeauthn"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

const passkeyOrigin = "http://localhost:8080"

// passkeyStore is the fixture's store with the capabilities passkeys need.
// (The alias names the embedded field, which as "Passkeys" would hide the
// method of that name.)
type passkeyStore struct {
	capStore
	passkeyCaps
}

type passkeyCaps = store.Passkeys

// passkeysOn turns passkeys on over the fixture's store (after mfaOn, if
// the test wants both).
func passkeysOn(c *auth.Config) {
	cs, ok := c.Store.(capStore)
	if !ok {
		fs := c.Store.(*faultyStore)
		mem := fs.Store.(*memstore.Store)
		cs = capStore{faultyStore: fs, Tickets: mem, SecondFactors: mem}
	}
	c.Store = passkeyStore{capStore: cs, passkeyCaps: cs.faultyStore.Store.(*memstore.Store)}
	c.Passkeys = auth.PasskeyConfig{RPID: "localhost", Origins: []string{passkeyOrigin}}
}

type ceremonyBody struct {
	CeremonyID string          `json:"ceremony_id"`
	Options    json.RawMessage `json:"options"`
	ExpiresAt  string          `json:"expires_at"`
}

type passkeyBody struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt *string  `json:"last_used_at"`
	BackedUp   bool     `json:"backed_up"`
	Transports []string `json:"transports"`
}

// begin posts body to a begin route and returns the ceremony.
func (f *fixture) begin(tb testing.TB, path, body, bearer string) ceremonyBody {
	tb.Helper()
	var c ceremonyBody
	f.do(tb, req{method: "POST", path: prefix + path, body: body, bearer: bearer}).json(tb, http.StatusOK, &c)
	require.NotEmpty(tb, c.CeremonyID)
	return c
}

// finishBody is the body of a finish route.
func finishBody(tb testing.TB, ceremonyID string, cred []byte, extra string) string {
	tb.Helper()
	return `{"ceremony_id":"` + ceremonyID + `","credential":` + string(cred) + extra + `}`
}

// addPasskeyHTTP registers a passkey with a for the access token.
func (f *fixture) addPasskeyHTTP(tb testing.TB, a *fakeauthn.Authenticator, access string) passkeyBody {
	tb.Helper()
	c := f.begin(tb, "/auth/passkeys/register/begin", "", access)
	cred, _, err := a.Create(c.Options)
	require.NoError(tb, err)
	var p passkeyBody
	f.do(tb, req{method: "POST", path: prefix + "/auth/passkeys/register/finish", bearer: access,
		body: finishBody(tb, c.CeremonyID, cred, `,"name":"Laptop"`)}).json(tb, http.StatusCreated, &p)
	return p
}

// passkeyLoginHTTP signs in with a; begin is the body of login/begin.
func (f *fixture) passkeyLoginHTTP(tb testing.TB, a *fakeauthn.Authenticator, begin string, opts ...fakeauthn.Option) result {
	tb.Helper()
	c := f.begin(tb, "/auth/passkeys/login/begin", begin, "")
	cred, err := a.Get(c.Options, opts...)
	require.NoError(tb, err)
	return f.post(tb, "/auth/passkeys/login/finish", finishBody(tb, c.CeremonyID, cred, `,"device_name":"phone"`))
}

func TestPasskeyRoutes(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}, mutate: passkeysOn})
	f.verifiedUser(t, "alice")
	access := f.login(t, "alice").AccessToken
	a := fakeauthn.New(passkeyOrigin)

	p := f.addPasskeyHTTP(t, a, access)
	assert.Equal(t, "Laptop", p.Name)
	assert.Nil(t, p.LastUsedAt)
	assert.NotEmpty(t, p.Transports)

	// Every form of login/begin: no body, {}, a username.
	for _, begin := range []string{"", "{}", `{"username":"alice"}`} {
		var tok tokenBody
		f.passkeyLoginHTTP(t, a, begin).json(t, http.StatusOK, &tok)
		assert.NotEmpty(t, tok.AccessToken)
		assert.NotEmpty(t, tok.RefreshToken)
		f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken}).json(t, http.StatusOK, &userBody{})
	}

	var list []passkeyBody
	f.do(t, req{method: "GET", path: prefix + "/auth/passkeys", bearer: access}).json(t, http.StatusOK, &list)
	require.Len(t, list, 1)
	assert.NotNil(t, list[0].LastUsedAt)

	var renamed passkeyBody
	f.do(t, req{method: "PATCH", path: prefix + "/auth/passkeys/" + p.ID, bearer: access, body: `{"name":"Phone"}`}).
		json(t, http.StatusOK, &renamed)
	assert.Equal(t, "Phone", renamed.Name)
	f.do(t, req{method: "PATCH", path: prefix + "/auth/passkeys/" + p.ID, bearer: access, body: `{"name":""}`}).
		problem(t, http.StatusUnprocessableEntity, "validation_failed")

	f.do(t, req{method: "DELETE", path: prefix + "/auth/passkeys/" + p.ID, bearer: access}).expectNoContent(t)
	f.do(t, req{method: "DELETE", path: prefix + "/auth/passkeys/" + p.ID, bearer: access}).problem(t, http.StatusNotFound, "not_found")
	f.passkeyLoginHTTP(t, a, "").problem(t, http.StatusUnauthorized, "invalid_credentials")

	// Bearer routes want a token.
	for _, r := range []req{
		{method: "POST", path: prefix + "/auth/passkeys/register/begin"},
		{method: "GET", path: prefix + "/auth/passkeys"},
		{method: "DELETE", path: prefix + "/auth/passkeys/x"},
	} {
		f.do(t, r).problem(t, http.StatusUnauthorized, "invalid_token")
	}
}

func TestPasskeySignupRoutes(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}, mutate: passkeysOn})
	a := fakeauthn.New(passkeyOrigin)
	c := f.begin(t, "/auth/passkeys/signup/begin", `{"username":"kate","email":"kate@example.com"}`, "")
	cred, _, err := a.Create(c.Options)
	require.NoError(t, err)
	var u userBody
	f.post(t, "/auth/passkeys/signup/finish", finishBody(t, c.CeremonyID, cred, "")).json(t, http.StatusCreated, &u)
	assert.Equal(t, "kate", u.Username)
	assert.False(t, u.IsVerified)

	f.passkeyLoginHTTP(t, a, "").problem(t, http.StatusForbidden, "email_not_verified")
	f.post(t, "/auth/verify-email", `{"email":"kate@example.com","code":"`+f.nextCode(t, "kate@example.com")+`"}`).json(t, http.StatusOK, &u)
	var tok tokenBody
	f.passkeyLoginHTTP(t, a, "").json(t, http.StatusOK, &tok)

	var list []passkeyBody
	f.do(t, req{method: "GET", path: prefix + "/auth/passkeys", bearer: tok.AccessToken}).json(t, http.StatusOK, &list)
	require.Len(t, list, 1)
	f.do(t, req{method: "DELETE", path: prefix + "/auth/passkeys/" + list[0].ID, bearer: tok.AccessToken}).
		problem(t, http.StatusConflict, "last_login_method")

	p := f.post(t, "/auth/passkeys/signup/begin", `{"username":"kate","email":"other@example.com"}`).problem(t, http.StatusConflict, "user_exists")
	assert.Equal(t, "username", p.Errors[0].Field)
	f.post(t, "/auth/passkeys/signup/begin", `{"username":"x","email":"y"}`).problem(t, http.StatusUnprocessableEntity, "validation_failed")
}

func TestPasskeyBadRequests(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}, mutate: passkeysOn})
	f.verifiedUser(t, "alice")
	access := f.login(t, "alice").AccessToken
	a := fakeauthn.New(passkeyOrigin)
	c := f.begin(t, "/auth/passkeys/login/begin", "", "")

	for _, tc := range []struct {
		name, body, field, code string
	}{
		{"credential as a string", `{"ceremony_id":"x","credential":"abc"}`, "credential", "invalid_type"},
		{"credential as an array", `{"ceremony_id":"x","credential":[]}`, "credential", "invalid_type"},
		{"credential missing", `{"ceremony_id":"x"}`, "credential", "required"},
		{"credential null", `{"ceremony_id":"x","credential":null}`, "credential", "invalid_type"},
		{"ceremony_id as an object", `{"ceremony_id":{},"credential":{}}`, "ceremony_id", "invalid_type"},
		{"an unknown member", `{"ceremony_id":"x","credential":{},"admin":true}`, "admin", "unknown_field"},
		{"credential twice", `{"ceremony_id":"x","credential":{},"credential":{}}`, "credential", "duplicate_field"},
		{"NUL in the credential", `{"ceremony_id":"x","credential":{"id":"\u0000"}}`, "credential", "invalid_text"},
		{"malformed credential", `{"ceremony_id":"` + c.CeremonyID + `","credential":{"id":"x","type":"public-key"}}`, "credential", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.post(t, "/auth/passkeys/login/finish", tc.body).problem(t, http.StatusBadRequest, "bad_request")
			require.NotEmpty(t, p.Errors)
			assert.Equal(t, tc.field, p.Errors[0].Field)
			assert.Equal(t, tc.code, p.Errors[0].Code)
		})
	}
	t.Run("an unknown ceremony", func(t *testing.T) {
		f.post(t, "/auth/passkeys/login/finish", `{"ceremony_id":"nope","credential":{}}`).problem(t, http.StatusBadRequest, "invalid_code")
	})
	t.Run("a body on a route that takes none", func(t *testing.T) {
		f.do(t, req{method: "POST", path: prefix + "/auth/passkeys/register/begin", bearer: access, body: `{"x":"y"}`}).
			problem(t, http.StatusBadRequest, "bad_request")
	})
	t.Run("username with mfa_token", func(t *testing.T) {
		f.post(t, "/auth/passkeys/login/begin", `{"username":"alice","mfa_token":"t"}`).problem(t, http.StatusBadRequest, "bad_request")
	})
	t.Run("an unknown mfa_token", func(t *testing.T) {
		f.post(t, "/auth/passkeys/login/begin", `{"mfa_token":"nope"}`).problem(t, http.StatusUnauthorized, "invalid_token")
	})
	t.Run("a refused registration", func(t *testing.T) {
		c := f.begin(t, "/auth/passkeys/register/begin", "{}", access)
		cred, _, err := a.Create(c.Options, fakeauthn.WithOrigin("https://evil.example"))
		require.NoError(t, err)
		p := f.do(t, req{method: "POST", path: prefix + "/auth/passkeys/register/finish", bearer: access,
			body: finishBody(t, c.CeremonyID, cred, "")}).problem(t, http.StatusBadRequest, "bad_request")
		assert.Equal(t, "rejected", p.Errors[0].Code)
		assert.NotContains(t, string(p.Detail), "evil", "no detail of the library's")
	})
	t.Run("a duplicate credential", func(t *testing.T) {
		f.addPasskeyHTTP(t, a, access)
		held := a.Credentials()
		f.verifiedUser(t, "bob")
		bob := f.login(t, "bob").AccessToken
		c := f.begin(t, "/auth/passkeys/register/begin", "", bob)
		cred, _, err := fakeauthn.New(passkeyOrigin).Create(c.Options, fakeauthn.WithCredentialID(held[len(held)-1].ID))
		require.NoError(t, err)
		f.do(t, req{method: "POST", path: prefix + "/auth/passkeys/register/finish", bearer: bob,
			body: finishBody(t, c.CeremonyID, cred, "")}).problem(t, http.StatusConflict, "passkey_exists")
		// And bob cannot see or touch alice's passkey.
		var list []passkeyBody
		f.do(t, req{method: "GET", path: prefix + "/auth/passkeys", bearer: access}).json(t, http.StatusOK, &list)
		f.do(t, req{method: "DELETE", path: prefix + "/auth/passkeys/" + list[0].ID, bearer: bob}).problem(t, http.StatusNotFound, "not_found")
		f.do(t, req{method: "PATCH", path: prefix + "/auth/passkeys/" + list[0].ID, bearer: bob, body: `{"name":"mine"}`}).
			problem(t, http.StatusNotFound, "not_found")
	})
	t.Run("a wrong origin at sign-in", func(t *testing.T) {
		p := f.passkeyLoginHTTP(t, a, "", fakeauthn.WithOrigin("https://evil.example")).problem(t, http.StatusUnauthorized, "invalid_credentials")
		assert.Equal(t, "The passkey was not accepted.", p.Detail)
	})
}

func TestPasskeyAsSecondStep(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}, mutate: func(c *auth.Config) {
		mfaOn(c)
		passkeysOn(c)
	}})
	_, _, tok := f.enrolHTTP(t, "alice")
	a := fakeauthn.New(passkeyOrigin)
	f.addPasskeyHTTP(t, a, tok.AccessToken)

	var st struct {
		Passkeys int `json:"passkeys"`
	}
	f.do(t, req{method: "GET", path: prefix + "/auth/mfa", bearer: tok.AccessToken}).json(t, http.StatusOK, &st)
	assert.Equal(t, 1, st.Passkeys)

	res := f.post(t, "/auth/login", `{"username":"alice","password":"`+strongPW+`"}`)
	res.problem(t, http.StatusForbidden, "mfa_required")
	var mp mfaProblem
	require.NoError(t, json.Unmarshal(res.body, &mp))
	assert.Equal(t, []string{"totp", "recovery_code", "passkey"}, mp.Methods)

	var pair tokenBody
	f.passkeyLoginHTTP(t, a, `{"mfa_token":"`+mp.MFAToken+`"}`).json(t, http.StatusOK, &pair)
	id, err := f.svc.Authenticate(t.Context(), pair.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, []string{"pwd", "hwk", "user", "mfa"}, id.Claims.AMR)
	f.post(t, "/auth/mfa/verify", `{"mfa_token":"`+mp.MFAToken+`","code":"123456"}`).problem(t, http.StatusUnauthorized, "invalid_token")
}

func TestPasskeyCookieMode(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true, Cookies: &httpauth.CookieOptions{}}, mutate: passkeysOn})
	f.verifiedUser(t, "alice")
	access, _ := f.cookieLogin(t, "alice")
	a := fakeauthn.New(passkeyOrigin)
	f.addPasskeyHTTP(t, a, access)
	res := f.passkeyLoginHTTP(t, a, "")
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.NotContains(t, string(res.body), "refresh_token")
	c := res.setCookie(t)
	require.NotNil(t, c, "the passkey sign-in sets the refresh cookie")
	assert.True(t, c.HttpOnly)
	assert.True(t, strings.HasPrefix(c.Name, "__Secure-"))

	var list []passkeyBody
	f.do(t, req{method: "GET", path: prefix + "/auth/passkeys", bearer: access}).json(t, http.StatusOK, &list)
	f.do(t, req{method: "DELETE", path: prefix + "/auth/passkeys/" + list[0].ID, bearer: access}).expectNoContent(t)
	p := f.passkeyLoginHTTP(t, a, "").problem(t, http.StatusUnauthorized, "invalid_credentials")
	assert.Equal(t, "The passkey was not accepted.", p.Detail, "not the password's wording")
}

// DELETE /users/me for an account without a password: a mailed code.
func TestDeleteMeWithCode(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}, mutate: func(c *auth.Config) {
		lifecycleOn(c)
		c.Passkeys = auth.PasskeyConfig{RPID: "localhost", Origins: []string{passkeyOrigin}}
	}})
	a := fakeauthn.New(passkeyOrigin)
	c := f.begin(t, "/auth/passkeys/signup/begin", `{"username":"kate","email":"kate@example.com"}`, "")
	cred, _, err := a.Create(c.Options)
	require.NoError(t, err)
	f.post(t, "/auth/passkeys/signup/finish", finishBody(t, c.CeremonyID, cred, "")).json(t, http.StatusCreated, &userBody{})
	f.post(t, "/auth/verify-email", `{"email":"kate@example.com","code":"`+f.nextCode(t, "kate@example.com")+`"}`).json(t, http.StatusOK, &userBody{})
	var tok tokenBody
	f.passkeyLoginHTTP(t, a, "").json(t, http.StatusOK, &tok)
	del := func(body string) result {
		return f.do(t, req{method: "DELETE", path: prefix + "/users/me", bearer: tok.AccessToken, body: body})
	}

	del(`{}`).problem(t, http.StatusBadRequest, "bad_request")
	del(`{"current_password":"x","code":"123456"}`).problem(t, http.StatusBadRequest, "bad_request")
	del(`{"code":"123456"}`).problem(t, http.StatusBadRequest, "invalid_code")
	var sent struct {
		Detail string `json:"detail"`
	}
	f.do(t, req{method: "POST", path: prefix + "/users/me/deletion-code", bearer: tok.AccessToken}).json(t, http.StatusAccepted, &sent)
	code := f.nextCode(t, "kate@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	del(`{"code":"`+wrong+`"}`).problem(t, http.StatusBadRequest, "invalid_code")
	p := del(`{"current_password":"anything"}`).problem(t, http.StatusBadRequest, "bad_request")
	assert.Equal(t, "no_password", p.Errors[0].Code)
	del(`{"code":"` + code + `"}`).expectNoContent(t)
	f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken}).problem(t, http.StatusUnauthorized, "invalid_token")

	// A password account asks for no code.
	f.verifiedUser(t, "alice")
	alice := f.login(t, "alice").AccessToken
	p = f.do(t, req{method: "POST", path: prefix + "/users/me/deletion-code", bearer: alice}).problem(t, http.StatusBadRequest, "bad_request")
	assert.Equal(t, "password_set", p.Errors[0].Code)
}
