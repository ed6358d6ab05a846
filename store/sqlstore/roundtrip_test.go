package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// TestRotateOneRoundTrip checks, by counting the calls that reach the
// driver, that a successful rotation on PostgreSQL is one statement outside
// any transaction: one round trip to the server.
func TestRotateOneRoundTrip(t *testing.T) {
	calls := &callCounter{}
	db := sql.OpenDB(countingConnector{dsn: lazyCommit(t, postgresSchema(t)), calls: calls})
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(2)
	s := newStore(t, db, sqlstore.Postgres, true)
	ctx := context.Background()
	alice := user("alice")
	require.NoError(t, s.CreateUser(ctx, alice))
	cur := token(alice, "A", "t0")
	startSession(t, s, alice, cur)

	for i := 1; i <= 3; i++ {
		next := token(alice, "A", fmt.Sprint("t", i))
		calls.reset()
		require.NoError(t, s.RotateRefreshToken(ctx, cur.TokenHash, next, t0.Add(time.Duration(i)*time.Minute)))
		assert.Equal(t, callCounts{query: 1}, calls.get(), "rotation %d", i)
		cur = next
	}

	// The failure path may take more: here a transaction.
	calls.reset()
	err := s.RotateRefreshToken(ctx, token(alice, "A", "t0").TokenHash, token(alice, "A", "x"), t0.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrReused)
	assert.Equal(t, int64(1), calls.get().begin, "reuse is handled in a transaction")
}

// TestSessionCallsOneRoundTrip checks that starting a session and the
// per-request session check are one statement each on PostgreSQL, outside
// any transaction, and so is the rejection of a stale login.
func TestSessionCallsOneRoundTrip(t *testing.T) {
	calls := &callCounter{}
	db := sql.OpenDB(countingConnector{dsn: lazyCommit(t, postgresSchema(t)), calls: calls})
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(2)
	s := newStore(t, db, sqlstore.Postgres, true)
	ctx := context.Background()
	alice := user("alice")
	require.NoError(t, s.CreateUser(ctx, alice))

	a1 := token(alice, "A", "a1")
	calls.reset()
	require.NoError(t, s.CreateSession(ctx, a1, alice.HashedPassword))
	assert.Equal(t, callCounts{query: 1}, calls.get(), "session start")

	calls.reset()
	_, err := s.UserWithSession(ctx, alice.ID, a1.FamilyID, t0)
	require.NoError(t, err)
	assert.Equal(t, callCounts{query: 1}, calls.get(), "session check")

	calls.reset()
	require.NoError(t, s.RevokeFamily(ctx, alice.ID, a1.FamilyID, t0))
	calls.reset()
	_, err = s.UserWithSession(ctx, alice.ID, a1.FamilyID, t0)
	require.ErrorIs(t, err, store.ErrSessionEnded)
	assert.Equal(t, callCounts{query: 1}, calls.get(), "check of an ended session")

	// A stale login takes a second query to tell stale from not found.
	calls.reset()
	require.ErrorIs(t, s.CreateSession(ctx, token(alice, "B", "b1"), "old hash"), store.ErrStale)
	assert.Equal(t, callCounts{query: 2}, calls.get(), "stale session start")
}

type callCounts struct{ query, exec, begin, prepare int64 }

type callCounter struct{ query, exec, begin, prepare atomic.Int64 }

func (c *callCounter) reset() {
	c.query.Store(0)
	c.exec.Store(0)
	c.begin.Store(0)
	c.prepare.Store(0)
}

func (c *callCounter) get() callCounts {
	return callCounts{c.query.Load(), c.exec.Load(), c.begin.Load(), c.prepare.Load()}
}

// countingConnector opens pgx connections that count the statements and
// transactions database/sql sends through them.
type countingConnector struct {
	dsn   string
	calls *callCounter
}

func (c countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := stdlib.GetDefaultDriver().Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{pgxConn: conn.(pgxConn), calls: c.calls}, nil
}

func (c countingConnector) Driver() driver.Driver { return stdlib.GetDefaultDriver() }

// pgxConn is the set of driver interfaces a pgx stdlib connection has.
type pgxConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.NamedValueChecker
	driver.SessionResetter
}

type countingConn struct {
	pgxConn
	calls *callCounter
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.calls.query.Add(1)
	return c.pgxConn.QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.calls.exec.Add(1)
	return c.pgxConn.ExecContext(ctx, q, args)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.calls.begin.Add(1)
	return c.pgxConn.BeginTx(ctx, opts)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.calls.prepare.Add(1)
	return c.pgxConn.PrepareContext(ctx, q)
}
