package httpauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/internal/fakeidp"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

// TestOAuthNeverLinksByEmail: a provider account whose email belongs to an
// existing user is refused with account_exists and linked only when that
// user, signed in with the password, asks for it (SECURITY 38).
func TestOAuthNeverLinksByEmail(t *testing.T) {
	for _, sm := range oauthStores() {
		t.Run(sm.name, func(t *testing.T) {
			e := newOAuthEnv(t, sm.make(t), 0)
			e.passwordUser(t, "ada", "ada@example.com")
			assert.Equal(t, "account_exists", e.signIn(t, "acme").Get("error"))
			ada, err := e.store.UserByEmail(context.Background(), "ada@example.com")
			require.NoError(t, err)
			_, err = e.store.(store.Identities).IdentityBySubject(context.Background(), "acme", "sub-1")
			require.ErrorIs(t, err, store.ErrNotFound, "no identity was linked")

			tok := e.login(t, "ada")
			res, body := e.hop(t, "POST", e.srv.URL+prefix+"/auth/oauth/acme/link",
				`{"current_password":"wrong-password-1","redirect_uri":"`+appRedirect+`"}`, tok.AccessToken)
			require.Equal(t, http.StatusUnauthorized, res.StatusCode)
			assert.Equal(t, "invalid_password", problemCode(t, body))

			res, body = e.hop(t, "POST", e.srv.URL+prefix+"/auth/oauth/acme/link",
				`{"current_password":"`+strongPW+`","redirect_uri":"`+appRedirect+`"}`, tok.AccessToken)
			require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
			var link struct {
				AuthorizeURL string `json:"authorize_url"`
			}
			require.NoError(t, jsonUnmarshal(body, &link))
			frag := e.callback(t, e.approve(t, link.AuthorizeURL), flowCookie(t, res))
			assert.Equal(t, "acme", frag.Get("linked"))
			assert.Empty(t, frag.Get("code"), "a link signs no one in")

			// Now the provider signs in to Ada's account.
			signed := e.tokens(t, e.signIn(t, "acme").Get("code"))
			assert.Equal(t, ada.ID, e.me(t, signed.AccessToken).ID)

			res, body = e.hop(t, "GET", e.srv.URL+prefix+"/auth/identities", "", tok.AccessToken)
			require.Equal(t, http.StatusOK, res.StatusCode)
			var ids []struct {
				ID, Provider, Email string
			}
			require.NoError(t, jsonUnmarshal(body, &ids))
			require.Len(t, ids, 1)
			assert.Equal(t, "acme", ids[0].Provider)
			assert.Equal(t, "ada@example.com", ids[0].Email)

			// Ada has a password: the identity may go.
			res, _ = e.hop(t, "DELETE", e.srv.URL+prefix+"/auth/identities/"+ids[0].ID, "", tok.AccessToken)
			require.Equal(t, http.StatusNoContent, res.StatusCode)
			res, body = e.hop(t, "DELETE", e.srv.URL+prefix+"/auth/identities/"+ids[0].ID, "", tok.AccessToken)
			require.Equal(t, http.StatusNotFound, res.StatusCode)
			assert.Equal(t, "not_found", problemCode(t, body))
		})
	}
}

// TestOAuthUnverifiedEmail: an email the provider did not verify never
// verifies an account, never replaces a pending registration, and the
// account it makes cannot sign in while verification is required
// (SECURITY 38).
func TestOAuthUnverifiedEmail(t *testing.T) {
	e := newOAuthEnv(t, memstore.New(), 0)
	e.idp.SetAccount(fakeidp.Account{Subject: "sub-u", Email: "eve@example.com", EmailVerified: false})
	assert.Equal(t, "email_not_verified", e.signIn(t, "acme").Get("error"))
	u, err := e.store.UserByEmail(context.Background(), "eve@example.com")
	require.NoError(t, err)
	assert.False(t, u.IsVerified)

	// A pending registration of the address stays when the provider did
	// not verify it, and gives way when it did.
	res, body := e.hop(t, "POST", e.srv.URL+prefix+"/auth/register", `{"username":"pending","email":"pat@example.com","password":"`+strongPW+`"}`, "")
	require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", body)
	e.idp.SetAccount(fakeidp.Account{Subject: "sub-p", Email: "pat@example.com", EmailVerified: false})
	assert.Equal(t, "account_exists", e.signIn(t, "acme").Get("error"))
	pending, err := e.store.UserByEmail(context.Background(), "pat@example.com")
	require.NoError(t, err)
	assert.Equal(t, "pending", pending.Username)
	assert.False(t, pending.IsVerified)

	e.idp.SetAccount(fakeidp.Account{Subject: "sub-p", Email: "pat@example.com", EmailVerified: true})
	tok := e.tokens(t, e.signIn(t, "acme").Get("code"))
	me := e.me(t, tok.AccessToken)
	assert.NotEqual(t, pending.ID, me.ID, "the pending registration was replaced")
	assert.True(t, me.IsVerified)
}

