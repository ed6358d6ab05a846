package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

func TestNew(t *testing.T) {
	db := openSQLite(t, sqlitePath(t))
	tests := []struct {
		name    string
		db      *sql.DB
		dialect sqlstore.Dialect
		wantErr bool
	}{
		{"sqlite", db, sqlstore.SQLite, false},
		{"postgres", db, sqlstore.Postgres, false}, // New does not touch the database
		{"nil db", nil, sqlstore.SQLite, true},
		{"empty dialect", db, "", true},
		{"unknown dialect", db, "mysql", true},
		{"dialect in another case", db, "SQLite", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlstore.New(tt.db, tt.dialect)
			if tt.wantErr {
				require.Error(t, err)
				assert.Nil(t, s)
				assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: "), "error %q lacks the package prefix", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.dialect, s.Dialect())
		})
	}
}

func TestSQLiteDSN(t *testing.T) {
	t.Run("format", func(t *testing.T) {
		assert.Equal(t,
			"file:/data/auth.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate",
			sqlstore.SQLiteDSN("/data/auth.db"))
		dsn := sqlstore.SQLiteDSN("/data/a?b#c%d.db")
		path, _, _ := strings.Cut(dsn, "?")
		assert.Equal(t, "file:/data/a%3fb%23c%25d.db", path)
	})

	t.Run("every connection is configured", func(t *testing.T) {
		dir := t.TempDir()
		db := openSQLite(t, dir+"/odd ?#% name.db")
		db.SetMaxOpenConns(3)
		ctx := context.Background()
		// Hold three connections at once so that each is a new one.
		var conns []*sql.Conn
		for range 3 {
			c, err := db.Conn(ctx)
			require.NoError(t, err)
			conns = append(conns, c)
		}
		for i, c := range conns {
			pragma := func(name string) string {
				var v string
				require.NoError(t, c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v), name)
				return v
			}
			assert.Equal(t, "wal", pragma("journal_mode"), "connection %d", i)
			assert.Equal(t, "5000", pragma("busy_timeout"), "connection %d", i)
			assert.Equal(t, "1", pragma("foreign_keys"), "connection %d", i)
			assert.Equal(t, "1", pragma("synchronous"), "connection %d (NORMAL)", i)
			require.NoError(t, c.Close())
		}
		s := newStore(t, db, sqlstore.SQLite, true)
		require.NoError(t, s.CreateUser(ctx, user("alice")), "the escaped name names a usable file")
		_, err := os.Stat(filepath.Join(dir, "odd ?#% name.db"))
		require.NoError(t, err, "the file is created under its own name")
	})
}

func TestMigrate(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, false)
			ctx := context.Background()
			for i := range 3 { // idempotent
				require.NoError(t, s.Migrate(ctx), "Migrate #%d", i+1)
			}
			assert.Equal(t, sqlstore.Versions(), versions(t, db))
			assert.Equal(t, latestVersion(), s.SchemaVersion())
			require.NoError(t, s.CreateUser(ctx, user("alice")))
		})
	}
}

func TestMigrateConcurrently(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			// Two processes: two pools on one fresh database.
			var dbs [2]*sql.DB
			switch b.name {
			case "SQLite":
				path := sqlitePath(t)
				dbs = [2]*sql.DB{openSQLite(t, path), openSQLite(t, path)}
			default:
				u := lazyCommit(t, postgresSchema(t))
				dbs = [2]*sql.DB{openPostgres(t, u, 2), openPostgres(t, u, 2)}
			}
			for round := range 2 { // on a fresh database, then on a migrated one
				errs := make(chan error, len(dbs))
				start := make(chan struct{})
				for _, db := range dbs {
					s := newStore(t, db, dialectOf(b.name), false)
					go func() {
						<-start
						errs <- s.Migrate(context.Background())
					}()
				}
				close(start)
				for range dbs {
					require.NoError(t, <-errs, "round %d", round)
				}
				assert.Equal(t, sqlstore.Versions(), versions(t, dbs[0]))
			}
		})
	}
}

func TestMigrateSchemaTooNew(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			_, err := db.ExecContext(ctx, `INSERT INTO forgeauth_schema_migrations (version) VALUES (9999)`)
			require.NoError(t, err)
			err = s.Migrate(ctx)
			require.ErrorIs(t, err, sqlstore.ErrSchemaTooNew)
			assert.Contains(t, err.Error(), "9999")
		})
	}
}

