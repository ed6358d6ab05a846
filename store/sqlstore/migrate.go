package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The migrations, one directory per dialect, files named NNNN_what.sql. A
// file, once released, is never edited: a change of schema is a new file.
//
//go:embed migrations
var migrationFiles embed.FS

// migrateLockKey is the PostgreSQL advisory lock that serialises Migrate
// across processes (a constant; "forgeaut" in ASCII).
const migrateLockKey int64 = 0x666f726765617574

type migration struct {
	version int64
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order.
func migrations(d Dialect) ([]migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: name must start with a positive version and '_'", name)
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest schema version this code knows for the
// dialect (the version [Store.Migrate] brings a database to).
func (s *Store) SchemaVersion() int64 {
	ms, err := migrations(s.dialect)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate brings the database's schema up to date with the migrations
// embedded in this package, each applied once and recorded with its version
// in the table schema_migrations. It is idempotent, and safe when several
// processes call it at once: on PostgreSQL they queue on an advisory lock
// held by the migrating transaction (pg_advisory_xact_lock), on SQLite on the
// write lock of an IMMEDIATE transaction (for up to busy_timeout, see
// [SQLiteDSN]; a brand-new SQLite file that another process is switching
// to WAL at the same moment is retried for up to about 5 s). All pending
// migrations apply in one transaction, so a failure leaves the schema as it
// was.
//
// On PostgreSQL the tables are created in the first schema of the
// connection's search_path.
//
// Migrate returns an error wrapping [ErrSchemaTooNew] when the database
// records a version newer than this code knows, and otherwise the wrapped
// driver error when the database cannot be changed.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	// SQLite switches a new database file to WAL when a connection opens
	// (see SQLiteDSN), and that switch fails with SQLITE_BUSY, without
	// waiting, when another process opens the same new file at the same
	// moment. Migrate is what programs do first, so it retries, for about
	// as long as busy_timeout would have waited. The migration itself is
	// one transaction, so a retry never finds half of it done.
	wait := 5 * time.Millisecond
	for deadline := time.Now().Add(5 * time.Second); ; {
		err = s.migrate(ctx, ms)
		if err == nil || s.dialect != SQLite || !isSQLiteBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

func (s *Store) migrate(ctx context.Context, ms []migration) error {
	err := s.inTx(ctx, func(q querier) error {
		if s.dialect == Postgres {
			if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, s.createMigrationsTable()); err != nil {
			return err
		}
		applied, err := appliedVersions(ctx, q)
		if err != nil {
			return err
		}
		latest := ms[len(ms)-1].version
		for v := range applied {
			if v > latest {
				return fmt.Errorf("%w: the database is at version %d, this code knows up to %d", ErrSchemaTooNew, v, latest)
			}
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			if _, err := q.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.version); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err == nil || errors.Is(err, ErrSchemaTooNew) {
		return err
	}
	return s.wrap(ctx, "migrate", err)
}

func (s *Store) createMigrationsTable() string {
	if s.dialect == SQLite {
		return `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
		) STRICT`
	}
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT      NOT NULL PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`
}

func appliedVersions(ctx context.Context, q querier) (map[int64]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}
