package httpauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

// lifecycleOn turns on account changes and administration, on a store that
// implements their capabilities.
func lifecycleOn(cfg *auth.Config) {
	cfg.Store = memstore.New()
	cfg.Lifecycle.AccountChanges = true
	cfg.Lifecycle.Admin = true
}

func lifecycleFixture(t *testing.T, more ...func(*auth.Config)) *fixture {
	t.Helper()
	return newFixture(t, fixtureOpts{mutate: func(cfg *auth.Config) {
		lifecycleOn(cfg)
		for _, m := range more {
			m(cfg)
		}
	}})
}

// superuser makes a verified user and promotes them through the service.
func (f *fixture) superuser(tb testing.TB, name string) tokenBody {
	tb.Helper()
	f.verifiedUser(tb, name)
	_, err := f.svc.OperateUser(context.Background(), "test", name+"@example.com", store.UserUpdate{IsSuperuser: ptr(true)})
	require.NoError(tb, err)
	return f.login(tb, name)
}

func ptr(b bool) *bool { return &b }

func TestLifecycleRoutesServed(t *testing.T) {
	f := lifecycleFixture(t)
	n := 0
	for path, item := range f.doc.Paths.Map() {
		for method := range item.Operations() {
			n++
			t.Run(method+" "+path, func(t *testing.T) {
				res := f.do(t, req{method: method, path: prefix + strings.ReplaceAll(path, "{id}", "some-id")})
				assert.NotEqual(t, http.StatusMethodNotAllowed, res.status)
				assert.NotEqual(t, http.StatusNotFound, res.status, "%s %s is documented but not routed", method, path)
			})
		}
	}
	assert.Equal(t, 30, n)

	basic := newFixture(t, fixtureOpts{basic: true, mutate: lifecycleOn})
	assert.NotNil(t, basic.doc.Paths.Find("/users/me").Delete, "Basic mode deletes accounts")
	assert.Nil(t, basic.doc.Paths.Find("/auth/change-email"), "but mails no code")
	off := newFixture(t, fixtureOpts{})
	assert.Nil(t, off.doc.Paths.Find("/users/me").Delete, "off by default")
	assert.Nil(t, off.doc.Paths.Find("/admin/users"))
	res := off.do(t, req{method: "GET", path: prefix + "/admin/users"})
	res.problem(t, http.StatusNotFound, "not_found")
}

// SECURITY 43: /admin/* as a normal user is 403; disabling a user ends
// their sessions and access at once; the last superuser cannot remove
// themself.
func TestAdminForbiddenDisableAndLastSuperuser(t *testing.T) {
	f := lifecycleFixture(t)
	root := f.superuser(t, "root")
	alice := f.verifiedUser(t, "alice")
	aliceTok := f.login(t, "alice")

	for _, r := range []req{
		{method: "GET", path: prefix + "/admin/users"},
		{method: "GET", path: prefix + "/admin/users/" + alice.ID},
		{method: "PATCH", path: prefix + "/admin/users/" + alice.ID, body: `{"is_superuser":true}`},
		{method: "DELETE", path: prefix + "/admin/users/" + alice.ID},
		{method: "POST", path: prefix + "/admin/users/" + alice.ID + "/logout-all"},
	} {
		r.bearer = aliceTok.AccessToken
		f.do(t, r).problem(t, http.StatusForbidden, "forbidden")
		r.bearer = ""
		f.do(t, r).problem(t, http.StatusUnauthorized, "invalid_token")
	}

	var got userBody
	f.do(t, req{method: "PATCH", path: prefix + "/admin/users/" + alice.ID, bearer: root.AccessToken, body: `{"is_active":false}`}).
		json(t, http.StatusOK, &got)
	assert.False(t, got.IsActive)
	f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: aliceTok.AccessToken}).problem(t, http.StatusUnauthorized, "invalid_token")
	f.post(t, "/auth/refresh", `{"refresh_token":"`+aliceTok.RefreshToken+`"}`).problem(t, http.StatusForbidden, "inactive_user")

	rootUser := f.me(t, root.AccessToken)
	f.do(t, req{method: "PATCH", path: prefix + "/admin/users/" + rootUser.ID, bearer: root.AccessToken, body: `{"is_superuser":false}`}).
		problem(t, http.StatusConflict, "last_superuser")
	f.do(t, req{method: "PATCH", path: prefix + "/admin/users/" + rootUser.ID, bearer: root.AccessToken, body: `{"is_active":false}`}).
		problem(t, http.StatusConflict, "last_superuser")
	f.do(t, req{method: "DELETE", path: prefix + "/admin/users/" + rootUser.ID, bearer: root.AccessToken}).
		problem(t, http.StatusConflict, "last_superuser")
	f.do(t, req{method: "DELETE", path: prefix + "/users/me", bearer: root.AccessToken, body: `{"current_password":"` + strongPW + `"}`}).
		problem(t, http.StatusConflict, "last_superuser")
	assert.True(t, f.me(t, root.AccessToken).IsSuperuser)

	f.do(t, req{method: "GET", path: prefix + "/admin/users/nobody", bearer: root.AccessToken}).problem(t, http.StatusNotFound, "not_found")
	f.do(t, req{method: "POST", path: prefix + "/admin/users/" + alice.ID + "/logout-all", bearer: root.AccessToken}).expectNoContent(t)
	f.do(t, req{method: "DELETE", path: prefix + "/admin/users/" + alice.ID, bearer: root.AccessToken}).expectNoContent(t)
	f.do(t, req{method: "GET", path: prefix + "/admin/users/" + alice.ID, bearer: root.AccessToken}).problem(t, http.StatusNotFound, "not_found")
}

