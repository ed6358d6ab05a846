package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/forgeauth/forgeauth/store"
)

// Dialect names the SQL database behind a [Store].
type Dialect string

// The supported dialects.
const (
	// Postgres is PostgreSQL, opened with the "pgx" driver of
	// github.com/jackc/pgx/v5/stdlib.
	Postgres Dialect = "postgres"
	// SQLite is SQLite, opened with the "sqlite" driver of modernc.org/sqlite,
	// preferably through [SQLiteDSN].
	SQLite Dialect = "sqlite"
)

var (
	// ErrSchemaTooNew is returned by [Store.Migrate] when the database holds a
	// schema version newer than any this code knows: an older release of the
	// program runs against a database that a newer one has migrated.
	ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this code")

	// ErrNotMigrated is wrapped by the error of any method used on a database
	// whose tables do not exist yet; call [Store.Migrate] first.
	ErrNotMigrated = errors.New("sqlstore: database is not migrated")

	// ErrForeignTable is wrapped by the error of [Store.Migrate] when a
	// table or index that the schema needs already exists and was not
	// created by this package (the application has a table of that name).
	// The error names it; give the store's tables a prefix with
	// [WithTablePrefix].
	ErrForeignTable = errors.New("sqlstore: a table of that name exists and is not this package's")

	errNilDB          = errors.New("sqlstore: nil *sql.DB")
	errUnknownDialect = errors.New("sqlstore: unknown dialect")
	errBadPrefix      = errors.New("sqlstore: invalid table prefix")
)

// maxPrefixLen keeps every name within PostgreSQL's 63 bytes: the longest
// name the schema uses is the bookkeeping table's (27 bytes).
const maxPrefixLen = 30

// An Option configures a [Store] made by [New].
type Option func(*options) error

type options struct {
	prefix string
}

// WithTablePrefix puts prefix in front of the name of every table and index
// the store creates and uses, its bookkeeping table included, so that the
// store's tables can live beside an application's own (say a "users" table
// of its own) or beside those of another Store with another prefix in one
// database or schema. A prefix is at most 30 characters of lower-case ASCII
// letters, digits and '_', starting with a letter, such as "auth_"; New
// refuses any other. The empty prefix is the default: the plain names.
//
// A prefix is part of the schema: a database migrated with one prefix must
// always be used with it.
func WithTablePrefix(prefix string) Option {
	return func(o *options) error {
		if !validPrefix(prefix) {
			return fmt.Errorf("%w %q: want at most %d lower-case letters, digits or '_', starting with a letter",
				errBadPrefix, prefix, maxPrefixLen)
		}
		o.prefix = prefix
		return nil
	}
}

func validPrefix(p string) bool {
	if p == "" {
		return true
	}
	if len(p) > maxPrefixLen || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for _, c := range []byte(p) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Store is a [store.Store] on a database/sql database, PostgreSQL or SQLite.
// It also implements [store.Tickets], [store.SecondFactors],
// [store.Identities], [store.Passkeys], [store.Admin], [store.EmailChanges],
// [store.Pinger] and [store.Cleaner].
//
// Create one with [New]; the zero value is not usable. A Store is safe for
// concurrent use by multiple goroutines, and by several processes sharing
// one database: every method is one atomic step (one statement, or one
// transaction) as the [store.Store] contract requires.
//
// Errors other than the sentinels of package store and of this package wrap
// the driver's error and start with "sqlstore:"; they never contain the values
// passed in (digests, hashes). An error that means the database cannot be
// reached right now (a refused or broken connection, a server shutting down,
// a lock or busy timeout) also wraps [store.ErrUnavailable]; one caused by a
// canceled context wraps the context's error.
type Store struct {
	db      *sql.DB
	dialect Dialect
	prefix  string
	q       queries
	// rendered caches the statements with the table prefix applied, by
	// their text with the {p} markers.
	rendered sync.Map
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Tickets = (*Store)(nil)
	_ store.Pinger  = (*Store)(nil)
	_ store.Cleaner = (*Store)(nil)
	_ store.Admin   = (*Store)(nil)

	_ store.EmailChanges = (*Store)(nil)
)

// New returns a Store on db, which must have been opened with the driver of
// dialect ("pgx" for [Postgres], "sqlite" for [SQLite]). It does not touch
// the database and does not migrate: call [Store.Migrate] once at start-up.
//
// New returns an error when db is nil, the dialect is unknown, or an
// option is invalid. The Store does not own db: closing it is the caller's
// business.
func New(db *sql.DB, dialect Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errNilDB
	}
	switch dialect {
	case Postgres, SQLite:
	default:
		return nil, fmt.Errorf("%w %q (want %q or %q)", errUnknownDialect, string(dialect), Postgres, SQLite)
	}
	var o options
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	s := &Store{db: db, dialect: dialect, prefix: o.prefix}
	s.q = queriesFor(dialect, s.sql)
	return s, nil
}

// sql returns query with every {p} marker replaced by the table prefix.
// Statements name their tables as {p}users, {p}refresh_tokens and so on.
func (s *Store) sql(query string) string {
	if r, ok := s.rendered.Load(query); ok {
		return r.(string)
	}
	r := strings.ReplaceAll(query, "{p}", s.prefix)
	s.rendered.Store(query, r)
	return r
}

// Dialect reports the dialect the Store was created with.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping reports whether the database answers. Its error wraps
// [store.ErrUnavailable] when the database cannot be reached.
func (s *Store) Ping(ctx context.Context) error {
	return s.wrap(ctx, "ping", s.db.PingContext(ctx))
}

// SQLiteDSN returns the data source name with which to open the SQLite
// database file at path with modernc.org/sqlite (driver name "sqlite"):
//
//	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN("auth.db"))
//
// Every connection it opens waits up to 5 s for a lock (busy_timeout)
// rather than failing at once, uses write-ahead logging (readers do not
// block the writer), enforces foreign keys (so that deleting a user cascades
// to its tokens and codes), syncs at NORMAL (durable across a crash of the
// process; a power loss may lose the last commits, never corrupt the file),
// and begins transactions IMMEDIATE, taking the write lock up front.
//
// Characters that a file URI reserves ('%', '?', '#') are escaped in path.
func SQLiteDSN(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path) +
		"?_pragma=busy_timeout(5000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
}
