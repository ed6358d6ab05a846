package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// releasedV1 is the SHA-256 of each dialect's migration 0001 as released.
var releasedV1 = map[sqlstore.Dialect]string{
	sqlstore.Postgres: "f2a3a92b83f04e9694c731c646fe3fe952376842128336ec3466e8afa77e7b59",
	sqlstore.SQLite:   "9982ffa53bef925b87929727730038dcfa6dfd23de4b120e40e4bb26cd6c840d",
}

// releasedV1SQL reads the released migration 0001 kept in testdata.
func releasedV1SQL(tb testing.TB, d sqlstore.Dialect) string {
	tb.Helper()
	b, err := os.ReadFile("testdata/released/" + string(d) + "_0001_init.sql")
	require.NoError(tb, err)
	sum := sha256.Sum256(b)
	require.Equal(tb, releasedV1[d], hex.EncodeToString(sum[:]), "testdata holds the released file")
	return string(b)
}

// TestReleasedMigrationUnchanged checks that templating the table names
// left migration 0001 what was released: without a prefix it renders to
// the released bytes, with one every table and index carries the prefix.
func TestReleasedMigrationUnchanged(t *testing.T) {
	for d := range releasedV1 {
		t.Run(string(d), func(t *testing.T) {
			got := sqlstore.RenderedMigration(d, "", 1)
			assert.Equal(t, releasedV1SQL(t, d), got)

			prefixed := sqlstore.RenderedMigration(d, "auth_", 1)
			assert.NotContains(t, prefixed, "{p}")
			for _, line := range strings.Split(prefixed, "\n") {
				if strings.HasPrefix(line, "CREATE ") {
					assert.Contains(t, line, " auth_", "every created name is prefixed: %s", line)
					if strings.Contains(line, " INDEX ") {
						assert.Contains(t, line, " ON auth_", line)
					}
				}
				if strings.Contains(line, "REFERENCES") {
					assert.Contains(t, line, "REFERENCES auth_users", line)
				}
			}
			assert.NotContains(t, sqlstore.RenderedMigration(d, "auth_", 2), "{p}")
		})
	}
}

// releasedDB returns a fresh database of the dialect set up exactly as the
// release before schema version 2 left it: migration 0001 and the
// bookkeeping table schema_migrations holding version 1.
func releasedDB(tb testing.TB, b backend) *sql.DB {
	tb.Helper()
	_, db := b.make(tb, false)
	d := dialectOf(b.name)
	ctx := context.Background()
	bookkeeping := `CREATE TABLE schema_migrations (
		version    BIGINT      NOT NULL PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`
	if d == sqlstore.SQLite {
		bookkeeping = `CREATE TABLE schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
		) STRICT`
	}
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(tb, err)
	defer tx.Rollback()
	for _, q := range []string{bookkeeping, releasedV1SQL(tb, d), `INSERT INTO schema_migrations (version) VALUES (1)`} {
		_, err := tx.ExecContext(ctx, q)
		require.NoError(tb, err)
	}
	require.NoError(tb, tx.Commit())
	return db
}

// stored converts t into what the dialect stores, for raw inserts.
func stored(d sqlstore.Dialect, t time.Time) any {
	if d == sqlstore.SQLite {
		return t.UnixMicro()
	}
	return t
}

