// Package sqlstore is a [store.Store] on database/sql for PostgreSQL and
// SQLite, with embedded, versioned migrations.
//
// The package imports no driver: the program opens the *sql.DB with the one
// it needs and names the [Dialect]:
//
//	import _ "github.com/jackc/pgx/v5/stdlib"   // PostgreSQL: sql.Open("pgx", url)
//	import _ "modernc.org/sqlite"                // SQLite:     sql.Open("sqlite", sqlstore.SQLiteDSN(path))
//
// then wraps it and migrates once at start-up:
//
//	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN("auth.db"))
//	if err != nil { ... }
//	s, err := sqlstore.New(db, sqlstore.SQLite)
//	if err != nil { ... }
//	if err := s.Migrate(ctx); err != nil { ... }
//
// # Schema
//
// Migrate creates the tables users, refresh_tokens and verification_codes
// (the column names of the reference models) and records the applied
// versions in schema_migrations. Usernames and emails are unique through the
// columns username_folded and email_folded, which hold [store.Fold] of the
// values. refresh_tokens.token holds the digest of a token and
// verification_codes.code the keyed digest of a code, exactly as the caller
// passed them; the store never sees a raw token or code.
//
// Times are kept at microsecond precision (finer digits are cut off) and
// returned in UTC: as timestamptz on PostgreSQL, and on SQLite as INTEGER
// microseconds since the Unix epoch, which is exact, compact and sorts as
// time does. A zero LastLoginAt or TokensValidAfter is stored as NULL.
//
// A Store used before [Store.Migrate] returns errors wrapping
// [ErrNotMigrated]; Migrate refuses a database migrated by newer code with
// [ErrSchemaTooNew].
//
// # Atomicity
//
// On PostgreSQL, [Store.RotateRefreshToken] succeeds in one statement that
// revokes the old token and inserts the new one (one round trip, once pgx
// has prepared the statement on the connection), and
// [Store.ConsumeCode] is one UPDATE that re-checks the code's state on the
// row it changes, so both stay correct under READ COMMITTED across any number
// of processes. The methods that revoke tokens in bulk (SetPassword,
// RevokeFamily, RevokeAllSessions, DeleteUser, and reuse detection) take a
// per-user advisory lock (pg_advisory_xact_lock, in the key space whose
// first half is 1718579813) before they read the tokens, as rotation does,
// so they never miss a token that a concurrent rotation inserts.
//
// On SQLite every multi-statement method is one BEGIN IMMEDIATE transaction
// on its own connection: writers are serialised, waiting for each other up
// to busy_timeout. Open the database with [SQLiteDSN], which sets that
// timeout, WAL, foreign keys and NORMAL synchronous mode on every
// connection; without foreign keys the database does not check that tokens
// and codes name an existing user. Writers that meet a held lock poll for it,
// so a process with many concurrent writers gets more from SQLite with a
// small pool (db.SetMaxOpenConns), where they queue in database/sql instead.
//
// # Errors
//
// Errors the database reports are wrapped with a message starting
// "sqlstore:" that never contains argument values; one that means the
// database cannot be reached right now (a refused or broken connection, a
// server shutting down, a lock or busy timeout) also wraps
// [store.ErrUnavailable].
package sqlstore