func TestMigrateCanceled(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, false)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			require.ErrorIs(t, s.Migrate(ctx), context.Canceled)
			require.NoError(t, s.Migrate(context.Background()), "a failed Migrate leaves nothing half done")
			assert.Equal(t, sqlstore.Versions(), versions(t, db))
		})
	}
}

// TestNotMigrated checks that every method used before Migrate reports
// ErrNotMigrated rather than panicking or reporting something vaguer.
func TestNotMigrated(t *testing.T) {
	alice := user("alice")
	a1 := token(alice, "A", "a1")
	a2 := token(alice, "A", "a2")
	calls := []struct {
		name string
		call func(ctx context.Context, s *sqlstore.Store) error
	}{
		{"CreateUser", func(ctx context.Context, s *sqlstore.Store) error { return s.CreateUser(ctx, alice) }},
		{"UserByID", func(ctx context.Context, s *sqlstore.Store) error { _, err := s.UserByID(ctx, alice.ID); return err }},
		{"UserByUsername", func(ctx context.Context, s *sqlstore.Store) error {
			_, err := s.UserByUsername(ctx, alice.Username)
			return err
		}},
		{"UserByEmail", func(ctx context.Context, s *sqlstore.Store) error {
			_, err := s.UserByEmail(ctx, alice.Email)
			return err
		}},
		{"RecordLogin", func(ctx context.Context, s *sqlstore.Store) error { return s.RecordLogin(ctx, alice.ID, t0) }},
		{"ReplacePasswordHash", func(ctx context.Context, s *sqlstore.Store) error {
			return s.ReplacePasswordHash(ctx, alice.ID, "old", "new")
		}},
		{"ReplaceUnverifiedUser", func(ctx context.Context, s *sqlstore.Store) error { return s.ReplaceUnverifiedUser(ctx, alice) }},
		{"UserWithSession", func(ctx context.Context, s *sqlstore.Store) error {
			_, err := s.UserWithSession(ctx, alice.ID, a1.FamilyID, t0)
			return err
		}},
		{"SetPassword", func(ctx context.Context, s *sqlstore.Store) error {
			return s.SetPassword(ctx, alice.ID, alice.HashedPassword, "h", t0, "")
		}},
		{"SetActive", func(ctx context.Context, s *sqlstore.Store) error { return s.SetActive(ctx, alice.ID, false, t0) }},
		{"DeleteUser", func(ctx context.Context, s *sqlstore.Store) error { return s.DeleteUser(ctx, alice.ID) }},
		{"CreateSession", func(ctx context.Context, s *sqlstore.Store) error {
			return s.CreateSession(ctx, a1, alice.HashedPassword)
		}},
		{"RotateRefreshToken", func(ctx context.Context, s *sqlstore.Store) error {
			return s.RotateRefreshToken(ctx, a1.TokenHash, a2, t0)
		}},
		{"RevokeFamily", func(ctx context.Context, s *sqlstore.Store) error {
			return s.RevokeFamily(ctx, alice.ID, a1.FamilyID, t0)
		}},
		{"RevokeAllSessions", func(ctx context.Context, s *sqlstore.Store) error { return s.RevokeAllSessions(ctx, alice.ID, t0) }},
		{"Sessions", func(ctx context.Context, s *sqlstore.Store) error {
			_, err := s.Sessions(ctx, alice.ID, t0)
			return err
		}},
		{"CreateCode", func(ctx context.Context, s *sqlstore.Store) error { return s.CreateCode(ctx, code(alice, "c1")) }},
		{"CheckCode", func(ctx context.Context, s *sqlstore.Store) error {
			return s.CheckCode(ctx, alice.ID, store.CodePasswordReset, hexDigest("code:c1"), 5, t0)
		}},
		{"VerifyEmailWithCode", func(ctx context.Context, s *sqlstore.Store) error {
			_, err := s.VerifyEmailWithCode(ctx, alice.ID, hexDigest("code:c1"), 5, t0)
			return err
		}},
		{"ResetPasswordWithCode", func(ctx context.Context, s *sqlstore.Store) error {
			return s.ResetPasswordWithCode(ctx, alice.ID, hexDigest("code:c1"), 5, "h", t0)
		}},
		{"PutTicket", func(ctx context.Context, s *sqlstore.Store) error {
			return s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "d", ExpiresAt: t0})
		}},
		{"TakeTicket", func(ctx context.Context, s *sqlstore.Store) error {
			_, err := s.TakeTicket(ctx, "k", "d", t0)
			return err
		}},
		{"DeleteExpired", func(ctx context.Context, s *sqlstore.Store) error {
			_, err := s.DeleteExpired(ctx, t0, t0)
			return err
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, _ := b.make(t, false)
			for _, c := range calls {
				t.Run(c.name, func(t *testing.T) {
					err := c.call(context.Background(), s)
					require.ErrorIs(t, err, sqlstore.ErrNotMigrated)
					assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: "), "error %q", err)
					assertNoSecret(t, err, a1.TokenHash, a2.TokenHash, hexDigest("code:c1"), alice.HashedPassword)
				})
			}
		})
	}
}