func (f *fixture) me(tb testing.TB, access string) userBody {
	tb.Helper()
	var u userBody
	f.do(tb, req{method: "GET", path: prefix + "/users/me", bearer: access}).json(tb, http.StatusOK, &u)
	return u
}

type pageBody struct {
	Users      []userBody `json:"users"`
	NextCursor *string    `json:"next_cursor"`
}

func TestAdminListUsers(t *testing.T) {
	f := lifecycleFixture(t)
	root := f.superuser(t, "root")
	for _, name := range []string{"ann", "anna", "bob", "a_b"} {
		f.register(t, name)
	}
	list := func(query string) result {
		return f.do(t, req{method: "GET", path: prefix + "/admin/users" + query, bearer: root.AccessToken})
	}
	var seen []string
	cursor := ""
	for range 10 {
		var p pageBody
		list("?limit=2&cursor="+cursor).json(t, http.StatusOK, &p)
		for _, u := range p.Users {
			seen = append(seen, u.Username)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	assert.ElementsMatch(t, []string{"root", "ann", "anna", "bob", "a_b"}, seen)

	var p pageBody
	list("?q=ANN").json(t, http.StatusOK, &p)
	assert.Len(t, p.Users, 2)
	list("?q=a_").json(t, http.StatusOK, &p)
	require.Len(t, p.Users, 1, "_ is no wildcard")
	assert.Equal(t, "a_b", p.Users[0].Username)
	list("?q=%25").json(t, http.StatusOK, &p)
	assert.Empty(t, p.Users, "% is no wildcard")
	list("?limit=1000").json(t, http.StatusOK, &p)
	assert.Len(t, p.Users, 5, "a limit over 100 is capped, not refused")

	var first pageBody
	list("?limit=1&q=a").json(t, http.StatusOK, &first)
	require.NotNil(t, first.NextCursor)
	c := *first.NextCursor
	tampered := c[:len(c)-2] + "AA"
	if tampered == c {
		tampered = c[:len(c)-2] + "BB"
	}
	for name, query := range map[string]string{
		"tampered":       "?q=a&cursor=" + tampered,
		"other search":   "?q=b&cursor=" + c,
		"garbage":        "?cursor=not-a-cursor",
		"limit zero":     "?limit=0",
		"limit word":     "?limit=ten",
		"unknown param":  "?page=2",
		"repeated param": "?q=a&q=b",
	} {
		t.Run(name, func(t *testing.T) { list(query).problem(t, http.StatusBadRequest, "bad_request") })
	}
	// A cursor of another server (another key) is foreign.
	other := lifecycleFixture(t, func(cfg *auth.Config) { cfg.CodeKey = []byte(strings.Repeat("k", 32)) })
	otherRoot := other.superuser(t, "root")
	other.do(t, req{method: "GET", path: prefix + "/admin/users?q=a&cursor=" + c, bearer: otherRoot.AccessToken}).
		problem(t, http.StatusBadRequest, "bad_request")
}

func TestAdminGetAndPatchUser(t *testing.T) {
	f := lifecycleFixture(t)
	root := f.superuser(t, "root")
	alice := f.verifiedUser(t, "alice")
	f.login(t, "alice")
	f.login(t, "alice")
	var d struct {
		userBody
		Sessions   int  `json:"sessions"`
		MFA        bool `json:"mfa"`
		Passkeys   int  `json:"passkeys"`
		Identities int  `json:"identities"`
	}
	f.do(t, req{method: "GET", path: prefix + "/admin/users/" + alice.ID, bearer: root.AccessToken}).json(t, http.StatusOK, &d)
	assert.Equal(t, 2, d.Sessions)
	assert.False(t, d.MFA)
	assert.Equal(t, "alice", d.Username)

	patch := func(body string) result {
		return f.do(t, req{method: "PATCH", path: prefix + "/admin/users/" + alice.ID, bearer: root.AccessToken, body: body})
	}
	var u userBody
	patch(`{"is_superuser":true,"is_verified":false}`).json(t, http.StatusOK, &u)
	assert.True(t, u.IsSuperuser)
	assert.False(t, u.IsVerified)
	for name, body := range map[string]string{
		"empty":     `{}`,
		"unknown":   `{"is_admin":true}`,
		"string":    `{"is_active":"false"}`,
		"null":      `{"is_active":null}`,
		"twice":     `{"is_active":true,"is_active":false}`,
		"case":      `{"IS_ACTIVE":true}`,
		"trailing":  `{"is_active":true} {}`,
		"not json":  `nope`,
		"not obj":   `[true]`,
		"truncated": `{"is_active":`,
	} {
		t.Run(name, func(t *testing.T) { patch(body).problem(t, http.StatusBadRequest, "bad_request") })
	}
	f.do(t, req{method: "PATCH", path: prefix + "/admin/users/" + alice.ID, bearer: root.AccessToken, body: `{"is_active":true}`,
		contentType: "text/plain"}).problem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	f.do(t, req{method: "PATCH", path: prefix + "/admin/users/nobody", bearer: root.AccessToken, body: `{"is_active":true}`}).
		problem(t, http.StatusNotFound, "not_found")
}

// SECURITY 41: the change-email code goes to the new address only and is
// bound to it; an address taken at confirmation is 409; the old address is
// told and no longer logs in.
func TestChangeEmail(t *testing.T) {
	f := lifecycleFixture(t, func(cfg *auth.Config) { cfg.Lifecycle.NoticesOff = nil })
	f.verifiedUser(t, "alice")
	tok := f.login(t, "alice")
	change := func(body string) result {
		return f.do(t, req{method: "POST", path: prefix + "/auth/change-email", bearer: tok.AccessToken, body: body})
	}
	confirm := func(code string) result {
		return f.do(t, req{method: "POST", path: prefix + "/auth/confirm-email-change", bearer: tok.AccessToken, body: `{"code":"` + code + `"}`})
	}
	change(`{"current_password":"wrong-Passw0rd!","new_email":"new@example.com"}`).problem(t, http.StatusUnauthorized, "invalid_password")
	change(`{"current_password":"`+strongPW+`","new_email":"not an email"}`).problem(t, http.StatusUnprocessableEntity, "validation_failed")
	change(`{"current_password":"`+strongPW+`","new_email":"alice@example.com"}`).problem(t, http.StatusUnprocessableEntity, "validation_failed")
	f.register(t, "bob")
	change(`{"current_password":"`+strongPW+`","new_email":"BOB@example.com"}`).problem(t, http.StatusConflict, "user_exists")

	before := f.mailCount("alice@example.com")
	var acc struct{ Detail string }
	change(`{"current_password":"`+strongPW+`","new_email":"New@Example.com"}`).json(t, http.StatusAccepted, &acc)
	code := f.nextCode(t, "New@Example.com")
	assert.Equal(t, before, f.mailCount("alice@example.com"), "no code to the old address")
	confirm(wrongCode(code)).problem(t, http.StatusBadRequest, "invalid_code")

	// Someone takes the address before the confirmation.
	f.post(t, "/auth/register", `{"username":"carol","email":"new@example.com","password":"`+strongPW+`"}`).json(t, http.StatusCreated, &userBody{})
	_, err := f.svc.VerifyEmail(context.Background(), "new@example.com", f.nextCode(t, "new@example.com"), auth.Client{})
	require.NoError(t, err)
	confirm(code).problem(t, http.StatusConflict, "user_exists")
	carol, err := f.svc.Login(context.Background(), "carol", strongPW, auth.Client{})
	require.NoError(t, err)
	require.NoError(t, f.svc.DeleteAccount(context.Background(), identityOf(t, f, carol.AccessToken), strongPW, auth.Client{}))

	var u userBody
	confirm(code).json(t, http.StatusOK, &u)
	assert.Equal(t, "New@Example.com", u.Email)
	notice := f.waitNotice(t, "alice@example.com")
	assert.Equal(t, "Your email address was changed", notice.Subject)
	assert.NotContains(t, notice.Text, code)
	f.post(t, "/auth/login", `{"username":"alice@example.com","password":"`+strongPW+`"}`).problem(t, http.StatusUnauthorized, "invalid_credentials")
	f.post(t, "/auth/login", `{"username":"new@example.com","password":"`+strongPW+`"}`).json(t, http.StatusOK, &tokenBody{})
	confirm(code).problem(t, http.StatusBadRequest, "invalid_code")
}

func identityOf(tb testing.TB, f *fixture, access string) auth.Identity {
	tb.Helper()
	id, err := f.svc.Authenticate(context.Background(), access)
	require.NoError(tb, err)
	return id
}

func (f *fixture) mailCount(to string) int {
	n := 0
	for _, m := range f.mail.Messages() {
		if m.To == to {
			n++
		}
	}
	return n
}

func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// waitNotice waits for the next notice to `to`, passing other mails.
func (f *fixture) waitNotice(tb testing.TB, to string) mailer.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		m, err := f.mail.Wait(ctx, to)
		require.NoError(tb, err)
		if strings.HasPrefix(string(m.Kind), "notice_") {
			return m
		}
	}
}

