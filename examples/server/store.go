package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// The PostgreSQL pool. Each request holds a connection for one or two short
// statements, so a few dozen connections serve thousands of requests a
// second; idle ones are let go so a quiet instance does not pin server
// memory.
const (
	pgMaxOpenConns    = 32
	pgMaxIdleConns    = 8
	pgConnMaxIdleTime = 5 * time.Minute
	pgConnMaxLifetime = time.Hour

	// dbStartTimeout bounds connecting and migrating at start.
	dbStartTimeout = 30 * time.Second
)

// openStore opens and migrates the database d names. close releases it (a
// no-op for the memory store).
func openStore(ctx context.Context, d database) (st store.Store, close func() error, err error) {
	if d.Kind == dbMemory {
		return memstore.New(), func() error { return nil }, nil
	}
	var (
		db      *sql.DB
		dialect sqlstore.Dialect
	)
	switch d.Kind {
	case dbSQLite:
		dialect = sqlstore.SQLite
		db, err = sql.Open("sqlite", sqlstore.SQLiteDSN(d.Path))
	case dbPostgres:
		dialect = sqlstore.Postgres
		db, err = sql.Open("pgx", d.URL)
		if err == nil {
			db.SetMaxOpenConns(pgMaxOpenConns)
			db.SetMaxIdleConns(pgMaxIdleConns)
			db.SetConnMaxIdleTime(pgConnMaxIdleTime)
			db.SetConnMaxLifetime(pgConnMaxLifetime)
		}
	default:
		return nil, nil, fmt.Errorf("unknown database kind %q", d.Kind)
	}
	if err != nil {
		return nil, nil, &auth.EnvError{Name: "DATABASE_URL", Reason: "cannot open the database", Err: errWithoutURL(err)}
	}
	s, err := sqlstore.New(db, dialect)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, dbStartTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, nil, &auth.EnvError{Name: "DATABASE_URL", Reason: "cannot connect to " + d.String(), Err: errWithoutURL(err)}
	}
	if err := s.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("migrate %s: %w", d, err)
	}
	return s, db.Close, nil
}

// cleanupInterval is how often expired records are deleted.
const cleanupInterval = time.Hour

// cleanExpired deletes expired refresh tokens, codes, tickets and
// unverified accounts (through clean, the service's DeleteExpired) now and
// then every interval until ctx ends.
func cleanExpired(ctx context.Context, clean func(context.Context) (int64, error), interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := clean(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.WarnContext(ctx, "deleting expired records failed", "error", err)
		case n > 0:
			logger.InfoContext(ctx, "deleted expired records", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
