package httpauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

// How the error paths of the provider flows reach the browser: a
// callback that fails after its flow was found redirects with #error=
// (never a 500 page), one that cannot read its flow answers a problem,
// and the exchange answers the account's state as problems. The paths
// themselves are tested in package auth (providers_errors_test.go).

// oauthFaultStore is faultyStore with the identities and tickets of a
// memstore, each failing with the fault set for its method name.
type oauthFaultStore struct {
	*faultyStore
	mem *memstore.Store
}

func newOAuthFaultStore() *oauthFaultStore {
	mem := memstore.New()
	return &oauthFaultStore{faultyStore: &faultyStore{Store: mem}, mem: mem}
}

func (s *oauthFaultStore) CreateUserWithIdentity(ctx context.Context, u store.User, id store.Identity, replace bool) error {
	if err := s.fault("CreateUserWithIdentity"); err != nil {
		return err
	}
	return s.mem.CreateUserWithIdentity(ctx, u, id, replace)
}

func (s *oauthFaultStore) AddIdentity(ctx context.Context, id store.Identity) error {
	if err := s.fault("AddIdentity"); err != nil {
		return err
	}
	return s.mem.AddIdentity(ctx, id)
}

func (s *oauthFaultStore) IdentityBySubject(ctx context.Context, provider, subject string) (store.Identity, error) {
	if err := s.fault("IdentityBySubject"); err != nil {
		return store.Identity{}, err
	}
	return s.mem.IdentityBySubject(ctx, provider, subject)
}

func (s *oauthFaultStore) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	if err := s.fault("Identities"); err != nil {
		return nil, err
	}
	return s.mem.Identities(ctx, userID)
}

func (s *oauthFaultStore) DeleteIdentity(ctx context.Context, userID, identityID string) error {
	if err := s.fault("DeleteIdentity"); err != nil {
		return err
	}
	return s.mem.DeleteIdentity(ctx, userID, identityID)
}

func (s *oauthFaultStore) PutTicket(ctx context.Context, t store.Ticket) error {
	if err := s.fault("PutTicket"); err != nil {
		return err
	}
	return s.mem.PutTicket(ctx, t)
}

func (s *oauthFaultStore) TakeTicket(ctx context.Context, kind, digest string, at time.Time) (store.Ticket, error) {
	if err := s.fault("TakeTicket"); err != nil {
		return store.Ticket{}, err
	}
	return s.mem.TakeTicket(ctx, kind, digest, at)
}

func storeDown() error { return fmt.Errorf("db: %w", store.ErrUnavailable) }

// clearsFlowCookie asserts that the answer removes the flow cookie.
func clearsFlowCookie(tb testing.TB, res *http.Response) {
	tb.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "__Host-forgeauth-oauth" {
			assert.Negative(tb, c.MaxAge, "the flow cookie is removed")
			return
		}
	}
	tb.Errorf("the flow cookie is not removed: %v", res.Header["Set-Cookie"])
}

// TestOAuthCallbackStoreFailureRedirects: a store that fails after the
// flow was found sends the browser back to the application with
// #error=server_error (a 302, not a 500), clears the flow cookie, and
// signs no one in; a store that fails to give the flow back answers 503
// with Retry-After, there being nowhere safe to redirect.
func TestOAuthCallbackStoreFailureRedirects(t *testing.T) {
	for _, method := range []string{"IdentityBySubject", "UserByEmail", "CreateUserWithIdentity", "PutTicket"} {
		for _, cause := range []error{storeDown(), errors.New("disk on fire")} {
			t.Run(method+"/"+cause.Error(), func(t *testing.T) {
				st := newOAuthFaultStore()
				e := newOAuthEnv(t, st, 0)
				to, c := e.begin(t, "acme")
				cb := e.approve(t, to)
				st.setFault(method, cause)
				res, body := e.hop(t, "GET", cb, "", "", c)
				st.setFault(method, nil)
				require.Equal(t, http.StatusFound, res.StatusCode, "body: %s", body)
				assert.Equal(t, appRedirect+"#error=server_error", res.Header.Get("Location"))
				clearsFlowCookie(t, res)
				if method != "PutTicket" {
					e.noUser(t, "ada@example.com")
					return
				}
				// The account and its identity were made in one step
				// before the exchange code failed: the next sign-in
				// finds it.
				made, err := st.mem.UserByEmail(context.Background(), "ada@example.com")
				require.NoError(t, err)
				assert.Equal(t, made.ID, e.me(t, e.tokens(t, e.signIn(t, "acme").Get("code")).AccessToken).ID)
			})
		}
	}

	t.Run("taking the flow", func(t *testing.T) {
		st := newOAuthFaultStore()
		e := newOAuthEnv(t, st, 0)
		to, c := e.begin(t, "acme")
		cb := e.approve(t, to)
		st.setFault("TakeTicket", storeDown())
		res, body := e.hop(t, "GET", cb, "", "", c)
		require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "body: %s", body)
		assert.Equal(t, "unavailable", problemCode(t, body))
		assert.NotEmpty(t, res.Header.Get("Retry-After"))
		assert.Empty(t, res.Header.Get("Location"))
		assert.Zero(t, e.idp.TokenRequests(), "the provider was not asked")
	})
}

