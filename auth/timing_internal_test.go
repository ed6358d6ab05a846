package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

func TestHashTimer(t *testing.T) {
	var slept []time.Duration
	h := hashTimer{sleep: func(_ context.Context, d time.Duration) { slept = append(slept, d) }}
	h.pad(context.Background(), time.Millisecond)
	assert.Empty(t, slept, "no estimate yet: nothing to wait for")
	h.observe(40 * time.Millisecond)
	h.pad(context.Background(), 10*time.Millisecond)
	h.pad(context.Background(), 50*time.Millisecond)
	assert.Equal(t, []time.Duration{30 * time.Millisecond}, slept, "the rest of a current check, and nothing past it")
	h.observe(48 * time.Millisecond)
	assert.Equal(t, 41*time.Millisecond, h.est, "a running average moves an eighth of the way")

	h.sleep = nil
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() { h.pad(ctx, 0); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pad did not end with its context")
	}
}

// TestLoginPadsCheapHashes: a wrong password for an account whose hash has
// older, cheaper parameters is held for the rest of a current check; an
// unknown user and an up-to-date hash are not held.
func TestLoginPadsCheapHashes(t *testing.T) {
	st := memstore.New()
	current := password.Params{Memory: 256, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	svc, err := New(Config{
		Mode:     ModeBasic,
		Store:    st,
		Token:    token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
		Password: password.HasherConfig{Params: current},
	})
	require.NoError(t, err)
	var held int
	svc.hashTime.sleep = func(context.Context, time.Duration) { held++ }
	svc.hashTime.est = time.Hour // far above any real check

	ctx := context.Background()
	cheap := current
	cheap.Memory, cheap.Iterations = 64, 1
	for name, p := range map[string]password.Params{"legacy": cheap, "fresh": current} {
		hash, err := password.Hash("Correct-Horse-7", p, nil)
		require.NoError(t, err)
		now := time.Now()
		require.NoError(t, st.CreateUser(ctx, store.User{ID: name + "-0000-4000-8000-000000000000", Username: name, Email: name + "@example.com", HashedPassword: hash, IsActive: true, CreatedAt: now, UpdatedAt: now}))
	}
	for _, tt := range []struct {
		login    string
		wantHeld int
	}{{"nobody", 0}, {"fresh", 0}, {"legacy", 1}} {
		held = 0
		_, err := svc.Login(ctx, tt.login, "Wrong-Password-1", Client{})
		require.ErrorIs(t, err, ErrInvalidCredentials)
		assert.Equal(t, tt.wantHeld, held, tt.login)
	}
}
