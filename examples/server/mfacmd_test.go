package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
)

func TestMFADisableCommand(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "auth.db")}
	getenv := func(k string) string { return env[k] }
	set, err := readSettings(getenv)
	require.NoError(t, err)
	st, closeDB, err := openStore(ctx, set.DB)
	require.NoError(t, err)
	now := time.Now()
	u := store.User{ID: "0f0e0d0c-0b0a-4908-8706-050403020100", Username: "alice", Email: "alice@example.com",
		HashedPassword: "x", IsActive: true, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, st.CreateUser(ctx, u))
	sf := st.(store.SecondFactors)
	require.NoError(t, sf.PutPendingTOTP(ctx, u.ID, []byte("sealed"), now))
	require.NoError(t, sf.ConfirmTOTP(ctx, u.ID, []byte("sealed"), 1, []string{"d1"}, now))
	require.NoError(t, closeDB())

	var out bytes.Buffer
	require.NoError(t, mfaDisable(ctx, getenv, []string{"Alice@Example.com"}, &out))
	require.Contains(t, out.String(), "is removed")
	require.ErrorIs(t, mfaDisable(ctx, getenv, []string{"alice@example.com"}, &out), auth.ErrMFANotEnabled)
	require.ErrorContains(t, mfaDisable(ctx, getenv, []string{"nobody@example.com"}, &out), "no user")
	require.ErrorContains(t, mfaDisable(ctx, getenv, nil, &out), "usage")

	st, closeDB, err = openStore(ctx, set.DB)
	require.NoError(t, err)
	defer closeDB()
	_, err = st.(store.SecondFactors).SecondFactor(ctx, u.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
}
