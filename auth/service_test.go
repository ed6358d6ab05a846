package auth_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/sqlstore"
	"github.com/forgeauth/forgeauth/token"
)

func newMemStore(testing.TB) store.Store { return memstore.New() }

func newSQLiteStore(tb testing.TB) store.Store {
	tb.Helper()
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(tb.TempDir(), "auth.db")))
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(db, sqlstore.SQLite)
	require.NoError(tb, err)
	require.NoError(tb, s.Migrate(context.Background()))
	return s
}

func TestFlowsMemory(t *testing.T) { runFlows(t, newMemStore) }

func TestFlowsSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("the SQLite run of the flow suite is skipped in -short mode")
	}
	runFlows(t, newSQLiteStore)
}

func TestNew(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	base := func() auth.Config {
		return auth.Config{
			Store:    memstore.New(),
			Mailer:   &mailer.Recorder{},
			Token:    token.Config{Secret: secret},
			Password: password.HasherConfig{Params: testParams},
		}
	}
	tests := []struct {
		name    string
		mutate  func(*auth.Config)
		wantErr error
	}{
		{"no store", func(c *auth.Config) { c.Store = nil }, nil},
		{"complete without mailer", func(c *auth.Config) { c.Mailer = nil }, nil},
		{"short secret", func(c *auth.Config) { c.Token.Secret = secret[:31] }, token.ErrWeakSecret},
		{"no secret", func(c *auth.Config) { c.Token.Secret = nil }, token.ErrWeakSecret},
		{"unknown mode", func(c *auth.Config) { c.Mode = "advanced" }, nil},
		{"bad hash params", func(c *auth.Config) { c.Password.Params.Iterations = 99 }, nil},
		// The rule of Config: negative is off where a setting can be
		// turned off, and an error everywhere else.
		{"negative code TTL", func(c *auth.Config) { c.CodeTTL = -1 }, nil},
		{"negative code attempts", func(c *auth.Config) { c.CodeMaxAttempts = -1 }, nil},
		{"negative session lifetime", func(c *auth.Config) { c.SessionMaxLifetime = -time.Hour }, nil},
		{"short code key", func(c *auth.Config) { c.CodeKey = secret[:16] }, nil},
		{"limiter fails", func(c *auth.Config) {
			c.NewLimiter = func(string, ratelimit.Rule) (ratelimit.Limiter, error) { return nil, errors.New("no redis") }
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.mutate(&cfg)
			_, err := auth.New(cfg)
			require.Error(t, err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}

	t.Run("negative turns off what can be turned off", func(t *testing.T) {
		var names []string
		cfg := base()
		cfg.LoginMaxFailures, cfg.LoginFailuresPerHour = -1, -1
		cfg.CodeResendCooldown, cfg.CodeSendsPerHour, cfg.CodeGuessesPerNetwork = -1, -1, -1
		cfg.TokenCacheSize, cfg.DeviceTokenTTL, cfg.UnverifiedAccountTTL = -1, -1, -1
		cfg.NewLimiter = func(name string, rule ratelimit.Rule) (ratelimit.Limiter, error) {
			names = append(names, name)
			return ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: rule})
		}
		svc, err := auth.New(cfg)
		require.NoError(t, err)
		assert.Empty(t, names, "every limiter is off")
		_, err = svc.Register(context.Background(), "alice", "alice@example.com", strongPassword, auth.Client{})
		require.NoError(t, err)

		// Zero is the default: every limiter is made.
		names = nil
		cfg.LoginMaxFailures, cfg.LoginFailuresPerHour = 0, 0
		cfg.CodeResendCooldown, cfg.CodeSendsPerHour, cfg.CodeGuessesPerNetwork = 0, 0, 0
		_, err = auth.New(cfg)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{
			"login-failures", "login-failures-hourly", "login-failures-device",
			"password-failures", "password-failures-hourly", "code-guesses",
			"verification-sends-cooldown", "verification-sends-hourly",
			"reset-sends-cooldown", "reset-sends-hourly",
		}, names)
	})

	t.Run("basic needs no mailer", func(t *testing.T) {
		cfg := base()
		cfg.Mode, cfg.Mailer = auth.ModeBasic, nil
		svc, err := auth.New(cfg)
		require.NoError(t, err)
		assert.Equal(t, auth.ModeBasic, svc.Mode())
	})
	t.Run("zero mode is complete", func(t *testing.T) {
		svc, err := auth.New(base())
		require.NoError(t, err)
		assert.Equal(t, auth.ModeComplete, svc.Mode())
		require.NoError(t, svc.Ready(context.Background()))
	})
}

