package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func TestUserCommand(t *testing.T) {
	ctx := context.Background()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	getenv := func(name string) string {
		if name == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	set, err := readSettings(getenv)
	require.NoError(t, err)
	st, closeDB, err := openStore(ctx, set.DB)
	require.NoError(t, err)
	t.Cleanup(func() { _ = closeDB() })
	now := time.Now()
	require.NoError(t, st.CreateUser(ctx, store.User{ID: "u1", Username: "alice", Email: "alice@example.com", IsActive: true, CreatedAt: now, UpdatedAt: now}))

	cmd := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := userCommand(ctx, args, getenv, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	user := func() store.User {
		u, err := st.UserByID(ctx, "u1")
		require.NoError(t, err)
		return u
	}

	code, out, _ := cmd("--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "promote")
	code, _, errOut := cmd("promote")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "usage:")
	code, _, errOut = cmd("crown", "alice@example.com")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `unknown action "crown"`)
	code, _, errOut = cmd("promote", "nobody@example.com")
	assert.Equal(t, exitNoUser, code)
	assert.Contains(t, errOut, "no user has the email")

	code, out, errOut = cmd("promote", "ALICE@example.com")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "is_superuser=true")
	assert.Contains(t, errOut, "actor_id=operator:cli", "an audit event naming the actor")
	assert.True(t, user().IsSuperuser)

	code, _, errOut = cmd("demote", "alice@example.com")
	assert.Equal(t, exitLastSuper, code)
	assert.Contains(t, errOut, "last active superuser")
	code, _, _ = cmd("disable", "alice@example.com")
	assert.Equal(t, exitLastSuper, code)

	require.NoError(t, st.CreateUser(ctx, store.User{ID: "u2", Username: "bob", Email: "bob@example.com", IsActive: true, IsSuperuser: true, CreatedAt: now, UpdatedAt: now}))
	code, _, _ = cmd("disable", "alice@example.com")
	require.Equal(t, exitOK, code)
	assert.False(t, user().IsActive)
	code, _, _ = cmd("enable", "alice@example.com")
	require.Equal(t, exitOK, code)
	assert.True(t, user().IsActive)
	code, _, _ = cmd("demote", "alice@example.com")
	require.Equal(t, exitOK, code)
	assert.False(t, user().IsSuperuser)

	code = userCommand(ctx, []string{"promote", "a@example.com"}, func(n string) string {
		if n == "DATABASE_URL" {
			return "memory"
		}
		return ""
	}, &bytes.Buffer{}, &bytes.Buffer{})
	assert.Equal(t, exitUsage, code, "the memory store holds no users outside a server")
}
