package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/forgeauth/forgeauth/store"
)

// The package imports no driver, so it recognises driver errors by the
// methods they have: pgconn.PgError has SQLState() string, modernc's
// *sqlite.Error has Code() int.
type (
	sqlStater   interface{ SQLState() string }
	sqliteCoder interface{ Code() int }
	retryable   interface{ SafeToRetry() bool }
)

// SQLite result codes (https://sqlite.org/rescode.html).
const (
	sqliteError                = 1
	sqliteBusy                 = 5
	sqliteLocked               = 6
	sqliteCantOpen             = 14
	sqliteConstraintPrimary    = 1555
	sqliteConstraintUnique     = 2067
	sqliteConstraintForeignKey = 787
)

// errorKind is what the store makes of a driver error.
type errorKind int

const (
	kindOther errorKind = iota
	kindUnique
	kindForeignKey
	kindNoTable
	kindUnavailable
	kindInvalidInput
)

// classify sorts a driver error.
func (s *Store) classify(err error) errorKind {
	switch s.dialect {
	case Postgres:
		var st sqlStater
		if errors.As(err, &st) {
			switch code := st.SQLState(); {
			case code == "23505":
				return kindUnique
			case code == "23503":
				return kindForeignKey
			case code == "42P01", code == "42703": // undefined_table, undefined_column
				return kindNoTable
			case code == "22021", code == "22P05": // character_not_in_repertoire, untranslatable_character
				return kindInvalidInput
			case pgUnavailable(code):
				return kindUnavailable
			}
			return kindOther
		}
	case SQLite:
		var c sqliteCoder
		if errors.As(err, &c) {
			switch code := c.Code(); {
			case code == sqliteConstraintUnique, code == sqliteConstraintPrimary:
				return kindUnique
			case code == sqliteConstraintForeignKey:
				return kindForeignKey
			case code == sqliteError && (strings.Contains(err.Error(), "no such table") ||
				strings.Contains(err.Error(), "no such column")):
				return kindNoTable
			case code&0xff == sqliteBusy, code&0xff == sqliteLocked, code&0xff == sqliteCantOpen:
				return kindUnavailable
			}
			return kindOther
		}
	}
	if unreachable(err) {
		return kindUnavailable
	}
	return kindOther
}

// isSQLiteBusy reports whether err is SQLite's SQLITE_BUSY.
func isSQLiteBusy(err error) bool {
	var c sqliteCoder
	return errors.As(err, &c) && c.Code()&0xff == sqliteBusy
}

// pgUnavailable reports whether a PostgreSQL SQLSTATE means "try again
// later" rather than a fault of the statement.
func pgUnavailable(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return true
	case strings.HasPrefix(code, "53"): // insufficient resources, too many connections
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03": // admin or crash shutdown, cannot connect now
		return true
	case "55P03": // lock_not_available (lock_timeout)
		return true
	case "57014": // query_canceled (statement_timeout; a canceled context is handled first)
		return true
	case "40001", "40P01": // serialization failure, deadlock detected
		return true
	case "25006": // read_only_sql_transaction: a standby after a fail-over
		return true
	}
	return false
}

// unreachable reports driver-independent signs of a database that cannot be
// reached: a dead connection, a network error, a closed pool.
func unreachable(err error) bool {
	var netErr net.Error
	var r retryable
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr),
		errors.As(err, &r) && r.SafeToRetry():
		return true
	}
	// database/sql does not export this one.
	return strings.Contains(err.Error(), "sql: database is closed")
}

// wrap turns a driver error into the store's error for operation op. It
// never formats arguments of the failed statement, only the driver's message
// (which names tables, columns and constraints, never values).
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		// A driver may report a cancellation in its own words (PostgreSQL's
		// "canceling statement due to user request").
		return fmt.Errorf("sqlstore: %s: %w: %w", op, ctxErr, err)
	}
	switch s.classify(err) {
	case kindNoTable:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, ErrNotMigrated, err)
	case kindUnavailable:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, store.ErrUnavailable, err)
	case kindInvalidInput:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, store.ErrInvalidInput, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// writeErr turns the error of a write into the store's error: a unique
// violation into a *store.ConflictError naming the key, a foreign-key
// violation (the user named does not exist) into store.ErrNotFound, a
// sentinel of package store unchanged, and anything else as wrap does.
func (s *Store) writeErr(ctx context.Context, op string, err error) error {
	if err == nil || isStoreSentinel(err) {
		return err
	}
	if ctx.Err() == nil {
		switch s.classify(err) {
		case kindUnique:
			return &store.ConflictError{Field: conflictField(err)}
		case kindForeignKey:
			return store.ErrNotFound
		}
	}
	return s.wrap(ctx, op, err)
}

// conflictField names the unique key that a unique violation hit. The key
// is recognised in the driver's message: PostgreSQL names the index or
// constraint (users_email_folded_key, refresh_tokens_token_key,
// tickets_pkey), SQLite the columns (users.email_folded,
// refresh_tokens.token, tickets.kind, tickets.digest). Every other unique
// key is a record's primary key, and so is a WebAuthn user handle
// (webauthn_users_handle_key, webauthn_users.handle): the Passkeys
// contract names [store.FieldID] when a handle is another user's.
func conflictField(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "email_folded"):
		return store.FieldEmail
	case strings.Contains(msg, "username_folded"):
		return store.FieldUsername
	case strings.Contains(msg, "refresh_tokens_token_key"), strings.Contains(msg, "refresh_tokens.token"):
		return store.FieldTokenHash
	case strings.Contains(msg, "tickets_pkey"), strings.Contains(msg, "tickets.digest"):
		return store.FieldDigest
	case strings.Contains(msg, "identities_provider_subject_key"), strings.Contains(msg, "identities.provider"):
		return store.FieldIdentity
	case strings.Contains(msg, "passkeys_credential_id_key"), strings.Contains(msg, "passkeys.credential_id"):
		return store.FieldCredential
	}
	return store.FieldID
}