// TestOAuthAuthorizeStoreFailure: a flow that cannot be stored is 503
// with no redirect and no cookie.
func TestOAuthAuthorizeStoreFailure(t *testing.T) {
	st := newOAuthFaultStore()
	e := newOAuthEnv(t, st, 0)
	st.setFault("PutTicket", storeDown())
	res, body := e.hop(t, "GET", e.srv.URL+prefix+"/auth/oauth/acme/authorize?redirect_uri="+url.QueryEscape(appRedirect), "", "")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "body: %s", body)
	assert.Equal(t, "unavailable", problemCode(t, body))
	assert.Empty(t, res.Header.Get("Location"))
	assert.Empty(t, res.Cookies())
}

// TestOAuthCallbackOfAnotherProvider: a state begun with acme that comes
// back at GitHub's callback, with the browser's own cookie, is
// #error=invalid_state; GitHub is not asked and nobody is signed in.
func TestOAuthCallbackOfAnotherProvider(t *testing.T) {
	e := newOAuthEnv(t, memstore.New(), 0)
	to, c := e.begin(t, "acme")
	cb := e.approve(t, to)
	requests := e.idp.TokenRequests()
	moved := strings.Replace(cb, "/auth/oauth/acme/callback", "/auth/oauth/github/callback", 1)
	require.NotEqual(t, cb, moved)
	assert.Equal(t, "invalid_state", e.callback(t, moved, c).Get("error"))
	assert.Equal(t, requests, e.idp.TokenRequests(), "no provider was asked for a token")
	e.noUser(t, "ada@example.com")

	// The flow is spent: the honest callback that follows is refused.
	res, body := e.hop(t, "GET", cb, "", "", c)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Equal(t, "invalid_state", problemCode(t, body))
}

// TestOAuthExchangeAccountChanged: an account disabled or unverified
// between the callback and the exchange is 403 inactive_user or
// email_not_verified, and a store that fails at the exchange is 503;
// none issues tokens.
func TestOAuthExchangeAccountChanged(t *testing.T) {
	ctx := context.Background()
	no := false
	for _, tt := range []struct {
		name   string
		change func(st *oauthFaultStore, userID string)
		status int
		code   string
	}{
		{"disabled", func(st *oauthFaultStore, id string) {
			require.NoError(t, st.mem.SetActive(ctx, id, false, time.Now()))
		}, http.StatusForbidden, "inactive_user"},
		{"unverified", func(st *oauthFaultStore, id string) {
			_, err := st.mem.UpdateUser(ctx, id, store.UserUpdate{IsVerified: &no}, time.Now())
			require.NoError(t, err)
		}, http.StatusForbidden, "email_not_verified"},
		{"store down at the code", func(st *oauthFaultStore, _ string) {
			st.setFault("TakeTicket", storeDown())
		}, http.StatusServiceUnavailable, "unavailable"},
		{"store down at the user", func(st *oauthFaultStore, _ string) {
			st.setFault("UserByID", storeDown())
		}, http.StatusServiceUnavailable, "unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newOAuthFaultStore()
			e := newOAuthEnv(t, st, 0)
			me := e.me(t, e.tokens(t, e.signIn(t, "acme").Get("code")).AccessToken)
			code := e.signIn(t, "acme").Get("code")
			require.NotEmpty(t, code)
			tt.change(st, me.ID)
			res, body := e.exchange(t, code)
			require.Equal(t, tt.status, res.StatusCode, "body: %s", body)
			assert.Equal(t, tt.code, problemCode(t, body))
			assert.NotContains(t, string(body), "access_token")
		})
	}
}

// TestOAuthIdentitiesStoreFailure: listing and unlinking identities on a
// failing store are 503.
func TestOAuthIdentitiesStoreFailure(t *testing.T) {
	st := newOAuthFaultStore()
	e := newOAuthEnv(t, st, 0)
	tok := e.tokens(t, e.signIn(t, "acme").Get("code"))
	ids, err := st.mem.Identities(context.Background(), e.me(t, tok.AccessToken).ID)
	require.NoError(t, err)
	require.Len(t, ids, 1)

	st.setFault("Identities", storeDown())
	res, body := e.hop(t, "GET", e.srv.URL+prefix+"/auth/identities", "", tok.AccessToken)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "body: %s", body)
	assert.Equal(t, "unavailable", problemCode(t, body))

	st.setFault("DeleteIdentity", storeDown())
	res, body = e.hop(t, "DELETE", e.srv.URL+prefix+"/auth/identities/"+ids[0].ID, "", tok.AccessToken)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "body: %s", body)
	assert.Equal(t, "unavailable", problemCode(t, body))
}

// TestOAuthExchangeWithoutProviders: without providers the exchange is
// no endpoint at all.
func TestOAuthExchangeWithoutProviders(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.do(t, req{method: "POST", path: prefix + "/auth/oauth/exchange", body: `{"code":"x"}`}).
		problem(t, http.StatusNotFound, "not_found")
}
