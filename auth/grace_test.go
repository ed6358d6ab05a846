package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

func memStore(testing.TB) store.Store { return memstore.New() }

func withGrace(d time.Duration) func(*auth.Config) {
	return func(c *auth.Config) { c.RefreshReuseGrace = d }
}

// refreshTwiceAtOnce refreshes rt from two goroutines at once, as two
// browser tabs do.
func refreshTwiceAtOnce(f *fixture, rt string) ([2]auth.Tokens, [2]error) {
	var toks [2]auth.Tokens
	var errs [2]error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		wg.Go(func() {
			<-start
			toks[i], errs[i] = f.svc.Refresh(context.Background(), rt, auth.Client{IP: "192.0.2.1"})
		})
	}
	close(start)
	wg.Wait()
	return toks, errs
}

// TestRefreshReuseGraceTwoTabs (SECURITY 40): within the window, two
// concurrent refreshes of one token both get a working pair of the same
// session.
func TestRefreshReuseGraceTwoTabs(t *testing.T) {
	f := newFixture(t, memStore, withGrace(10*time.Second))
	f.verifiedUser(t, "tabs")
	first := f.login(t, "tabs", strongPassword)
	toks, errs := refreshTwiceAtOnce(f, first.RefreshToken)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.NotEqual(t, toks[0].RefreshToken, toks[1].RefreshToken)
	var sids []string
	for _, tk := range toks {
		id, err := f.svc.Authenticate(context.Background(), tk.AccessToken)
		require.NoError(t, err)
		sids = append(sids, id.Claims.SessionID)
		_, err = f.svc.Refresh(context.Background(), tk.RefreshToken, auth.Client{})
		require.NoError(t, err, "each tab's refresh token works")
	}
	assert.Equal(t, sids[0], sids[1], "one session")
	id, err := f.svc.Authenticate(context.Background(), first.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, sids[0], id.Claims.SessionID)
}

// TestRefreshWithoutGraceTwoTabs: without a window (the default), the
// second of two concurrent refreshes is a replay and ends the session.
func TestRefreshWithoutGraceTwoTabs(t *testing.T) {
	f := newFixture(t, memStore)
	f.verifiedUser(t, "tabs")
	first := f.login(t, "tabs", strongPassword)
	toks, errs := refreshTwiceAtOnce(f, first.RefreshToken)
	require.Equal(t, 1, countNil(errs[:]), "errors: %v", errs)
	for i, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
			continue
		}
		_, err := f.svc.Refresh(context.Background(), toks[i].RefreshToken, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "the winner's token died with its session")
	}
}

func countNil(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

// TestRefreshReuseAfterGrace (SECURITY 40): a reuse after the window
// revokes the whole session, the newest token too, and is reported.
func TestRefreshReuseAfterGrace(t *testing.T) {
	f := newFixture(t, memStore, withGrace(10*time.Second))
	u := f.verifiedUser(t, "late")
	first := f.login(t, "late", strongPassword)
	second, err := f.svc.Refresh(context.Background(), first.RefreshToken, auth.Client{})
	require.NoError(t, err)
	f.clock.Advance(11 * time.Second)
	_, err = f.svc.Refresh(context.Background(), first.RefreshToken, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	f.waitEvent(t, u.ID, auth.EventRefreshReuse)
	_, err = f.svc.Refresh(context.Background(), second.RefreshToken, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "the newest token is revoked too")
	_, err = f.svc.Authenticate(context.Background(), second.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
}

// TestRefreshGraceEndedSession: the window never lets a token of an ended
// session through.
func TestRefreshGraceEndedSession(t *testing.T) {
	f := newFixture(t, memStore, withGrace(10*time.Second))
	f.verifiedUser(t, "gone")
	first := f.login(t, "gone", strongPassword)
	second, err := f.svc.Refresh(context.Background(), first.RefreshToken, auth.Client{})
	require.NoError(t, err)
	require.NoError(t, f.svc.Logout(context.Background(), second.RefreshToken, auth.Client{}))
	_, err = f.svc.Refresh(context.Background(), first.RefreshToken, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
}

func TestRefreshGraceConfig(t *testing.T) {
	base := func(s store.Store, grace time.Duration) auth.Config {
		return auth.Config{
			Store:             s,
			Mailer:            &mailer.Recorder{},
			Token:             token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
			RefreshReuseGrace: grace,
		}
	}
	for _, tt := range []struct {
		name  string
		cfg   auth.Config
		isErr error
	}{
		{"negative", base(memstore.New(), -time.Second), nil},
		{"over the maximum", base(memstore.New(), auth.MaxRefreshReuseGrace+time.Second), nil},
		{"store without the capability", base(coreStore{memstore.New()}, time.Second), auth.ErrGraceUnsupported},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.New(tt.cfg)
			require.Error(t, err)
			if tt.isErr != nil {
				require.True(t, errors.Is(err, tt.isErr), "err: %v", err)
			}
		})
	}
	svc, err := auth.New(base(memstore.New(), auth.MaxRefreshReuseGrace))
	require.NoError(t, err)
	require.NoError(t, svc.Shutdown(context.Background()))
	svc, err = auth.New(base(coreStore{memstore.New()}, 0))
	require.NoError(t, err, "no window needs no capability")
	require.NoError(t, svc.Shutdown(context.Background()))
}

func TestRefreshGraceFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			switch k {
			case "JWT_SECRET_KEY":
				return "0123456789abcdef0123456789abcdef"
			case "AUTH_REFRESH_REUSE_GRACE":
				return v
			}
			return ""
		}
	}
	for v, want := range map[string]time.Duration{"": 0, "0": 0, "10": 10 * time.Second, "300": 5 * time.Minute} {
		cfg, err := auth.ConfigFromEnv(env(v))
		require.NoError(t, err, v)
		assert.Equal(t, want, cfg.RefreshReuseGrace, v)
	}
	for _, v := range []string{"-1", "301", "ten"} {
		_, err := auth.ConfigFromEnv(env(v))
		var envErr *auth.EnvError
		require.ErrorAs(t, err, &envErr, v)
		assert.Equal(t, "AUTH_REFRESH_REUSE_GRACE", envErr.Name)
	}
}
