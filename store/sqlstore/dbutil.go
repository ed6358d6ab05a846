package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ts converts t into the value the dialect stores: a timestamptz on
// PostgreSQL, microseconds since the Unix epoch on SQLite. Both keep exactly
// microseconds; the nanoseconds below are cut off (as pgx does), the same way
// in both dialects.
func (s *Store) ts(t time.Time) any {
	if s.dialect == SQLite {
		return t.UnixMicro()
	}
	return t.Truncate(time.Microsecond).UTC()
}

// nullTS is ts with the zero time stored as NULL.
func (s *Store) nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.ts(t)
}

// nullString stores "" as NULL.
func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// timeCol scans either dialect's time column into a UTC time.Time; NULL
// becomes the zero time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = v.UTC()
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

// stringCol scans a nullable text column; NULL becomes "".
type stringCol struct{ s *string }

func (c stringCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.s = ""
	case string:
		*c.s = v
	case []byte:
		*c.s = string(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a string", src)
	}
	return nil
}

// inTx runs fn in one transaction and commits when fn returns nil.
//
// On SQLite the transaction is begun IMMEDIATE on a dedicated connection,
// whatever the DSN says: it takes the write lock first, so that concurrent
// writers queue on busy_timeout instead of failing when a read lock cannot
// be upgraded. On PostgreSQL it is a READ COMMITTED transaction; the methods
// that need it lock the user's row first (see lockUser).
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) error {
	if s.dialect == SQLite {
		return s.inImmediateTx(ctx, fn)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) inImmediateTx(ctx context.Context, fn func(q querier) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err = fn(conn); err == nil {
		if _, err = conn.ExecContext(ctx, "COMMIT"); err == nil {
			return nil
		}
	}
	// The rollback must run even when ctx is what made fn fail.
	if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
		// A connection whose transaction state is unknown must not go back
		// to the pool: returning ErrBadConn from Raw makes database/sql
		// close it.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// errNoRows reports whether err is sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// queryAll runs query (of the store's {p} and $n form) and scans every row
// with scan; op names the operation in errors. No row is an empty slice.
func queryAll[T any](ctx context.Context, s *Store, op, query string, scan func(rowScanner) (T, error), args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	return out, nil
}

// storable reports whether every one of texts is text that both dialects
// store and compare alike: valid UTF-8 without a NUL byte. PostgreSQL
// refuses the others with an error (SQLSTATE 22021), SQLite would store
// them; the store checks in Go instead, before any statement, so that a
// write of such text is store.ErrInvalidInput and a look-up by it finds
// nothing, on both dialects and without an error logged by the server.
func storable(texts ...string) bool {
	for _, t := range texts {
		if !utf8.ValidString(t) || strings.IndexByte(t, 0) >= 0 {
			return false
		}
	}
	return true
}
