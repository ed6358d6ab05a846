package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
	"github.com/forgeauth/forgeauth/store/storetest"
)

// TestConformanceSQLite runs the conformance suite with a fresh SQLite file
// per subtest: a copy of a file migrated once, which is several times
// cheaper than migrating every file.
func TestConformanceSQLite(t *testing.T) {
	template := sqlitePath(t)
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(template))
	require.NoError(t, err)
	newStore(t, db, sqlstore.SQLite, true)
	// Closing the last connection checkpoints the log into the file.
	require.NoError(t, db.Close())
	schema, err := os.ReadFile(template)
	require.NoError(t, err)

	storetest.Run(t, func(tb testing.TB) store.Store {
		tb.Helper()
		path := sqlitePath(tb)
		require.NoError(tb, os.WriteFile(path, schema, 0o600))
		db := openSQLite(tb, path)
		// Two connections still race for SQLite's write lock; more would
		// mostly add time spent polling for it.
		db.SetMaxOpenConns(2)
		return newStore(tb, db, sqlstore.SQLite, false)
	})
}

// TestConformancePostgres runs the conformance suite on one schema of its
// own, migrated once and emptied before every subtest: creating and
// migrating a schema per subtest, or a TRUNCATE, costs a few hundred
// milliseconds each, DELETE of a few rows next to nothing.
func TestConformancePostgres(t *testing.T) {
	db := openPostgres(t, lazyCommit(t, postgresSchema(t)), 16)
	s := newStore(t, db, sqlstore.Postgres, true)
	storetest.Run(t, func(tb testing.TB) store.Store {
		tb.Helper()
		_, err := db.ExecContext(context.Background(),
			`DELETE FROM tickets; DELETE FROM refresh_tokens; DELETE FROM verification_codes; DELETE FROM users`)
		require.NoError(tb, err, "empty the tables")
		return s
	})
}
