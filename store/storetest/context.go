package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func contextCases() []testCase {
	return []testCase{
		{"Canceled", testCanceled},
		{"DeadlineExceeded", testDeadlineExceeded},
	}
}

// testCanceled calls every method with a canceled context: each must fail
// with an error matching context.Canceled and change nothing.
func testCanceled(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
	code := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
	carol := makeUser("carol")
	c9 := makeToken(alice, "C", "c9", at(0))
	a2 := makeToken(alice, "A", "a2", at(time.Hour))
	code2 := makeCode(alice, store.CodeEmailVerification, "c2", at(time.Minute))

	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	s := f.s
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error { return s.CreateUser(ctx, carol) }},
		{"UserByID", func() error { _, err := s.UserByID(ctx, alice.ID); return err }},
		{"UserByUsername", func() error { _, err := s.UserByUsername(ctx, alice.Username); return err }},
		{"UserByEmail", func() error { _, err := s.UserByEmail(ctx, alice.Email); return err }},
		{"RecordLogin", func() error { return s.RecordLogin(ctx, alice.ID, at(time.Hour)) }},
		{"ReplacePasswordHash", func() error { return s.ReplacePasswordHash(ctx, alice.ID, alice.HashedPassword, "x") }},
		{"SetPassword", func() error { return s.SetPassword(ctx, alice.ID, "x", at(time.Hour), "") }},
		{"MarkVerified", func() error { return s.MarkVerified(ctx, alice.ID, at(time.Hour)) }},
		{"SetActive", func() error { return s.SetActive(ctx, alice.ID, false, at(time.Hour)) }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, alice.ID) }},
		{"CreateRefreshToken", func() error { return s.CreateRefreshToken(ctx, c9) }},
		{"RefreshTokenByHash", func() error { _, err := s.RefreshTokenByHash(ctx, a1.TokenHash); return err }},
		{"RotateRefreshToken", func() error {
			_, err := s.RotateRefreshToken(ctx, a1.TokenHash, a2, at(time.Hour))
			return err
		}},
		{"RevokeFamily", func() error { return s.RevokeFamily(ctx, alice.ID, a1.FamilyID, at(time.Hour)) }},
		{"RevokeAllSessions", func() error { return s.RevokeAllSessions(ctx, alice.ID, at(time.Hour)) }},
		{"Sessions", func() error { _, err := s.Sessions(ctx, alice.ID, at(time.Hour)); return err }},
		{"CreateCode", func() error { return s.CreateCode(ctx, code2) }},
		{"ConsumeCode", func() error {
			_, err := s.ConsumeCode(ctx, alice.ID, code.Type, digest("wrong"), 5, at(time.Minute))
			return err
		}},
	}
	if p, ok := s.(store.Pinger); ok {
		calls = append(calls, struct {
			name string
			call func() error
		}{"Ping", func() error { return p.Ping(ctx) }})
	}
	if c, ok := s.(store.Cleaner); ok {
		calls = append(calls, struct {
			name string
			call func() error
		}{"DeleteExpired", func() error { _, err := c.DeleteExpired(ctx, at(1000*time.Hour)); return err }})
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorIs(t, c.call(), context.Canceled)
		})
	}

	// Nothing changed.
	requireUser(t, alice, f.user(alice.ID))
	_, err := s.UserByID(f.ctx, carol.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	requireToken(t, a1, f.token(a1.TokenHash))
	f.requireAbsentToken(c9.TokenHash)
	f.requireAbsentToken(a2.TokenHash)
	f.consume(code, 0, at(time.Minute))
}

func testDeadlineExceeded(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	ctx, cancel := context.WithDeadline(f.ctx, time.Unix(1, 0))
	defer cancel()
	_, err := f.s.UserByID(ctx, alice.ID)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, f.s.RecordLogin(ctx, alice.ID, at(time.Hour)), context.DeadlineExceeded)
	requireUser(t, alice, f.user(alice.ID))
}
