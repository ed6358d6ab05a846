package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/sqlstore"
	"github.com/forgeauth/forgeauth/token"
	"github.com/forgeauth/forgeauth/totp"
)

// newSQLiteStoreDB is newSQLiteStore with the database beneath it.
func newSQLiteStoreDB(tb testing.TB) (store.Store, *sql.DB) {
	tb.Helper()
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(tb.TempDir(), "auth.db")))
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(db, sqlstore.SQLite)
	require.NoError(tb, err)
	require.NoError(tb, s.Migrate(context.Background()))
	return s, db
}

// newPostgresStore returns a store on a schema of its own in the database
// of FORGEAUTH_TEST_POSTGRES_URL, dropped at the end; it skips without it.
func newPostgresStore(tb testing.TB) store.Store {
	tb.Helper()
	base := os.Getenv("FORGEAUTH_TEST_POSTGRES_URL")
	if base == "" {
		tb.Skip("PostgreSQL tests need FORGEAUTH_TEST_POSTGRES_URL")
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "forgeauth_auth_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	require.NoError(tb, err)
	tb.Cleanup(func() { admin.Close() })
	_, err = admin.Exec(`CREATE SCHEMA ` + schema)
	require.NoError(tb, err)
	tb.Cleanup(func() { _, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(base)
	require.NoError(tb, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	require.NoError(tb, err)
	db.SetMaxOpenConns(16)
	tb.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(db, sqlstore.Postgres)
	require.NoError(tb, err)
	require.NoError(tb, s.Migrate(context.Background()))
	return s
}

// ticketsOnly keeps tickets but no second factors.
type ticketsOnly struct {
	store.Store
	store.Tickets
}

func TestNewMFA(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	base := func() auth.Config {
		return auth.Config{Store: memstore.New(), Mailer: &mailer.Recorder{}, Token: token.Config{Secret: secret}, MFA: true}
	}
	mem := memstore.New()
	tests := []struct {
		name    string
		mutate  func(*auth.Config)
		wantErr string
	}{
		{"memstore", func(*auth.Config) {}, ""},
		{"a key of its own", func(c *auth.Config) { c.MFAKey = make([]byte, 32) }, ""},
		{"short key", func(c *auth.Config) { c.MFAKey = make([]byte, 16) }, "Config.MFAKey must be 32 bytes"},
		{"no capabilities", func(c *auth.Config) { c.Store = coreStore{mem} }, "store.SecondFactors and store.Tickets"},
		{"no second factors", func(c *auth.Config) { c.Store = ticketsOnly{mem, mem} }, "implements store.SecondFactors;"},
		{"off needs nothing", func(c *auth.Config) { c.MFA, c.Store = false, coreStore{mem} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.mutate(&cfg)
			svc, err := auth.New(cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, cfg.MFA, svc.MFAEnabled())
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}

	t.Run("asymmetric keys need a key", func(t *testing.T) {
		_, priv, err := ed25519.GenerateKey(nil)
		require.NoError(t, err)
		cfg := base()
		cfg.Token = token.Config{Algorithm: "EdDSA", SigningKey: priv}
		cfg.CodeKey = secret
		_, err = auth.New(cfg)
		require.ErrorContains(t, err, "Config.MFAKey is required with asymmetric token keys")
		cfg.MFAKey = make([]byte, 32)
		_, err = auth.New(cfg)
		require.NoError(t, err)
	})

	t.Run("off", func(t *testing.T) {
		svc, err := auth.New(auth.Config{Store: mem, Mailer: &mailer.Recorder{}, Token: token.Config{Secret: secret}})
		require.NoError(t, err)
		ctx := context.Background()
		_, err = svc.MFAStatus(ctx, auth.Identity{})
		require.ErrorIs(t, err, auth.ErrMFAOff)
		_, err = svc.SetupTOTP(ctx, auth.Identity{}, "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrMFAOff)
		_, err = svc.ConfirmTOTP(ctx, auth.Identity{}, "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrMFAOff)
		require.ErrorIs(t, svc.DisableTOTP(ctx, auth.Identity{}, "", "", auth.Client{}), auth.ErrMFAOff)
		_, err = svc.RegenerateRecoveryCodes(ctx, auth.Identity{}, "", "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrMFAOff)
		_, err = svc.VerifyMFA(ctx, "x", "", "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrMFAOff)
		require.ErrorIs(t, svc.ResetMFA(ctx, "u"), auth.ErrMFAOff)
	})
}

func TestConfigFromEnvMFA(t *testing.T) {
	key := []byte("0123456789abcdefghijklmnopqrstuv")
	tests := []struct {
		name    string
		env     map[string]string
		wantMFA bool
		wantKey []byte
		wantErr string
	}{
		{"unset", nil, false, nil, ""},
		{"on", map[string]string{"AUTH_MFA": "true"}, true, nil, ""},
		{"hex key", map[string]string{"AUTH_MFA": "true", "AUTH_MFA_KEY": hex.EncodeToString(key)}, true, key, ""},
		{"base64 key", map[string]string{"AUTH_MFA_KEY": base64.StdEncoding.EncodeToString(key)}, false, key, ""},
		{"base64url key", map[string]string{"AUTH_MFA_KEY": base64.RawURLEncoding.EncodeToString(key)}, false, key, ""},
		{"short key", map[string]string{"AUTH_MFA_KEY": hex.EncodeToString(key[:16])}, false, nil, "AUTH_MFA_KEY"},
		{"not a key", map[string]string{"AUTH_MFA_KEY": strings.Repeat("z", 64)}, false, nil, "AUTH_MFA_KEY"},
		{"bad bool", map[string]string{"AUTH_MFA": "maybe"}, false, nil, "AUTH_MFA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"JWT_SECRET_KEY": "0123456789abcdef0123456789abcdef"}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := auth.ConfigFromEnv(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				var envErr *auth.EnvError
				require.ErrorAs(t, err, &envErr)
				assert.Equal(t, tt.wantErr, envErr.Name)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantMFA, cfg.MFA)
			assert.Equal(t, tt.wantKey, cfg.MFAKey)
		})
	}
}

// downStore is a memstore whose reads of users, factors and tickets fail
// as unavailable while down is set.
type downStore struct {
	*memstore.Store
	down      atomic.Bool
	usersDown atomic.Bool // only UserByID fails
}

func (s *downStore) err() error {
	return &storeUnavailable{}
}

type storeUnavailable struct{}

func (*storeUnavailable) Error() string { return "test: store down" }
func (*storeUnavailable) Unwrap() error { return store.ErrUnavailable }

func (s *downStore) TakeTicket(ctx context.Context, kind, digest string, at time.Time) (store.Ticket, error) {
	if s.down.Load() {
		return store.Ticket{}, s.err()
	}
	return s.Store.TakeTicket(ctx, kind, digest, at)
}

func (s *downStore) UserByID(ctx context.Context, id string) (store.User, error) {
	if s.down.Load() || s.usersDown.Load() {
		return store.User{}, s.err()
	}
	return s.Store.UserByID(ctx, id)
}

func (s *downStore) SecondFactor(ctx context.Context, userID string) (store.SecondFactor, error) {
	if s.down.Load() {
		return store.SecondFactor{}, s.err()
	}
	return s.Store.SecondFactor(ctx, userID)
}

// TestMFAStoreDown: a verify while the store is down is unavailable and
// leaves the mfa_token usable, whether the store failed before the token
// was taken or after.
func TestMFAStoreDown(t *testing.T) {
	ds := &downStore{Store: memstore.New()}
	f := newFixture(t, func(testing.TB) store.Store { return ds }, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	tok := f.challenge(t, "alice")

	ds.down.Store(true)
	_, err := f.svc.VerifyMFA(ctx, tok, f.code(t, e.secret), "", auth.Client{})
	var unavailable *auth.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	ds.down.Store(false)

	ds.usersDown.Store(true)
	_, err = f.svc.VerifyMFA(ctx, tok, f.code(t, e.secret), "", auth.Client{})
	require.ErrorAs(t, err, &unavailable)
	ds.usersDown.Store(false)

	got, err := f.svc.VerifyMFA(ctx, tok, f.code(t, e.secret), "", auth.Client{})
	require.NoError(t, err, "the token survived both outages")
	assert.NotEmpty(t, got.AccessToken)

	ds.down.Store(true)
	_, err = f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
	require.ErrorAs(t, err, &unavailable, "login fails closed")
}

// TestMFABasicMode: in Basic mode the challenge comes too, and the second
// step gives an access token carrying amr.
func TestMFABasicMode(t *testing.T) {
	f := newFixture(t, newMemStore, mfaOn, basicMode)
	ctx := context.Background()
	_, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	id := f.identity(t, f.login(t, "alice", strongPassword))
	assert.Equal(t, []string{"pwd"}, id.Claims.AMR)
	secret, _ := b32.DecodeString(must(f.svc.SetupTOTP(ctx, id, strongPassword, auth.Client{})).Secret)
	_, err = f.svc.ConfirmTOTP(ctx, id, f.code(t, secret), auth.Client{})
	require.NoError(t, err)
	f.clock.Advance(totp.Period)
	tok, err := f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), f.code(t, secret), "", auth.Client{})
	require.NoError(t, err)
	assert.Empty(t, tok.RefreshToken)
	assert.True(t, auth.HasSecondFactor(f.identity(t, tok).Claims))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
