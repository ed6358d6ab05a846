package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The migrations, one directory per dialect, files named NNNN_what.sql. A
// file, once released, is never edited: a change of schema is a new file.
// Files name tables and indexes as {p}name; the marker becomes the table
// prefix (see WithTablePrefix), so with the default empty prefix a file is
// exactly the SQL that was released.
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

// migrationsTable is the bookkeeping table (before the prefix). Releases
// before schema version 2 used legacyMigrationsTable, a name that other
// migration tools use too.
const (
	migrationsTable       = "forgeauth_schema_migrations"
	legacyMigrationsTable = "schema_migrations"
)

// Migrate brings the database's schema up to date with the migrations
// embedded in this package, each applied once and recorded with its version
// in the table forgeauth_schema_migrations (with the table prefix in front,
// see [WithTablePrefix]). It is idempotent, and safe when several
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
// Releases before schema version 2 recorded versions in a table named
// schema_migrations, as golang-migrate and other tools do. Migrate adopts
// such a table only when it is provably this package's (columns version and
// applied_at, exactly version 1 recorded, and this package's users and
// refresh_tokens tables present, without a table prefix): it copies the
// versions into forgeauth_schema_migrations and records the newest version
// in schema_migrations too, so that an older release started against the
// upgraded database stops with its ErrSchemaTooNew instead of writing rows
// the new schema refuses. A schema_migrations table of anyone else is
// neither read nor changed.
//
// Migrate returns an error wrapping [ErrSchemaTooNew] when the database
// records a version newer than this code knows, one wrapping
// [ErrForeignTable] and naming the table when a table it must create
// already exists and is not this package's, and otherwise the wrapped
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
		if _, err := q.ExecContext(ctx, s.sql(s.createMigrationsTable())); err != nil {
			return err
		}
		applied, err := appliedVersions(ctx, q, s.prefix+migrationsTable)
		if err != nil {
			return err
		}
		latest := ms[len(ms)-1].version
		if len(applied) == 0 && s.prefix == "" {
			adopted, err := s.adoptLegacy(ctx, q, latest)
			if err != nil {
				return err
			}
			for _, v := range adopted {
				applied[v] = true
			}
		}
		for v := range applied {
			if v > latest {
				return fmt.Errorf("%w: the database is at version %d, this code knows up to %d", ErrSchemaTooNew, v, latest)
			}
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			if err := s.checkNotForeign(ctx, q, m); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, s.sql(m.sql)); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}`+migrationsTable+` (version) VALUES ($1)`), m.version); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err == nil || errors.Is(err, ErrSchemaTooNew) || errors.Is(err, ErrForeignTable) {
		return err
	}
	return s.wrap(ctx, "migrate", err)
}

func (s *Store) createMigrationsTable() string {
	if s.dialect == SQLite {
		return `CREATE TABLE IF NOT EXISTS {p}` + migrationsTable + ` (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
		) STRICT`
	}
	return `CREATE TABLE IF NOT EXISTS {p}` + migrationsTable + ` (
		version    BIGINT      NOT NULL PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`
}

// adoptLegacy copies the versions of the bookkeeping table of releases
// before version 2 into the new one, when that table is provably this
// package's, and returns them; otherwise it returns none and changes
// nothing. It then records latest in the old table, so that an older
// release refuses the database (ErrSchemaTooNew) rather than use a schema
// it does not know.
func (s *Store) adoptLegacy(ctx context.Context, q querier, latest int64) ([]int64, error) {
	cols, err := s.columns(ctx, q, legacyMigrationsTable)
	if err != nil || !sameSet(cols, "version", "applied_at") {
		return nil, err
	}
	applied, err := appliedVersions(ctx, q, legacyMigrationsTable)
	if err != nil || len(applied) != 1 || !applied[1] {
		return nil, err
	}
	users, err := s.columns(ctx, q, "users")
	if err != nil || !slices.Contains(users, "username_folded") {
		return nil, err
	}
	tokens, err := s.columns(ctx, q, "refresh_tokens")
	if err != nil || !slices.Contains(tokens, "token") {
		return nil, err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO `+migrationsTable+` (version) VALUES (1)`); err != nil {
		return nil, err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO `+legacyMigrationsTable+` (version) VALUES ($1)`, latest); err != nil {
		return nil, err
	}
	return []int64{1}, nil
}

func sameSet(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// columns lists the columns of the table name in the schema that Migrate
// creates tables in; a table that does not exist has none.
func (s *Store) columns(ctx context.Context, q querier, table string) ([]string, error) {
	query := `SELECT name FROM pragma_table_info($1)`
	if s.dialect == Postgres {
		query = `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1`
	}
	rows, err := q.QueryContext(ctx, query, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// relationExists reports whether a table or index of the name exists where
// Migrate creates them. Tables and indexes share one name space in both
// dialects.
func (s *Store) relationExists(ctx context.Context, q querier, name string) (bool, error) {
	query := `SELECT COUNT(*) FROM sqlite_master WHERE name = $1`
	if s.dialect == Postgres {
		query = `SELECT COUNT(*) FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relname = $1`
	}
	var n int
	err := q.QueryRowContext(ctx, query, name).Scan(&n)
	return n > 0, err
}

var (
	createTableRe = regexp.MustCompile(`(?m)^CREATE TABLE \{p\}(\w+)`)
	createIndexRe = regexp.MustCompile(`(?m)^CREATE (?:UNIQUE )?INDEX \{p\}(\w+) ON \{p\}(\w+)`)
	dropTableRe   = regexp.MustCompile(`(?m)^DROP TABLE \{p\}(\w+)`)
)

// checkNotForeign makes sure that none of the tables that migration m
// creates exists yet, nor an index it creates on a table it does not drop
// first: such a relation belongs to someone else, since the bookkeeping
// table does not record m. Failing here names the culprit, where the
// driver would only say that some relation exists.
func (s *Store) checkNotForeign(ctx context.Context, q querier, m migration) error {
	type relation struct{ kind, name string }
	var rels []relation
	for _, sm := range createTableRe.FindAllStringSubmatch(m.sql, -1) {
		rels = append(rels, relation{"table", sm[1]})
	}
	dropped := map[string]bool{}
	for _, sm := range dropTableRe.FindAllStringSubmatch(m.sql, -1) {
		dropped[sm[1]] = true
	}
	for _, sm := range createIndexRe.FindAllStringSubmatch(m.sql, -1) {
		if !dropped[sm[2]] {
			rels = append(rels, relation{"index", sm[1]})
		}
	}
	for _, r := range rels {
		name := s.prefix + r.name
		exists, err := s.relationExists(ctx, q, name)
		if err != nil {
			return err
		}
		if exists {
			hint := "give this store's tables a prefix of their own with sqlstore.WithTablePrefix"
			if s.prefix != "" {
				hint = "choose another prefix with sqlstore.WithTablePrefix"
			}
			return fmt.Errorf("sqlstore: migrate: %s %q already exists but was not created by this package (migration %s is not recorded in %s); %s: %w",
				r.kind, name, m.name, s.prefix+migrationsTable, hint, ErrForeignTable)
		}
	}
	return nil
}

// appliedVersions reads the versions recorded in table, a constant of this
// file (with the prefix applied).
func appliedVersions(ctx context.Context, q querier, table string) (map[int64]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM `+table)
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