// SECURITY 42: deleting an account removes everything of it in one step;
// its access tokens fail at once; its username and email can be registered
// again.
func TestDeleteMe(t *testing.T) {
	f := lifecycleFixture(t)
	f.verifiedUser(t, "alice")
	tok := f.login(t, "alice")
	del := func(pw string) result {
		return f.do(t, req{method: "DELETE", path: prefix + "/users/me", bearer: tok.AccessToken, body: `{"current_password":"` + pw + `"}`})
	}
	del("Wrong-passw0rd!").problem(t, http.StatusUnauthorized, "invalid_password")
	f.do(t, req{method: "DELETE", path: prefix + "/users/me", bearer: tok.AccessToken, body: `{}`}).problem(t, http.StatusBadRequest, "bad_request")
	del(strongPW).expectNoContent(t)
	f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken}).problem(t, http.StatusUnauthorized, "invalid_token")
	f.post(t, "/auth/refresh", `{"refresh_token":"`+tok.RefreshToken+`"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")
	del(strongPW).problem(t, http.StatusUnauthorized, "invalid_token")
	f.register(t, "alice")
}

// SECURITY 44: with uniform registration, register answers byte for byte
// the same for a new and a taken address, and the owner is told.
func TestUniformRegistration(t *testing.T) {
	f := lifecycleFixture(t, func(cfg *auth.Config) {
		cfg.Lifecycle.UniformRegistration = true
		cfg.Lifecycle.NoticesOff = nil
	})
	reg := func(name, email string) result {
		return f.post(t, "/auth/register", `{"username":"`+name+`","email":"`+email+`","password":"`+strongPW+`"}`)
	}
	first := reg("alice", "alice@example.com")
	require.Equal(t, http.StatusAccepted, first.status)
	code := f.nextCode(t, "alice@example.com")
	_, err := f.svc.VerifyEmail(context.Background(), "alice@example.com", code, auth.Client{})
	require.NoError(t, err)

	taken := reg("mallory", "ALICE@example.com")
	assert.Equal(t, first.status, taken.status)
	assert.Equal(t, string(first.body), string(taken.body))
	notice := f.waitNotice(t, "alice@example.com")
	assert.Equal(t, "Someone tried to sign up with your address", notice.Subject)

	reg("alice", "other@example.com").problem(t, http.StatusConflict, "user_exists")
}
