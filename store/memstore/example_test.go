package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New()

	err := s.CreateUser(ctx, store.User{ID: "u1", Username: "mike", Email: "Mike@Example.com"})
	fmt.Println("create:", err)

	u, err := s.UserByEmail(ctx, "  mike@example.COM ")
	fmt.Println("lookup:", u.ID, u.Email, err)

	err = s.CreateUser(ctx, store.User{ID: "u2", Username: "other", Email: "MIKE@example.com"})
	var conflict *store.ConflictError
	fmt.Println("again:", errors.Is(err, store.ErrConflict), errors.As(err, &conflict) && conflict.Field == store.FieldEmail)

	_, err = s.UserByEmail(ctx, "mıke@example.com") // dotless ı: another address
	fmt.Println("look-alike:", err)
	// Output:
	// create: <nil>
	// lookup: u1 Mike@Example.com <nil>
	// again: true true
	// look-alike: store: not found
}

func ExampleStore_RotateRefreshToken() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := memstore.New()
	_ = s.CreateUser(ctx, store.User{ID: "u1", Username: "mike", Email: "mike@example.com"})
	tok := func(id string) store.RefreshToken {
		return store.RefreshToken{
			ID: id, UserID: "u1", FamilyID: "session-1", TokenHash: "sha256-of-" + id,
			ExpiresAt: now.Add(24 * time.Hour), CreatedAt: now, LastUsedAt: now,
		}
	}
	_ = s.CreateRefreshToken(ctx, tok("t1"))

	old, err := s.RotateRefreshToken(ctx, "sha256-of-t1", tok("t2"), now.Add(time.Minute))
	fmt.Println("refresh:", old.ID, "replaced by", old.ReplacedBy, err)

	// t1 presented again: someone kept a copy, so the whole session dies.
	old, err = s.RotateRefreshToken(ctx, "sha256-of-t1", tok("t3"), now.Add(2*time.Minute))
	fmt.Println("replay:", errors.Is(err, store.ErrReused), "session", old.FamilyID)

	t2, _ := s.RefreshTokenByHash(ctx, "sha256-of-t2")
	fmt.Println("t2 revoked:", t2.IsRevoked)
	// Output:
	// refresh: t1 replaced by t2 <nil>
	// replay: true session session-1
	// t2 revoked: true
}

func ExampleStore_ConsumeCode() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := memstore.New()
	_ = s.CreateUser(ctx, store.User{ID: "u1", Username: "mike", Email: "mike@example.com"})
	_ = s.CreateCode(ctx, store.VerificationCode{
		ID: "c1", UserID: "u1", CodeHash: "hmac-of-123456", Type: store.CodePasswordReset,
		ExpiresAt: now.Add(time.Hour), CreatedAt: now,
	})
	const maxAttempts = 2

	_, err := s.ConsumeCode(ctx, "u1", store.CodePasswordReset, "hmac-of-000000", maxAttempts, now)
	fmt.Println("wrong:", err)
	c, err := s.ConsumeCode(ctx, "u1", store.CodePasswordReset, "hmac-of-123456", maxAttempts, now)
	fmt.Println("right:", c.ID, c.IsUsed, c.Attempts, err)
	_, err = s.ConsumeCode(ctx, "u1", store.CodePasswordReset, "hmac-of-123456", maxAttempts, now)
	fmt.Println("again:", err)
	// Output:
	// wrong: store: code does not match
	// right: c1 true 1 <nil>
	// again: store: not found
}