func TestConfigFromEnv(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	envOf := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	cfg, err := auth.ConfigFromEnv(envOf(map[string]string{
		"JWT_SECRET_KEY":               secret,
		"JWT_ACCESS_TOKEN_EXPIRATION":  "600",
		"JWT_REFRESH_TOKEN_EXPIRATION": "7200",
		"JWT_ISSUER":                   "iss",
		"JWT_AUDIENCE":                 "aud",
		"EMAIL_EXPIRATION":             "900",
		"EMAIL_FROM_NAME":              "Acme",
		"AUTH_MODE":                    "basic",
		"AUTH_REQUIRE_VERIFIED_LOGIN":  "false",
		"AUTH_LOGIN_MAX_FAILURES":      "0",
		"PASSWORD_HASH_MEMORY_KIB":     "65536",
	}))
	require.NoError(t, err)
	assert.Equal(t, []byte(secret), cfg.Token.Secret)
	assert.Equal(t, 10*time.Minute, cfg.Token.AccessTTL)
	assert.Equal(t, 2*time.Hour, cfg.Token.RefreshTTL)
	assert.Equal(t, "iss", cfg.Token.Issuer)
	assert.Equal(t, "aud", cfg.Token.Audience)
	assert.Equal(t, 15*time.Minute, cfg.CodeTTL)
	assert.Equal(t, "Acme", cfg.AppName)
	assert.Equal(t, auth.ModeBasic, cfg.Mode)
	assert.True(t, cfg.AllowUnverifiedLogin)
	assert.Negative(t, cfg.LoginMaxFailures, "0 turns the limit off")
	assert.Equal(t, uint32(65536), cfg.Password.Params.Memory)
	assert.Equal(t, password.DefaultParams().Iterations, cfg.Password.Params.Iterations, "a partial override keeps the other defaults")

	// The table of the rule: unset is the default (zero), 0 is off
	// (negative) where it can be, and a value is taken as given.
	for _, tt := range []struct {
		name, value string
		get         func(auth.Config) int64
		want        int64 // 0 default, -1 off, else the value
	}{
		{"AUTH_CODE_RESEND_COOLDOWN", "", func(c auth.Config) int64 { return int64(c.CodeResendCooldown) }, 0},
		{"AUTH_CODE_RESEND_COOLDOWN", "0", func(c auth.Config) int64 { return int64(c.CodeResendCooldown) }, -1},
		{"AUTH_CODE_RESEND_COOLDOWN", "90", func(c auth.Config) int64 { return int64(c.CodeResendCooldown) }, int64(90 * time.Second)},
		{"AUTH_CODE_SENDS_PER_HOUR", "", func(c auth.Config) int64 { return int64(c.CodeSendsPerHour) }, 0},
		{"AUTH_CODE_SENDS_PER_HOUR", "0", func(c auth.Config) int64 { return int64(c.CodeSendsPerHour) }, -1},
		{"AUTH_CODE_SENDS_PER_HOUR", "3", func(c auth.Config) int64 { return int64(c.CodeSendsPerHour) }, 3},
		{"AUTH_LOGIN_FAILURES_PER_HOUR", "0", func(c auth.Config) int64 { return int64(c.LoginFailuresPerHour) }, -1},
		{"AUTH_UNVERIFIED_ACCOUNT_TTL", "0", func(c auth.Config) int64 { return int64(c.UnverifiedAccountTTL) }, -1},
		{"JWT_SESSION_MAX_LIFETIME", "", func(c auth.Config) int64 { return int64(c.SessionMaxLifetime) }, 0},
		{"JWT_SESSION_MAX_LIFETIME", "3600", func(c auth.Config) int64 { return int64(c.SessionMaxLifetime) }, int64(time.Hour)},
		{"AUTH_WELCOME_MAIL", "false", func(c auth.Config) int64 {
			if c.NoWelcomeMail {
				return 1
			}
			return 0
		}, 1},
	} {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			cfg, err := auth.ConfigFromEnv(envOf(map[string]string{"JWT_SECRET_KEY": secret, tt.name: tt.value}))
			require.NoError(t, err)
			got := tt.get(cfg)
			if tt.want < 0 {
				assert.Negative(t, got)
			} else {
				assert.Equal(t, tt.want, got)
			}
		})
	}

	_, err = auth.ConfigFromEnv(envOf(nil))
	assert.ErrorIs(t, err, auth.ErrMissingSecret)

	for name, kv := range map[string][2]string{
		"bad expiration": {"JWT_ACCESS_TOKEN_EXPIRATION", "soon"},
		"zero ttl":       {"JWT_REFRESH_TOKEN_EXPIRATION", "0"},
		"bad mode":       {"AUTH_MODE", "advanced"},
		"bad bool":       {"AUTH_REQUIRE_VERIFIED_LOGIN", "maybe"},
		"negative max":   {"AUTH_LOGIN_MAX_FAILURES", "-1"},
		"negative sends": {"AUTH_CODE_SENDS_PER_HOUR", "-2"},
		"bad cooldown":   {"AUTH_CODE_RESEND_COOLDOWN", "1m"},
		"zero lifetime":  {"JWT_SESSION_MAX_LIFETIME", "0"},
		"bad welcome":    {"AUTH_WELCOME_MAIL", "sometimes"},
		"negative ttl":   {"AUTH_UNVERIFIED_ACCOUNT_TTL", "-5"},
		"memory cap":     {"PASSWORD_HASH_MEMORY_KIB", "999999999"},
		"parallelism":    {"PASSWORD_HASH_PARALLELISM", "0"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := auth.ConfigFromEnv(envOf(map[string]string{"JWT_SECRET_KEY": secret, kv[0]: kv[1]}))
			var envErr *auth.EnvError
			require.ErrorAs(t, err, &envErr)
			assert.Equal(t, kv[0], envErr.Name)
		})
	}

	// What New would refuse is refused here, naming the variable.
	for name, kv := range map[string][3]string{
		"short secret":      {"JWT_SECRET_KEY", "short", "JWT_SECRET_KEY"},
		"unknown algorithm": {"JWT_ALGORITHM", "HS1024", "JWT_ALGORITHM"},
		"hash parameters":   {"PASSWORD_HASH_MEMORY_KIB", "8", "PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_ITERATIONS, PASSWORD_HASH_PARALLELISM"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"JWT_SECRET_KEY": secret, "PASSWORD_HASH_PARALLELISM": "4", kv[0]: kv[1]}
			_, err := auth.ConfigFromEnv(envOf(env))
			var envErr *auth.EnvError
			require.ErrorAs(t, err, &envErr)
			assert.Equal(t, kv[2], envErr.Name)
			assert.NotContains(t, err.Error(), secret)
		})
	}
	_, err = auth.ConfigFromEnv(envOf(map[string]string{"JWT_SECRET_KEY": "short"}))
	assert.ErrorIs(t, err, token.ErrWeakSecret)
}