// TestRestartRemembersRotation closes the database after a rotation and
// opens the file again, as a restarted process would.
func TestRestartRemembersRotation(t *testing.T) {
	ctx := context.Background()
	path := sqlitePath(t)
	alice := user("alice")
	a1, a2, a3 := token(alice, "A", "a1"), token(alice, "A", "a2"), token(alice, "A", "a3")

	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	require.NoError(t, err)
	s := newStore(t, db, sqlstore.SQLite, true)
	require.NoError(t, s.CreateUser(ctx, alice))
	startSession(t, s, alice, a1)
	require.NoError(t, s.RotateRefreshToken(ctx, a1.TokenHash, a2, t0.Add(time.Minute)))
	require.NoError(t, db.Close())

	db = openSQLite(t, path)
	s = newStore(t, db, sqlstore.SQLite, true) // migrating again changes nothing
	err = s.RotateRefreshToken(ctx, a1.TokenHash, a3, t0.Add(2*time.Minute))
	require.ErrorIs(t, err, store.ErrReused, "the rotated token after a restart")
	old := tokenRow(t, db, a1.TokenHash)
	assert.Equal(t, a2.ID, old.ReplacedBy)
	assert.True(t, tokenRow(t, db, a2.TokenHash).IsRevoked, "reuse revoked the newest token of the family")
	assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM refresh_tokens WHERE token = $1`, a3.TokenHash), "nothing was inserted")
}

// TestDigestsOnly checks that the token and code columns hold exactly the
// digests the store was given, so a copy of the tables holds no token or
// code that could be replayed, and that folded columns hold store.Fold.
func TestDigestsOnly(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			alice.Username, alice.Email = " Alice ", "Alice@Example.COM"
			a1, a2 := token(alice, "A", "a1"), token(alice, "A", "a2")
			c1 := code(alice, "c1")
			require.NoError(t, s.CreateUser(ctx, alice))
			startSession(t, s, alice, a1)
			require.NoError(t, s.RotateRefreshToken(ctx, a1.TokenHash, a2, t0.Add(time.Minute)))
			require.NoError(t, s.CreateCode(ctx, c1))

			assert.Equal(t, []string{a1.TokenHash, a2.TokenHash},
				column(t, db, `SELECT token FROM refresh_tokens ORDER BY created_at, id`))
			assert.Equal(t, []string{c1.CodeHash}, column(t, db, `SELECT code FROM verification_codes`))
			assert.Equal(t, []string{alice.HashedPassword}, column(t, db, `SELECT hashed_password FROM users`))
			assert.Equal(t, []string{"alice"}, column(t, db, `SELECT username_folded FROM users`))
			assert.Equal(t, []string{"alice@example.com"}, column(t, db, `SELECT email_folded FROM users`))
		})
	}
}

// TestTimes checks the stored representation: microseconds, UTC, NULL for
// the zero LastLoginAt.
func TestTimes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			zone := time.FixedZone("UTC-07", -7*3600)
			alice.CreatedAt = time.Date(2026, 3, 4, 5, 6, 7, 123456789, zone)
			require.NoError(t, s.CreateUser(ctx, alice))

			got, err := s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, time.Date(2026, 3, 4, 12, 6, 7, 123456000, time.UTC), got.CreatedAt,
				"cut to microseconds and returned in UTC")
			assert.Same(t, time.UTC, got.CreatedAt.Location())
			assert.True(t, got.LastLoginAt.IsZero())

			var nulls int
			require.NoError(t, db.QueryRowContext(ctx,
				`SELECT COUNT(*) FROM users WHERE last_login_at IS NULL AND tokens_valid_after IS NULL`).Scan(&nulls))
			assert.Equal(t, 1, nulls)
			if b.name == "SQLite" {
				var micros int64
				require.NoError(t, db.QueryRowContext(ctx, `SELECT created_at FROM users`).Scan(&micros))
				assert.Equal(t, alice.CreatedAt.UnixMicro(), micros, "SQLite keeps Unix microseconds")
			}
		})
	}
}

// TestDriverErrorsAreMapped covers the errors the store derives from
// constraint violations.
func TestDriverErrorsAreMapped(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			a1 := token(alice, "A", "a1")
			startSession(t, s, alice, a1)
			c1 := code(alice, "c1")
			require.NoError(t, s.CreateCode(ctx, c1))
			ghost := user("ghost")

			sameDigest := token(alice, "B", "b1")
			sameDigest.TokenHash = a1.TokenHash
			sameID := token(alice, "B", "b2")
			sameID.ID = a1.ID
			nextTaken := token(alice, "A", "a2")
			nextTaken.TokenHash = a1.TokenHash
			sameCodeID := code(alice, "c2")
			sameCodeID.ID = c1.ID

			sameUserID := user("other")
			sameUserID.ID = alice.ID
			sameUsername := user("other")
			sameUsername.Username = " ALICE"
			sameEmail := user("other")
			sameEmail.Email = "Alice@Example.com"
			nextSameID := token(alice, "A", "a3")
			nextSameID.ID = a1.ID
			ticket := store.Ticket{Kind: "mfa", Digest: hexDigest("ticket"), ExpiresAt: t0.Add(time.Hour)}
			require.NoError(t, s.PutTicket(ctx, ticket))

			tests := []struct {
				name    string
				err     error
				wantErr error
				field   string
				secrets []string
			}{
				{"user id taken", s.CreateUser(ctx, sameUserID), store.ErrConflict, store.FieldID, nil},
				{"username taken", s.CreateUser(ctx, sameUsername), store.ErrConflict, store.FieldUsername, nil},
				{"email taken", s.CreateUser(ctx, sameEmail), store.ErrConflict, store.FieldEmail, nil},
				{"token digest taken", s.CreateSession(ctx, sameDigest, alice.HashedPassword), store.ErrConflict, store.FieldTokenHash, []string{a1.TokenHash}},
				{"token id taken", s.CreateSession(ctx, sameID, alice.HashedPassword), store.ErrConflict, store.FieldID, []string{sameID.TokenHash}},
				{"session of unknown user", s.CreateSession(ctx, token(ghost, "G", "g1"), ghost.HashedPassword), store.ErrNotFound, "", nil},
				{"code id taken", s.CreateCode(ctx, sameCodeID), store.ErrConflict, store.FieldID, []string{sameCodeID.CodeHash}},
				{"code of unknown user", s.CreateCode(ctx, code(ghost, "g1")), store.ErrNotFound, "", nil},
				{"rotation into a taken digest", s.RotateRefreshToken(ctx, a1.TokenHash, nextTaken, t0), store.ErrConflict, store.FieldTokenHash, []string{a1.TokenHash}},
				{"rotation into a taken id", s.RotateRefreshToken(ctx, a1.TokenHash, nextSameID, t0), store.ErrConflict, store.FieldID, []string{a1.TokenHash}},
				{"ticket taken", s.PutTicket(ctx, ticket), store.ErrConflict, store.FieldDigest, []string{ticket.Digest}},
				{"ticket of unknown user", s.PutTicket(ctx, store.Ticket{Kind: "mfa", Digest: "x", UserID: ghost.ID, ExpiresAt: t0}), store.ErrNotFound, "", nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					require.ErrorIs(t, tt.err, tt.wantErr)
					if tt.field != "" {
						var ce *store.ConflictError
						require.ErrorAs(t, tt.err, &ce)
						assert.Equal(t, tt.field, ce.Field)
					}
					assertNoSecret(t, tt.err, tt.secrets...)
				})
			}
			got := tokenRow(t, db, a1.TokenHash)
			assert.False(t, got.IsRevoked, "a failed rotation changes nothing")
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM refresh_tokens`), "nothing was inserted")
		})
	}
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	t.Run("SQLite closed pool", func(t *testing.T) {
		s, db := newSQLite(t, true)
		require.NoError(t, db.Close())
		require.ErrorIs(t, s.Ping(ctx), store.ErrUnavailable)
		_, err := s.UserByID(ctx, "x")
		require.ErrorIs(t, err, store.ErrUnavailable)
	})
	t.Run("SQLite busy", func(t *testing.T) {
		path := sqlitePath(t)
		// A connection without busy_timeout that meets a held write lock.
		holder := openSQLite(t, path)
		newStore(t, holder, sqlstore.SQLite, true)
		conn, err := holder.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		require.NoError(t, err)
		defer conn.ExecContext(ctx, "ROLLBACK")

		impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
		require.NoError(t, err)
		defer impatient.Close()
		err = newStore(t, impatient, sqlstore.SQLite, false).CreateUser(ctx, user("alice"))
		require.ErrorIs(t, err, store.ErrUnavailable)
	})
	t.Run("Postgres refused", func(t *testing.T) {
		base := postgresURL(t)
		u, err := url.Parse(base)
		require.NoError(t, err)
		u.Host = "127.0.0.1:1" // nothing listens there
		q := u.Query()
		q.Set("connect_timeout", "2")
		u.RawQuery = q.Encode()
		db, err := sql.Open("pgx", u.String())
		require.NoError(t, err)
		defer db.Close()
		s := newStore(t, db, sqlstore.Postgres, false)
		require.ErrorIs(t, s.Ping(ctx), store.ErrUnavailable)
		_, err = s.UserByID(ctx, "x")
		require.ErrorIs(t, err, store.ErrUnavailable)
		require.ErrorIs(t, s.Migrate(ctx), store.ErrUnavailable)
	})
	t.Run("Postgres lock timeout", func(t *testing.T) {
		schemaURL := lazyCommit(t, postgresSchema(t))
		db := openPostgres(t, schemaURL, 2)
		s := newStore(t, db, sqlstore.Postgres, true)
		require.NoError(t, s.CreateUser(ctx, user("alice")))
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, user("alice").ID)
		require.NoError(t, err)

		// A second pool on the same schema whose statements give up on a
		// lock at once.
		other := openPostgres(t, schemaURL+"&lock_timeout=50", 1)
		err = newStore(t, other, sqlstore.Postgres, false).SetActive(ctx, user("alice").ID, false, t0)
		require.ErrorIs(t, err, store.ErrUnavailable)
	})
}