// TestOAuthProviderFailures: a provider that is down, slow or gives no
// usable email ends the flow with the documented error, bounded by the
// timeout, and creates nothing.
func TestOAuthProviderFailures(t *testing.T) {
	for _, tt := range []struct {
		name     string
		provider string
		setup    func(e *oauthEnv)
		want     string
	}{
		{"down", "acme", func(e *oauthEnv) { e.idp.SetDown(true) }, "provider_unavailable"},
		{"slow", "acme", func(e *oauthEnv) { e.idp.SetBlocked(true) }, "provider_unavailable"},
		{"github down", "github", func(e *oauthEnv) { e.idp.SetDown(true) }, "provider_unavailable"},
		{"no email", "acme", func(e *oauthEnv) {
			e.idp.SetAccount(fakeidp.Account{Subject: "sub-1"})
		}, "email_missing"},
		{"email not an address", "acme", func(e *oauthEnv) {
			e.idp.SetAccount(fakeidp.Account{Subject: "sub-1", Email: "ada", EmailVerified: true})
		}, "email_missing"},
		{"github primary email unverified", "github", func(e *oauthEnv) {
			e.idp.SetAccount(fakeidp.Account{GitHubID: 7, GitHubEmails: []fakeidp.GitHubEmail{
				{Email: "ada@example.com", Primary: true, Verified: false},
				{Email: "other@example.com", Primary: false, Verified: true},
			}})
		}, "email_missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newOAuthEnv(t, memstore.New(), 300*time.Millisecond)
			to, c := e.begin(t, tt.provider)
			cb := e.approve(t, to) // the provider's authorize page answers before the failure
			tt.setup(e)
			started := time.Now()
			assert.Equal(t, tt.want, e.callback(t, cb, c).Get("error"))
			assert.Less(t, time.Since(started), 5*time.Second, "bounded by the timeout")
			e.noUser(t, "ada@example.com")
			e.noUser(t, "other@example.com")
		})
	}
}

// TestOAuthGitHub: GitHub signs up with its numeric id and primary,
// verified email.
func TestOAuthGitHub(t *testing.T) {
	e := newOAuthEnv(t, memstore.New(), 0)
	tok := e.tokens(t, e.signIn(t, "github").Get("code"))
	me := e.me(t, tok.AccessToken)
	assert.True(t, me.IsVerified)
	id, err := e.store.(store.Identities).IdentityBySubject(context.Background(), "github", "4242")
	require.NoError(t, err)
	assert.Equal(t, me.ID, id.UserID)
}

// TestOAuthLastLoginMethod: an account made by a provider has no password:
// the password login refuses it like an unknown user, and its only
// identity cannot be unlinked until it has another way in.
func TestOAuthLastLoginMethod(t *testing.T) {
	e := newOAuthEnv(t, memstore.New(), 0)
	tok := e.tokens(t, e.signIn(t, "acme").Get("code"))
	me := e.me(t, tok.AccessToken)
	for _, login := range []string{me.Username, me.Email} {
		// Neither the empty password nor the dummy one passes.
		for _, pw := range []string{"", "forgeauth dummy password"} {
			res, body := e.hop(t, "POST", e.srv.URL+prefix+"/auth/login", `{"username":"`+login+`","password":"`+pw+`"}`, "")
			require.Equal(t, http.StatusUnauthorized, res.StatusCode)
			assert.Equal(t, "invalid_credentials", problemCode(t, body))
		}
	}

	res, body := e.hop(t, "GET", e.srv.URL+prefix+"/auth/identities", "", tok.AccessToken)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var ids []struct{ ID string }
	require.NoError(t, jsonUnmarshal(body, &ids))
	require.Len(t, ids, 1)
	res, body = e.hop(t, "DELETE", e.srv.URL+prefix+"/auth/identities/"+ids[0].ID, "", tok.AccessToken)
	require.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Equal(t, "last_login_method", problemCode(t, body))

	// Linking needs the current password, which this account does not
	// have: no guess (not even the service's dummy) gets through.
	res, body = e.hop(t, "POST", e.srv.URL+prefix+"/auth/oauth/github/link",
		`{"current_password":"forgeauth dummy password","redirect_uri":"`+appRedirect+`"}`, tok.AccessToken)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Equal(t, "bad_request", problemCode(t, body))
	assert.Contains(t, string(body), `"no_password"`)

	// Someone else's identity is not found.
	e.passwordUser(t, "bob", "bob@example.com")
	bob := e.login(t, "bob")
	res, _ = e.hop(t, "DELETE", e.srv.URL+prefix+"/auth/identities/"+ids[0].ID, "", bob.AccessToken)
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	// Bob cannot link Ada's provider account to himself.
	res, body = e.hop(t, "POST", e.srv.URL+prefix+"/auth/oauth/acme/link",
		`{"current_password":"`+strongPW+`","redirect_uri":"`+appRedirect+`"}`, bob.AccessToken)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var link struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	require.NoError(t, jsonUnmarshal(body, &link))
	assert.Equal(t, "identity_in_use", e.callback(t, e.approve(t, link.AuthorizeURL), flowCookie(t, res)).Get("error"))
}

// TestOAuthProvidersRoute: the page's buttons read the configured names.
func TestOAuthProvidersRoute(t *testing.T) {
	e := newOAuthEnv(t, memstore.New(), 0)
	res, body := e.hop(t, "GET", e.srv.URL+prefix+"/auth/oauth/providers", "", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"providers":["acme","github"]}`, string(body))

	f := newFixture(t, fixtureOpts{})
	f.do(t, req{method: "GET", path: prefix + "/auth/oauth/providers"}).json(t, http.StatusOK, &struct{}{})
	f.do(t, req{method: "GET", path: prefix + "/auth/oauth/acme/authorize?redirect_uri=" + url.QueryEscape(appRedirect)}).
		problem(t, http.StatusNotFound, "not_found")
}
