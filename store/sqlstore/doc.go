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
// Migrate creates the tables users, refresh_tokens, verification_codes and
// tickets (the column names of the reference models) and records the
// applied versions in forgeauth_schema_migrations. Usernames and emails are
// unique through the columns username_folded and email_folded, which hold
// [store.Fold] of the values. refresh_tokens.token holds the digest of a
// token, verification_codes.code the keyed digest of a code and
// tickets.digest the digest of a ticket, exactly as the caller passed them;
// the store never sees a raw token, code or ticket. The capabilities add
// their own tables; those of passkeys are webauthn_users (one WebAuthn user
// handle per user, unique) and passkeys (credential ids unique, byte
// fields as BYTEA or BLOB, transports as a JSON array of strings).
//
// [WithTablePrefix] puts a prefix in front of every table and index name,
// the bookkeeping table's too, for a database that already has a table
// of one of these names (Migrate then fails with [ErrForeignTable], naming
// it) or that holds several stores:
//
//	s, err := sqlstore.New(db, sqlstore.Postgres, sqlstore.WithTablePrefix("auth_"))
//
// Releases before schema version 2 recorded their versions in a table
// named schema_migrations, a name other migration tools (golang-migrate)
// use too. Migrate takes such a table over only when it is provably this
// package's (see [Store.Migrate]) and otherwise never reads or changes it.
//
// Times are kept at microsecond precision (finer digits are cut off) and
// returned in UTC: as timestamptz on PostgreSQL, and on SQLite as INTEGER
// microseconds since the Unix epoch, which is exact, compact and sorts as
// time does. A zero LastLoginAt or TokensValidAfter, and a passkey's zero
// LastUsedAt, are stored as NULL.
//
// A Store used before [Store.Migrate] (or after an upgrade of this package
// that brings a new schema version, before Migrate has run) returns errors
// wrapping [ErrNotMigrated]; Migrate refuses a database migrated by newer
// code with [ErrSchemaTooNew].
//
// # Text
//
// Text that PostgreSQL cannot store, a NUL byte or invalid UTF-8, is
// refused by both dialects alike before any statement runs: a write of it
// returns [store.ErrInvalidInput], and a look-up by it finds nothing
// ([store.ErrNotFound]). Neither reaches the database, so neither leaves an
// error in the server's log.
//
// # Atomicity
//
// On PostgreSQL, [Store.RotateRefreshToken] succeeds in one statement that
// revokes the old token and inserts the new one, and [Store.CreateSession]
// in one statement that checks the user and inserts the first token (one
// round trip each, once pgx has prepared the statement on the connection);
// [Store.UserWithSession] reads the user and the session's state in one
// query; [Store.CheckCode] is one UPDATE that re-checks the code's state on
// the row it changes, and so is [Store.UsePasskey] on the passkey's
// counter. All stay correct under READ COMMITTED across any number of
// processes. Rotation, session start and every method that revokes tokens
// in bulk (SetPassword, ResetPasswordWithCode, SetActive, RevokeFamily,
// RevokeAllSessions, DeleteUser, and reuse detection) take a per-user
// advisory lock (pg_advisory_xact_lock, in the key space whose
// first half is 1718579813) before they read or write the tokens, so a
// revocation never misses a token that a concurrent rotation or login
// inserts. DeleteIdentity and DeletePasskey take the same lock, so that of
// concurrent deletions of a user's last two ways to sign in one fails.
// Replacements of one unverified email queue on an advisory lock of the
// folded email.
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
// Every unique violation is a *[store.ConflictError] naming the key
// (username, email, a record's ID, a token's or ticket's digest, a
// provider identity, a passkey's credential id). Other
// errors the database reports are wrapped with a message starting
// "sqlstore:" that never contains argument values; one that means the
// database cannot be reached right now (a refused or broken connection, a
// server shutting down, a lock or busy timeout) also wraps
// [store.ErrUnavailable], and one that reports text it cannot store
// (SQLSTATE 22021 or 22P05) wraps [store.ErrInvalidInput].
package sqlstore