// TestUpgradeFromVersion1 migrates, in place, a database that the release
// before schema version 2 created and used, and checks that the data
// survives, the new column is backfilled, and the old tokens still rotate.
func TestUpgradeFromVersion1(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := releasedDB(t, b)
			d := dialectOf(b.name)
			ctx := context.Background()
			exec := func(q string, args ...any) {
				t.Helper()
				_, err := db.ExecContext(ctx, q, args...)
				require.NoError(t, err)
			}
			addUser := func(u store.User) {
				exec(`INSERT INTO users (id, username, username_folded, email, email_folded, hashed_password,
					is_active, is_verified, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
					u.ID, u.Username, store.Fold(u.Username), u.Email, store.Fold(u.Email), u.HashedPassword,
					u.IsActive, u.IsVerified, stored(d, u.CreatedAt), stored(d, u.UpdatedAt))
			}
			addToken := func(tk store.RefreshToken) {
				exec(`INSERT INTO refresh_tokens (id, user_id, token, family_id, expires_at, is_revoked, replaced_by,
					device_name, device_type, ip_address, user_agent, created_at, last_used_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
					tk.ID, tk.UserID, tk.TokenHash, tk.FamilyID, stored(d, tk.ExpiresAt), tk.IsRevoked,
					sql.NullString{String: tk.ReplacedBy, Valid: tk.ReplacedBy != ""},
					tk.DeviceName, tk.DeviceType, tk.IPAddress, tk.UserAgent, stored(d, tk.CreatedAt), stored(d, tk.LastUsedAt))
			}
			alice, bob := user("alice"), user("bob")
			alice.IsVerified = true
			addUser(alice)
			addUser(bob)
			// Family A: a1 rotated into a2 an hour later. Family B starts
			// two hours after A.
			a1, a2, b1 := token(alice, "A", "a1"), token(alice, "A", "a2"), token(alice, "B", "b1")
			a1.IsRevoked, a1.ReplacedBy = true, a2.ID
			a2.CreatedAt, a2.LastUsedAt = t0.Add(time.Hour), t0.Add(time.Hour)
			a2.ExpiresAt = t0.Add(40 * 24 * time.Hour) // later than the backfilled end
			b1.CreatedAt, b1.LastUsedAt = t0.Add(2*time.Hour), t0.Add(2*time.Hour)
			for _, tk := range []store.RefreshToken{a1, a2, b1} {
				addToken(tk)
			}
			c := code(bob, "c1")
			c.Type = store.CodeEmailVerification
			exec(`INSERT INTO verification_codes (id, user_id, code, code_type, expires_at, is_used, attempts, created_at)
				VALUES ($1, $2, $3, $4, $5, FALSE, 0, $6)`,
				c.ID, c.UserID, c.CodeHash, string(c.Type), stored(d, c.ExpiresAt), stored(d, c.CreatedAt))

			s := newStore(t, db, d, false)
			_, err := s.UserWithSession(ctx, alice.ID, a2.FamilyID, t0)
			require.ErrorIs(t, err, sqlstore.ErrNotMigrated, "the new code on the old schema")

			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.Migrate(ctx), "again")
			assert.Equal(t, sqlstore.Versions(), versions(t, db))
			assert.Equal(t, []int64{1, latestVersion()}, column64(t, db, `SELECT version FROM schema_migrations ORDER BY version`),
				"the old bookkeeping table now refuses an older release")

			// Data intact, backfill per family.
			assert.Equal(t, 2, count(t, db, `SELECT COUNT(*) FROM users`))
			assert.Equal(t, 3, count(t, db, `SELECT COUNT(*) FROM refresh_tokens`))
			month := 30 * 24 * time.Hour
			for _, tc := range []struct {
				tk   store.RefreshToken
				want time.Time
			}{{a1, t0.Add(month)}, {a2, t0.Add(month)}, {b1, t0.Add(2*time.Hour + month)}} {
				got := tokenRow(t, db, tc.tk.TokenHash)
				assert.Equal(t, tc.want, got.SessionExpiresAt, tc.tk.ID)
				assert.Equal(t, tc.tk.ExpiresAt.Truncate(time.Microsecond), got.ExpiresAt, "expiry kept: %s", tc.tk.ID)
				assert.Equal(t, tc.tk.ReplacedBy, got.ReplacedBy)
			}
			u, err := s.UserByEmail(ctx, "ALICE@example.com")
			require.NoError(t, err)
			assert.Equal(t, alice.ID, u.ID)
			assert.True(t, u.IsVerified)

			// The old tokens rotate; the new one ends with the session.
			a3 := token(alice, "A", "a3")
			a3.ExpiresAt = t0.Add(60 * 24 * time.Hour)
			require.NoError(t, s.RotateRefreshToken(ctx, a2.TokenHash, a3, t0.Add(3*time.Hour)))
			got := tokenRow(t, db, a3.TokenHash)
			assert.Equal(t, t0.Add(month), got.SessionExpiresAt)
			assert.Equal(t, t0.Add(month), got.ExpiresAt, "clamped to the session's end")
			assert.Equal(t, a2.DeviceName, got.DeviceName)
			require.ErrorIs(t, s.RotateRefreshToken(ctx, a1.TokenHash, token(alice, "A", "x"), t0.Add(4*time.Hour)),
				store.ErrReused, "reuse of a token rotated before the upgrade")
			_, err = s.UserWithSession(ctx, alice.ID, b1.FamilyID, t0.Add(4*time.Hour))
			require.NoError(t, err, "the other family lives on")

			// Codes and the new table work.
			_, err = s.VerifyEmailWithCode(ctx, bob.ID, c.CodeHash, 5, t0)
			require.NoError(t, err)
			require.NoError(t, s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "d", UserID: bob.ID, ExpiresAt: t0.Add(time.Hour)}))
			_, err = s.TakeTicket(ctx, "k", "d", t0)
			require.NoError(t, err)
		})
	}
}

