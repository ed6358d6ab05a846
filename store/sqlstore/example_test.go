package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// Open a SQLite database, migrate it, and use the store; a refresh token
// presented a second time is reported as reuse.
func Example() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "auth.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u := store.User{ID: "u1", Username: "Alice", Email: "alice@example.com",
		HashedPassword: "$argon2id$...", IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		log.Fatal(err)
	}
	dup := u
	dup.ID, dup.Username = "u2", "bob"
	dup.Email = "ALICE@example.com"
	err = s.CreateUser(ctx, dup)
	var conflict *store.ConflictError
	fmt.Println("second registration:", errors.As(err, &conflict), conflict.Field)

	// A login: the session starts only if the hash the caller verified is
	// still the user's.
	first := store.RefreshToken{ID: "t1", UserID: "u1", TokenHash: "digest-1", FamilyID: "f1",
		ExpiresAt: now.Add(24 * time.Hour), SessionExpiresAt: now.Add(30 * 24 * time.Hour),
		DeviceName: "laptop", CreatedAt: now, LastUsedAt: now}
	if err := s.CreateSession(ctx, first, u.HashedPassword); err != nil {
		log.Fatal(err)
	}
	next := store.RefreshToken{ID: "t2", UserID: "u1", TokenHash: "digest-2", FamilyID: "f1",
		ExpiresAt: now.Add(25 * time.Hour), CreatedAt: now.Add(time.Hour), LastUsedAt: now.Add(time.Hour)}
	fmt.Println("rotation:", s.RotateRefreshToken(ctx, "digest-1", next, now.Add(time.Hour)))

	_, err = s.UserWithSession(ctx, "u1", "f1", now.Add(time.Hour))
	fmt.Println("request in the session:", err)

	again := next
	again.ID, again.TokenHash = "t3", "digest-3"
	err = s.RotateRefreshToken(ctx, "digest-1", again, now.Add(2*time.Hour))
	fmt.Println("replay:", errors.Is(err, store.ErrReused))

	_, err = s.UserWithSession(ctx, "u1", "f1", now.Add(2*time.Hour))
	fmt.Println("request after the replay:", errors.Is(err, store.ErrSessionEnded))
	// Output:
	// second registration: true email
	// rotation: <nil>
	// request in the session: <nil>
	// replay: true
	// request after the replay: true
}

// A database migrated by a newer release is refused rather than misused.
func ExampleStore_Migrate() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "auth.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	_, err = s.UserByID(ctx, "u1")
	fmt.Println("before Migrate:", errors.Is(err, sqlstore.ErrNotMigrated))

	fmt.Println("migrate:", s.Migrate(ctx))
	fmt.Println("migrate again:", s.Migrate(ctx))

	// What a newer release would have recorded:
	if _, err := db.ExecContext(ctx, `INSERT INTO forgeauth_schema_migrations (version) VALUES (1000)`); err != nil {
		log.Fatal(err)
	}
	fmt.Println("schema too new:", errors.Is(s.Migrate(ctx), sqlstore.ErrSchemaTooNew))
	// Output:
	// before Migrate: true
	// migrate: <nil>
	// migrate again: <nil>
	// schema too new: true
}

// Keep the store's tables apart from an application's own "users" table
// with a prefix: the store creates and uses auth_users, auth_refresh_tokens
// and so on.
func ExampleWithTablePrefix() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "app.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)`); err != nil {
		log.Fatal(err)
	}

	plain, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("without a prefix:", errors.Is(plain.Migrate(ctx), sqlstore.ErrForeignTable))

	s, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.WithTablePrefix("auth_"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("with a prefix:", s.Migrate(ctx))
	// Output:
	// without a prefix: true
	// with a prefix: <nil>
}
