package sqlstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// postgresURLVar names the environment variable that points the tests at a
// PostgreSQL database; without it the PostgreSQL tests are skipped.
const postgresURLVar = "FORGEAUTH_TEST_POSTGRES_URL"

// openSQLite opens the SQLite file at path the recommended way and closes it
// at the end of the test.
func openSQLite(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// sqlitePath returns a fresh database file name in a temporary directory.
func sqlitePath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "auth.db")
}

// newSQLite returns a store on a fresh SQLite database, migrated unless
// migrate is false, and the *sql.DB beneath it.
func newSQLite(tb testing.TB, migrate bool) (*sqlstore.Store, *sql.DB) {
	tb.Helper()
	db := openSQLite(tb, sqlitePath(tb))
	return newStore(tb, db, sqlstore.SQLite, migrate), db
}

func newStore(tb testing.TB, db *sql.DB, d sqlstore.Dialect, migrate bool) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.New(db, d)
	require.NoError(tb, err)
	if migrate {
		require.NoError(tb, s.Migrate(context.Background()))
	}
	return s
}

// postgresURL returns the URL of the test database or skips the test.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(postgresURLVar)
	if u == "" {
		tb.Skipf("PostgreSQL tests need %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", postgresURLVar)
	}
	return u
}

// postgresSchema creates a schema of its own for the test, dropped at the
// end, and returns a URL whose connections use it (search_path). Runs of the
// tests never see each other's tables.
func postgresSchema(tb testing.TB) string {
	tb.Helper()
	base := postgresURL(tb)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "forgeauth_test_" + hex.EncodeToString(b)

	admin, err := sql.Open("pgx", base)
	require.NoError(tb, err)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = admin.ExecContext(ctx, `CREATE SCHEMA `+schema)
	require.NoError(tb, err, "create schema")
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	require.NoError(tb, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openPostgres opens url with pgx and closes it at the end of the test. The
// pool is bounded, since the server's connections are shared.
func openPostgres(tb testing.TB, url string, maxConns int) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", url)
	require.NoError(tb, err)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// newPostgres returns a store on a fresh schema, migrated unless migrate is
// false, and the *sql.DB beneath it.
func newPostgres(tb testing.TB, migrate bool) (*sqlstore.Store, *sql.DB) {
	tb.Helper()
	db := openPostgres(tb, lazyCommit(tb, postgresSchema(tb)), 8)
	return newStore(tb, db, sqlstore.Postgres, migrate), db
}

// lazyCommit returns rawURL with synchronous_commit off: a commit then does
// not wait for the disk, which changes nothing the tests observe (only what
// a crash of the server could lose) and makes them several times faster.
// Benchmarks do not use it.
func lazyCommit(tb testing.TB, rawURL string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(tb, err)
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// backend names a way to get a fresh store, so that a test runs on both.
type backend struct {
	name string
	make func(tb testing.TB, migrate bool) (*sqlstore.Store, *sql.DB)
}

var backends = []backend{
	{"SQLite", newSQLite},
	{"Postgres", newPostgres},
}

// fixed times for the package's own tests: microsecond values, UTC.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.UTC)

func user(name string) store.User {
	return store.User{
		ID:             "user-" + name,
		Username:       name,
		Email:          name + "@example.com",
		HashedPassword: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		IsActive:       true,
		CreatedAt:      t0,
		UpdatedAt:      t0,
	}
}

func token(u store.User, family, label string) store.RefreshToken {
	return store.RefreshToken{
		ID:               "token-" + label,
		UserID:           u.ID,
		TokenHash:        hexDigest("token:" + label),
		FamilyID:         "family-" + family,
		ExpiresAt:        t0.Add(24 * time.Hour),
		SessionExpiresAt: t0.Add(30 * 24 * time.Hour),
		DeviceName:       "phone",
		DeviceType:       "mobile",
		IPAddress:        "203.0.113.7",
		UserAgent:        "test/1.0",
		CreatedAt:        t0,
		LastUsedAt:       t0,
	}
}

// startSession creates t as the first token of its family for u.
func startSession(tb testing.TB, s *sqlstore.Store, u store.User, t store.RefreshToken) {
	tb.Helper()
	require.NoError(tb, s.CreateSession(context.Background(), t, u.HashedPassword))
}

// tokenRow reads the stored token with the digest, or fails the test.
func tokenRow(tb testing.TB, db *sql.DB, digest string) store.RefreshToken {
	tb.Helper()
	var t store.RefreshToken
	var replacedBy sql.NullString
	var expires, session any
	err := db.QueryRow(`SELECT id, user_id, family_id, is_revoked, replaced_by, device_name, expires_at, session_expires_at
		FROM refresh_tokens WHERE token = $1`, digest).
		Scan(&t.ID, &t.UserID, &t.FamilyID, &t.IsRevoked, &replacedBy, &t.DeviceName, &expires, &session)
	require.NoError(tb, err, "token row")
	t.TokenHash, t.ReplacedBy = digest, replacedBy.String
	t.ExpiresAt, t.SessionExpiresAt = asTime(tb, expires), asTime(tb, session)
	return t
}

// asTime reads either dialect's stored time.
func asTime(tb testing.TB, v any) time.Time {
	tb.Helper()
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case int64:
		return time.UnixMicro(v).UTC()
	}
	tb.Fatalf("not a stored time: %T", v)
	return time.Time{}
}

// hexDigest stands in for the SHA-256 of a token: 64 hex characters that
// depend on label only.
func hexDigest(label string) string {
	sum := sha256.Sum256([]byte(label))
	return hex.EncodeToString(sum[:])
}