// TestMigrateLeavesForeignSchemaMigrations puts a golang-migrate
// bookkeeping table named schema_migrations in the database, as an
// application that migrates its own tables with that tool has: Migrate
// creates the store's schema and leaves that table as it was, even when it
// records version 1.
func TestMigrateLeavesForeignSchemaMigrations(t *testing.T) {
	for _, b := range backends {
		for _, version := range []int64{20240101120000, 1} {
			t.Run(b.name, func(t *testing.T) {
				s, db := b.make(t, false)
				ctx := context.Background()
				_, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)`)
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations (version, dirty) VALUES ($1, FALSE)`, version)
				require.NoError(t, err)

				require.NoError(t, s.Migrate(ctx))
				assert.Equal(t, sqlstore.Versions(), versions(t, db))
				assert.Equal(t, []int64{version}, column64(t, db, `SELECT version FROM schema_migrations`))
				assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM schema_migrations WHERE NOT dirty`))
				require.NoError(t, s.CreateUser(ctx, user("alice")), "the store's tables exist")
			})
		}
	}
}

// TestMigrateDoesNotAdoptUnprovenTable gives the database a bookkeeping
// table shaped like the released one, holding version 1, but none of the
// store's tables: it is not adopted (nor changed), and the schema is
// created.
func TestMigrateDoesNotAdoptUnprovenTable(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, false)
			ctx := context.Background()
			_, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT)`)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (1)`)
			require.NoError(t, err)
			require.NoError(t, s.Migrate(ctx))
			assert.Equal(t, sqlstore.Versions(), versions(t, db))
			assert.Equal(t, []int64{1}, column64(t, db, `SELECT version FROM schema_migrations`))
		})
	}
}

// TestMigrateForeignTable gives the database an application's own users
// table: Migrate fails, naming it and the way out, and creates nothing;
// with a table prefix the store's schema lives beside it.
func TestMigrateForeignTable(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, false)
			ctx := context.Background()
			_, err := db.ExecContext(ctx, `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, `INSERT INTO users (id, name) VALUES (1, 'app user')`)
			require.NoError(t, err)

			err = s.Migrate(ctx)
			require.ErrorIs(t, err, sqlstore.ErrForeignTable)
			assert.Contains(t, err.Error(), `table "users"`)
			assert.Contains(t, err.Error(), "WithTablePrefix")
			assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: "), err.Error())
			assert.False(t, tableExists(t, db, "refresh_tokens"), "nothing was created")
			assert.False(t, tableExists(t, db, "forgeauth_schema_migrations"), "nothing was recorded")

			p, err := sqlstore.New(db, dialectOf(b.name), sqlstore.WithTablePrefix("fa_"))
			require.NoError(t, err)
			require.NoError(t, p.Migrate(ctx))
			alice := user("alice")
			require.NoError(t, p.CreateUser(ctx, alice))
			startSession(t, p, alice, token(alice, "A", "a1"))
			_, err = p.UserWithSession(ctx, alice.ID, "family-A", t0)
			require.NoError(t, err)
			assert.Equal(t, []string{"app user"}, column(t, db, `SELECT name FROM users`), "the application's table is untouched")
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM fa_users`))
			assert.Equal(t, len(sqlstore.Versions()), count(t, db, `SELECT COUNT(*) FROM fa_forgeauth_schema_migrations`))
		})
	}
}

// TestMigrateForeignIndex gives the database an index of the name the
// schema uses for one of its own (index names are global to a schema on
// PostgreSQL and to a file on SQLite).
func TestMigrateForeignIndex(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, false)
			ctx := context.Background()
			_, err := db.ExecContext(ctx, `CREATE TABLE accounts (email TEXT)`)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, `CREATE INDEX users_email_folded_key ON accounts (email)`)
			require.NoError(t, err)
			err = s.Migrate(ctx)
			require.ErrorIs(t, err, sqlstore.ErrForeignTable)
			assert.Contains(t, err.Error(), `index "users_email_folded_key"`)
		})
	}
}

// TestTwoPrefixes keeps two stores in one database, each with its own
// prefix: they migrate, record and hold their data independently.
func TestTwoPrefixes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := b.make(t, false)
			ctx := context.Background()
			d := dialectOf(b.name)
			sa, err := sqlstore.New(db, d, sqlstore.WithTablePrefix("a_"))
			require.NoError(t, err)
			sb, err := sqlstore.New(db, d, sqlstore.WithTablePrefix("b_"))
			require.NoError(t, err)
			require.NoError(t, sa.Migrate(ctx))
			_, err = sb.UserByID(ctx, "x")
			require.ErrorIs(t, err, sqlstore.ErrNotMigrated, "b is not migrated by a")
			require.NoError(t, sb.Migrate(ctx))

			alice := user("alice")
			require.NoError(t, sa.CreateUser(ctx, alice))
			require.NoError(t, sb.CreateUser(ctx, alice), "the same user in the other store is no conflict")
			a1 := token(alice, "A", "a1")
			startSession(t, sa, alice, a1)
			startSession(t, sb, alice, a1)
			require.NoError(t, sa.RotateRefreshToken(ctx, a1.TokenHash, token(alice, "A", "a2"), t0))
			require.NoError(t, sb.RotateRefreshToken(ctx, a1.TokenHash, token(alice, "A", "a2"), t0),
				"a rotation in a is not reuse in b")
			require.NoError(t, sa.DeleteUser(ctx, alice.ID))
			_, err = sb.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, sqlstore.Versions(), column64(t, db, `SELECT version FROM a_forgeauth_schema_migrations ORDER BY version`))
			assert.Equal(t, sqlstore.Versions(), column64(t, db, `SELECT version FROM b_forgeauth_schema_migrations ORDER BY version`))
			assert.False(t, tableExists(t, db, "users"), "no table without a prefix")
			assert.False(t, tableExists(t, db, "forgeauth_schema_migrations"))
		})
	}
}

func TestWithTablePrefix(t *testing.T) {
	db := openSQLite(t, sqlitePath(t))
	for _, tt := range []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"auth_", true},
		{"a", true},
		{"fa2_", true},
		{strings.Repeat("a", 30), true},
		{strings.Repeat("a", 31), false},
		{"Auth_", false},
		{"1auth", false},
		{"_auth", false},
		{"auth-", false},
		{"auth.", false},
		{"auth ", false},
		{"é_", false},
		{"a;DROP", false},
	} {
		s, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.WithTablePrefix(tt.prefix))
		if tt.ok {
			assert.NoError(t, err, "%q", tt.prefix)
			assert.NotNil(t, s)
			continue
		}
		if assert.Error(t, err, "%q", tt.prefix) {
			assert.Nil(t, s)
			assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: "), err.Error())
			assert.Contains(t, err.Error(), "prefix")
		}
	}
}

func tableExists(tb testing.TB, db *sql.DB, name string) bool {
	tb.Helper()
	var n int
	err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`, name).Scan(&n)
	if err != nil { // PostgreSQL
		require.NoError(tb, db.QueryRow(`SELECT COUNT(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name = $1`, name).Scan(&n))
	}
	return n > 0
}

func column64(tb testing.TB, db *sql.DB, query string) []int64 {
	tb.Helper()
	rows, err := db.Query(query)
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
