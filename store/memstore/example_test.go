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

	err = s.CreateUser(ctx, store.User{ID: "u1", Username: "third", Email: "third@example.com"})
	fmt.Println("same ID:", err)

	err = s.CreateUser(ctx, store.User{ID: "u3", Username: "nul\x00", Email: "nul@example.com"})
	fmt.Println("NUL byte:", err)

	_, err = s.UserByEmail(ctx, "mıke@example.com") // dotless ı: another address
	fmt.Println("look-alike:", err)
	// Output:
	// create: <nil>
	// lookup: u1 Mike@Example.com <nil>
	// again: true true
	// same ID: store: id already exists
	// NUL byte: store: text cannot be stored
	// look-alike: store: not found
}

func ExampleStore_RotateRefreshToken() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := memstore.New()
	_ = s.CreateUser(ctx, store.User{ID: "u1", Username: "mike", Email: "mike@example.com", HashedPassword: "phc", IsActive: true})
	tok := func(id string) store.RefreshToken {
		return store.RefreshToken{
			ID: id, UserID: "u1", FamilyID: "session-1", TokenHash: "sha256-of-" + id,
			ExpiresAt: now.Add(24 * time.Hour), SessionExpiresAt: now.Add(30 * 24 * time.Hour),
			CreatedAt: now, LastUsedAt: now,
		}
	}
	err := s.CreateSession(ctx, tok("t1"), "phc") // "phc": the hash the login verified
	fmt.Println("login:", err)

	err = s.RotateRefreshToken(ctx, "sha256-of-t1", tok("t2"), now.Add(time.Minute))
	fmt.Println("refresh:", err)

	// t1 presented again: someone kept a copy, so the whole session dies.
	err = s.RotateRefreshToken(ctx, "sha256-of-t1", tok("t3"), now.Add(2*time.Minute))
	fmt.Println("replay:", err)

	// t2, the newest token, was revoked with its session, not rotated.
	err = s.RotateRefreshToken(ctx, "sha256-of-t2", tok("t4"), now.Add(3*time.Minute))
	fmt.Println("t2:", err)

	_, err = s.UserWithSession(ctx, "u1", "session-1", now.Add(3*time.Minute))
	fmt.Println("request:", err)
	// Output:
	// login: <nil>
	// refresh: <nil>
	// replay: store: refresh token already rotated
	// t2: store: session ended
	// request: store: session ended
}

func ExampleStore_CheckCode() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := memstore.New()
	_ = s.CreateUser(ctx, store.User{ID: "u1", Username: "mike", Email: "mike@example.com", IsActive: true})
	_ = s.CreateCode(ctx, store.VerificationCode{
		ID: "c1", UserID: "u1", CodeHash: "hmac-of-123456", Type: store.CodePasswordReset,
		ExpiresAt: now.Add(time.Hour), CreatedAt: now,
	})
	const maxAttempts = 2

	err := s.CheckCode(ctx, "u1", store.CodePasswordReset, "hmac-of-000000", maxAttempts, now)
	fmt.Println("wrong:", err)
	err = s.CheckCode(ctx, "u1", store.CodePasswordReset, "hmac-of-123456", maxAttempts, now)
	fmt.Println("right:", err)
	// A check spends nothing: the reset itself spends the code.
	err = s.ResetPasswordWithCode(ctx, "u1", "hmac-of-123456", maxAttempts, "new-phc", now)
	fmt.Println("reset:", err)
	err = s.CheckCode(ctx, "u1", store.CodePasswordReset, "hmac-of-123456", maxAttempts, now)
	fmt.Println("again:", err)
	// Output:
	// wrong: store: code does not match
	// right: <nil>
	// reset: <nil>
	// again: store: not found
}

func ExampleStore_ReplaceUnverifiedUser() {
	ctx := context.Background()
	s := memstore.New()
	// Someone registers mike's address first, with a password of their own.
	_ = s.CreateUser(ctx, store.User{ID: "squatter", Username: "squatter", Email: "mike@example.com", HashedPassword: "theirs"})

	// Mike registers; the address was never verified, so his registration
	// replaces the pending one.
	err := s.ReplaceUnverifiedUser(ctx, store.User{ID: "mike", Username: "mike", Email: "Mike@Example.com", HashedPassword: "his"})
	fmt.Println("register:", err)
	u, _ := s.UserByEmail(ctx, "mike@example.com")
	fmt.Println("holder:", u.ID)
	_, err = s.UserByID(ctx, "squatter")
	fmt.Println("squatter:", err)
	// Output:
	// register: <nil>
	// holder: mike
	// squatter: store: not found
}

func ExampleStore_TakeTicket() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := memstore.New()
	_ = s.PutTicket(ctx, store.Ticket{
		Kind: "mfa", Digest: "sha256-of-challenge", UserID: "u1",
		Data: []byte(`{"remember":true}`), ExpiresAt: now.Add(5 * time.Minute), CreatedAt: now,
	})

	t, err := s.TakeTicket(ctx, "mfa", "sha256-of-challenge", now.Add(time.Minute))
	fmt.Println("take:", t.UserID, string(t.Data), err)
	_, err = s.TakeTicket(ctx, "mfa", "sha256-of-challenge", now.Add(time.Minute))
	fmt.Println("again:", err)
	// Output:
	// take: u1 {"remember":true} <nil>
	// again: store: not found
}
