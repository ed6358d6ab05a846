package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// roleStore wraps a store and reports the users it lists as superusers,
// standing in for an administrator who changes a role.
type roleStore struct {
	store.Store
	mu    sync.Mutex
	super map[string]bool
}

func (s *roleStore) setSuperuser(id string, v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.super[id] = v
}

func (s *roleStore) mark(u store.User, err error) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.IsSuperuser = s.super[u.ID]
	return u, err
}

func (s *roleStore) UserByID(ctx context.Context, id string) (store.User, error) {
	return s.mark(s.Store.UserByID(ctx, id))
}

func (s *roleStore) UserByUsername(ctx context.Context, name string) (store.User, error) {
	return s.mark(s.Store.UserByUsername(ctx, name))
}

func (s *roleStore) UserByEmail(ctx context.Context, email string) (store.User, error) {
	return s.mark(s.Store.UserByEmail(ctx, email))
}

// hook is a CustomClaims hook whose answer a test sets.
type hook struct {
	mu    sync.Mutex
	calls int
	users []store.User
	fn    func(u store.User) (json.RawMessage, error)
}

func (h *hook) claims(ctx context.Context, u store.User) (json.RawMessage, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx == nil {
		return nil, errors.New("no context")
	}
	h.calls++
	h.users = append(h.users, u)
	return h.fn(u)
}

func (h *hook) set(fn func(u store.User) (json.RawMessage, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fn = fn
}

func fixed(raw string) func(store.User) (json.RawMessage, error) {
	return func(store.User) (json.RawMessage, error) { return json.RawMessage(raw), nil }
}

func withHook(h *hook) func(*auth.Config) {
	return func(c *auth.Config) { c.CustomClaims = h.claims }
}

// TestCustomClaimsCannotOverride: members named like registered and
// forgeauth claims stay inside ext, and the real claims keep their values.
func TestCustomClaimsCannotOverride(t *testing.T) {
	h := &hook{fn: fixed(`{"sub":"mallory","exp":1,"iat":1,"iss":"evil","aud":"evil","user_id":"someone-else",` +
		`"token_type":"refresh","sid":"x","jti":"x","is_superuser":true,"role":"editor"}`)}
	f := newFixture(t, newMemStore, withHook(h))
	u := f.verifiedUser(t, "alice")
	tk := f.login(t, "alice", strongPassword)

	c, err := f.svc.VerifyAccessToken(tk.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, "alice", c.Subject)
	assert.Equal(t, u.ID, c.UserID)
	assert.Equal(t, token.TypeAccess, c.Type)
	assert.Equal(t, tk.SessionID, c.SessionID)
	assert.False(t, c.Superuser, "is_superuser comes from the user, not the hook")
	assert.Equal(t, f.clock.Now().Add(30*time.Minute).Unix(), c.ExpiresAt.Unix())
	assert.Equal(t, []string{"forgeauth"}, c.Audience)
	assert.Equal(t, "forgeauth", c.Issuer)
	var ext map[string]any
	require.NoError(t, json.Unmarshal(c.Custom, &ext))
	assert.Equal(t, "mallory", ext["sub"])
	assert.Equal(t, "editor", ext["role"])
	assert.Equal(t, true, ext["is_superuser"])

	// Authenticate sees the same claims, and the hook was given the user
	// without the password hash.
	id, err := f.svc.Authenticate(context.Background(), tk.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Claims.Subject)
	require.Equal(t, 1, h.calls)
	assert.Equal(t, u.ID, h.users[0].ID)
	assert.Empty(t, h.users[0].HashedPassword)
}

// TestCustomClaimsFailures: a failing hook, or claims the token refuses,
// fail the login or the refresh as an internal error, logged; nothing is
// issued, and the presented refresh token stays usable.
func TestCustomClaimsFailures(t *testing.T) {
	errHook := errors.New("directory unreachable")
	for _, tt := range []struct {
		name    string
		fn      func(store.User) (json.RawMessage, error)
		wantErr error
	}{
		{"hook error", func(store.User) (json.RawMessage, error) { return nil, errHook }, errHook},
		{"too large", fixed(`{"blob":"` + strings.Repeat("a", 4<<10) + `"}`), token.ErrCustomClaims},
		{"not an object", fixed(`["admin"]`), token.ErrCustomClaims},
		{"null", fixed(`null`), token.ErrCustomClaims},
		{"not JSON", fixed(`{"role":`), token.ErrCustomClaims},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &hook{fn: fixed(`{"role":"user"}`)}
			f := newFixture(t, newMemStore, withHook(h))
			u := f.verifiedUser(t, "bob")
			good := f.login(t, "bob", strongPassword)

			h.set(tt.fn)
			ctx := context.Background()
			_, err := f.svc.Login(ctx, "bob", strongPassword, auth.Client{IP: "192.0.2.1"})
			require.ErrorIs(t, err, tt.wantErr)
			assertInternal(t, err)
			_, err = f.svc.Refresh(ctx, good.RefreshToken, auth.Client{})
			require.ErrorIs(t, err, tt.wantErr)
			assertInternal(t, err)
			assert.Contains(t, f.logs.String(), "custom claims failed")
			assert.Contains(t, f.logs.String(), u.ID)

			id, err := f.svc.Authenticate(ctx, good.AccessToken)
			require.NoError(t, err)
			devices, err := f.svc.Devices(ctx, id)
			require.NoError(t, err)
			assert.Len(t, devices, 1, "the failed login made no session")

			h.set(fixed(`{"role":"user"}`))
			next, err := f.svc.Refresh(ctx, good.RefreshToken, auth.Client{})
			require.NoError(t, err, "the refresh token was not used up by the failed refresh")
			assert.NotEmpty(t, next.AccessToken)
		})
	}
}