func TestSMTPConfigFromEnv(t *testing.T) {
	envOf := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	_, ok, err := auth.SMTPConfigFromEnv(envOf(nil))
	require.NoError(t, err)
	assert.False(t, ok, "no host: no SMTP")

	cfg, ok, err := auth.SMTPConfigFromEnv(envOf(map[string]string{
		"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "465", "EMAIL_HOST_USER": "u",
		"EMAIL_HOST_PASSWORD": "p", "EMAIL_USE_TLS": "false", "EMAIL_FROM_EMAIL": "no-reply@example.com", "EMAIL_FROM_NAME": "Acme",
	}))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "smtp.example.com", cfg.Host)
	assert.Equal(t, 465, cfg.Port)
	assert.True(t, cfg.Insecure)
	assert.Equal(t, "Acme", cfg.FromName)

	_, _, err = auth.SMTPConfigFromEnv(envOf(map[string]string{"EMAIL_HOST": "smtp.example.com"}))
	var envErr *auth.EnvError
	require.ErrorAs(t, err, &envErr)
	assert.Equal(t, "EMAIL_FROM_EMAIL", envErr.Name)
	_, _, err = auth.SMTPConfigFromEnv(envOf(map[string]string{"EMAIL_HOST": "h", "EMAIL_FROM_EMAIL": "a@b.c", "EMAIL_PORT": "70000"}))
	require.ErrorAs(t, err, &envErr)
	assert.Equal(t, "EMAIL_PORT", envErr.Name)
}

func TestContextIdentity(t *testing.T) {
	_, ok := auth.FromContext(context.Background())
	assert.False(t, ok)
	id := auth.Identity{User: store.User{ID: "u1"}}
	got, ok := auth.FromContext(auth.NewContext(context.Background(), id))
	require.True(t, ok)
	assert.Equal(t, "u1", got.User.ID)
}

func TestTokenCacheKeepsChecks(t *testing.T) {
	for _, size := range []int{0, -1} {
		t.Run(fmt.Sprint("size ", size), func(t *testing.T) {
			f := newFixture(t, newMemStore, basicMode, func(c *auth.Config) { c.TokenCacheSize = size })
			ctx := context.Background()
			u, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
			require.NoError(t, err)
			tok := f.login(t, "alice", strongPassword)
			for i := 0; i < 3; i++ {
				id, err := f.svc.Authenticate(ctx, tok.AccessToken)
				require.NoError(t, err)
				assert.Equal(t, u.ID, id.Claims.UserID)
			}
			// A cached token still meets the user checks...
			require.NoError(t, f.store.SetActive(ctx, u.ID, false, f.clock.Now()))
			_, err = f.svc.Authenticate(ctx, tok.AccessToken)
			assert.ErrorIs(t, err, auth.ErrInvalidToken)
			require.NoError(t, f.store.SetActive(ctx, u.ID, true, f.clock.Now()))
			// ...and expires with the token.
			f.clock.Advance(31 * time.Minute)
			_, err = f.svc.VerifyAccessToken(tok.AccessToken)
			assert.ErrorIs(t, err, token.ErrExpired)
		})
	}
}
