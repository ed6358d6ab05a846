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

// testCanceled calls every method, those of the capabilities the store
// implements included, with a canceled context: each must fail with an
// error matching context.Canceled and change nothing.
func testCanceled(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	code := f.createCode(makeCode(alice, store.CodeEmailVerification, "c1", at(0)))
	reset := f.createCode(makeCode(alice, store.CodePasswordReset, "r1", at(0)))
	alice = f.user(alice.ID)
	carol := makeUser("carol")
	replacement := makeUser("mallory")
	replacement.Email = alice.Email // alice has not verified her email
	c9 := makeToken(alice, "C", "c9", at(time.Hour))
	a2 := makeToken(alice, "A", "a2", at(time.Hour))
	code2 := makeCode(alice, store.CodeEmailVerification, "c2", at(time.Minute))
	ticket := store.Ticket{Kind: "mfa", Digest: digest("ticket:t1"), UserID: alice.ID, ExpiresAt: at(time.Hour), CreatedAt: at(0)}

	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	s := f.s
	type call struct {
		name string
		call func() error
	}
	calls := []call{
		{"CreateUser", func() error { return s.CreateUser(ctx, carol) }},
		{"ReplaceUnverifiedUser", func() error { return s.ReplaceUnverifiedUser(ctx, replacement) }},
		{"UserByID", func() error { _, err := s.UserByID(ctx, alice.ID); return err }},
		{"UserByUsername", func() error { _, err := s.UserByUsername(ctx, alice.Username); return err }},
		{"UserByEmail", func() error { _, err := s.UserByEmail(ctx, alice.Email); return err }},
		{"UserWithSession", func() error { _, err := s.UserWithSession(ctx, alice.ID, a1.FamilyID, at(time.Hour)); return err }},
		{"RecordLogin", func() error { return s.RecordLogin(ctx, alice.ID, at(time.Hour)) }},
		{"ReplacePasswordHash", func() error { return s.ReplacePasswordHash(ctx, alice.ID, alice.HashedPassword, hash("x")) }},
		{"SetPassword", func() error { return s.SetPassword(ctx, alice.ID, alice.HashedPassword, hash("x"), at(time.Hour), "") }},
		{"SetActive", func() error { return s.SetActive(ctx, alice.ID, false, at(time.Hour)) }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, alice.ID) }},
		{"CreateSession", func() error { return s.CreateSession(ctx, c9, alice.HashedPassword) }},
		{"RotateRefreshToken", func() error { return s.RotateRefreshToken(ctx, a1.TokenHash, a2, at(time.Hour)) }},
		{"RevokeFamily", func() error { return s.RevokeFamily(ctx, alice.ID, a1.FamilyID, at(time.Hour)) }},
		{"RevokeAllSessions", func() error { return s.RevokeAllSessions(ctx, alice.ID, at(time.Hour)) }},
		{"Sessions", func() error { _, err := s.Sessions(ctx, alice.ID, at(time.Hour)); return err }},
		{"CreateCode", func() error { return s.CreateCode(ctx, code2) }},
		{"CheckCode", func() error { return s.CheckCode(ctx, alice.ID, code.Type, digest("wrong"), 5, at(time.Minute)) }},
		{"VerifyEmailWithCode", func() error {
			_, err := s.VerifyEmailWithCode(ctx, alice.ID, code.CodeHash, 5, at(time.Minute))
			return err
		}},
		{"ResetPasswordWithCode", func() error {
			return s.ResetPasswordWithCode(ctx, alice.ID, reset.CodeHash, 5, hash("x"), at(time.Minute))
		}},
	}
	if p, ok := s.(store.Pinger); ok {
		calls = append(calls, call{"Ping", func() error { return p.Ping(ctx) }})
	}
	if c, ok := s.(store.Cleaner); ok {
		calls = append(calls, call{"DeleteExpired", func() error {
			_, err := c.DeleteExpired(ctx, at(1000*time.Hour), at(1000*time.Hour))
			return err
		}})
	}
	tickets, hasTickets := s.(store.Tickets)
	if hasTickets {
		require.NoError(t, tickets.PutTicket(f.ctx, ticket))
		calls = append(calls,
			call{"PutTicket", func() error {
				other := ticket
				other.Digest = digest("ticket:t2")
				return tickets.PutTicket(ctx, other)
			}},
			call{"TakeTicket", func() error {
				_, err := tickets.TakeTicket(ctx, ticket.Kind, ticket.Digest, at(time.Minute))
				return err
			}},
		)
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorIs(t, c.call(), context.Canceled)
		})
	}

	// Nothing changed.
	requireUser(t, alice, f.user(alice.ID))
	f.requireNoUser(carol.ID)
	f.requireNoUser(replacement.ID)
	f.requireSessions(alice.ID, at(time.Hour), sessionOf(a1, a1))
	f.requireAbsent(c9, at(time.Hour))
	f.requireAbsent(a2, at(time.Hour))
	f.requireCodeFresh(code, at(time.Minute))
	f.requireCodeFresh(reset, at(time.Minute))
	err := s.CheckCode(f.ctx, alice.ID, code2.Type, code2.CodeHash, 5, at(2*time.Minute))
	require.ErrorIs(t, err, store.ErrCodeMismatch, "code2 was not created: code is still the active one")
	if hasTickets {
		got, err := tickets.TakeTicket(f.ctx, ticket.Kind, ticket.Digest, at(time.Minute))
		require.NoError(t, err)
		requireTicket(t, ticket, got)
		_, err = tickets.TakeTicket(f.ctx, ticket.Kind, digest("ticket:t2"), at(time.Minute))
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	f.requireRotates(a1, at(time.Hour))
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