func TestCanceledContext(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, _ := b.make(t, true)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			alice := user("alice")
			for name, err := range map[string]error{
				"CreateUser":            s.CreateUser(ctx, alice),
				"ReplaceUnverifiedUser": s.ReplaceUnverifiedUser(ctx, alice),
				"SetPassword":           s.SetPassword(ctx, alice.ID, alice.HashedPassword, "h", t0, ""),
				"CreateSession":         s.CreateSession(ctx, token(alice, "A", "a1"), alice.HashedPassword),
				"Rotate":                s.RotateRefreshToken(ctx, "x", token(alice, "A", "a2"), t0),
				"PutTicket":             s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "d", ExpiresAt: t0}),
				"Ping":                  s.Ping(ctx),
			} {
				require.ErrorIs(t, err, context.Canceled, name)
				require.False(t, errors.Is(err, store.ErrNotFound), name)
			}
			_, err := s.UserByID(context.Background(), alice.ID)
			require.ErrorIs(t, err, store.ErrNotFound, "nothing was written")
		})
	}
}

func dialectOf(name string) sqlstore.Dialect {
	if name == "SQLite" {
		return sqlstore.SQLite
	}
	return sqlstore.Postgres
}

func code(u store.User, label string) store.VerificationCode {
	return store.VerificationCode{
		ID:        "code-" + label,
		UserID:    u.ID,
		CodeHash:  hexDigest("code:" + label),
		Type:      store.CodePasswordReset,
		ExpiresAt: t0.Add(time.Hour),
		CreatedAt: t0,
	}
}

func versions(tb testing.TB, db *sql.DB) []int64 {
	tb.Helper()
	rows, err := db.Query(`SELECT version FROM forgeauth_schema_migrations ORDER BY version`)
	require.NoError(tb, err)
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		require.NoError(tb, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(tb, rows.Err())
	return vs
}

func column(tb testing.TB, db *sql.DB, query string) []string {
	tb.Helper()
	rows, err := db.Query(query)
	require.NoError(tb, err)
	defer rows.Close()
	var vs []string
	for rows.Next() {
		var v string
		require.NoError(tb, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(tb, rows.Err())
	return vs
}

func assertNoSecret(tb testing.TB, err error, secrets ...string) {
	tb.Helper()
	for _, s := range secrets {
		assert.NotContains(tb, err.Error(), s, "the error message leaks a value")
	}
}