// assertInternal checks that err is none of the conditions the HTTP adapter
// maps to a status other than 500.
func assertInternal(tb testing.TB, err error) {
	tb.Helper()
	for _, cond := range []error{auth.ErrInvalidCredentials, auth.ErrInvalidRefreshToken, auth.ErrInvalidToken, auth.ErrInactiveUser} {
		assert.NotErrorIs(tb, err, cond)
	}
	var unavailable *auth.UnavailableError
	assert.False(tb, errors.As(err, &unavailable))
}

// TestClaimsFollowTheUser: every access token carries is_superuser and the
// hook's claims as they are at issue, and a refresh reads the user again,
// so a changed role shows in the token of the next refresh.
func TestClaimsFollowTheUser(t *testing.T) {
	roles := map[string]string{}
	var mu sync.Mutex
	h := &hook{fn: func(u store.User) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		return json.Marshal(map[string]string{"role": roles[u.ID]})
	}}
	rs := &roleStore{super: map[string]bool{}}
	f := newFixture(t, func(tb testing.TB) store.Store {
		rs.Store = newMemStore(tb)
		return rs
	}, withHook(h))
	u := f.verifiedUser(t, "carol")
	mu.Lock()
	roles[u.ID] = "viewer"
	mu.Unlock()

	type claims struct {
		Role string `json:"role"`
	}
	check := func(access string, wantRole string, wantSuper bool) {
		t.Helper()
		c, err := f.svc.VerifyAccessToken(access)
		require.NoError(t, err)
		var got claims
		require.NoError(t, json.Unmarshal(c.Custom, &got))
		assert.Equal(t, wantRole, got.Role)
		assert.Equal(t, wantSuper, c.Superuser)
	}
	tk := f.login(t, "carol", strongPassword)
	check(tk.AccessToken, "viewer", false)

	mu.Lock()
	roles[u.ID] = "admin"
	mu.Unlock()
	rs.setSuperuser(u.ID, true)
	check(tk.AccessToken, "viewer", false) // a token is a snapshot
	f.clock.Advance(time.Second)
	tk, err := f.svc.Refresh(context.Background(), tk.RefreshToken, auth.Client{})
	require.NoError(t, err)
	check(tk.AccessToken, "admin", true)
	assert.True(t, tk.User.IsSuperuser)

	rs.setSuperuser(u.ID, false)
	f.clock.Advance(time.Second)
	tk, err = f.svc.Refresh(context.Background(), tk.RefreshToken, auth.Client{})
	require.NoError(t, err)
	check(tk.AccessToken, "admin", false)
	assert.Equal(t, 3, h.calls)
}

// TestNoCustomClaims: without a hook, or with a hook that returns nothing,
// a token has no ext claim.
func TestNoCustomClaims(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate []func(*auth.Config)
	}{
		{"no hook", nil},
		{"empty answer", []func(*auth.Config){withHook(&hook{fn: fixed(``)})}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, newMemStore, tt.mutate...)
			f.verifiedUser(t, "dave")
			c, err := f.svc.VerifyAccessToken(f.login(t, "dave", strongPassword).AccessToken)
			require.NoError(t, err)
			assert.Nil(t, c.Custom)
			assert.False(t, c.Superuser)
		})
	}
}
