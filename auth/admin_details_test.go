package auth_test

import (
	"encoding/base32"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/totp"
)

// TestAdminUserDetails: an admin's view of a user counts what the other
// features keep: a confirmed second factor and linked provider accounts.
func TestAdminUserDetails(t *testing.T) {
	env := authtest.New(t, func(c *auth.Config) { c.MFA = true; c.Lifecycle.Admin = true })
	ctx := t.Context()
	env.CreateUser(t, "root", "root@example.com")
	yes := true
	_, err := env.Service.OperateUser(ctx, "test", "root@example.com", store.UserUpdate{IsSuperuser: &yes})
	require.NoError(t, err)
	alice := env.CreateUser(t, "alice", "alice@example.com")
	admin, err := env.Service.Authenticate(ctx, env.SignIn(t, store.User{Username: "root"}).AccessToken)
	require.NoError(t, err)

	d, err := env.Service.GetUser(ctx, admin, alice.ID)
	require.NoError(t, err)
	assert.False(t, d.MFA)
	assert.Zero(t, d.Identities)
	assert.Zero(t, d.Sessions)

	id, err := env.Service.Authenticate(ctx, env.SignIn(t, alice).AccessToken)
	require.NoError(t, err)
	setup, err := env.Service.SetupTOTP(ctx, id, authtest.Password, auth.Client{})
	require.NoError(t, err)
	d, err = env.Service.GetUser(ctx, admin, alice.ID)
	require.NoError(t, err)
	assert.False(t, d.MFA, "a pending setup is not a second factor")

	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
	require.NoError(t, err)
	code, err := totp.Code(secret, time.Now())
	require.NoError(t, err)
	_, err = env.Service.ConfirmTOTP(ctx, id, code, auth.Client{})
	require.NoError(t, err)
	require.NoError(t, env.Store.(store.Identities).AddIdentity(ctx, store.Identity{
		ID: "7e0f1b1c-54a3-4d3e-9a0e-2c4b8f1d9e21", UserID: alice.ID, Provider: "acme", Subject: "sub-1",
		Email: "alice@example.com", CreatedAt: time.Now(),
	}))

	d, err = env.Service.GetUser(ctx, admin, alice.ID)
	require.NoError(t, err)
	assert.True(t, d.MFA)
	assert.Equal(t, 1, d.Identities)
	assert.Equal(t, 1, d.Sessions)
}
