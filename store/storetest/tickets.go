package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func ticketCases() []testCase {
	return []testCase{
		{"PutAndTake", testPutAndTake},
		{"TakeOnce", testTakeOnce},
		{"Expiry", testTicketExpiry},
		{"KindIsPartOfTheKey", testTicketKind},
		{"Conflict", testTicketConflict},
		{"NotFound", testTicketNotFound},
		{"DeleteUser", testTicketsDeleteUser},
		{"ReplaceUnverifiedUser", testTicketsReplaceUnverified},
		{"ConcurrentTake", testConcurrentTake},
	}
}

// ticketFixture is a fixture whose store keeps tickets.
func ticketFixture(t *testing.T, mk maker) (*fixture, store.Tickets) {
	f := mk(t)
	return f, f.s.(store.Tickets)
}

func makeTicket(kind, label string, u store.User, created time.Time) store.Ticket {
	return store.Ticket{
		Kind:      kind,
		Digest:    digest("ticket:" + label),
		UserID:    u.ID,
		Data:      []byte(`{"state":"` + label + `","raw":"` + "\x00\xff" + `"}`),
		ExpiresAt: created.Add(5 * time.Minute),
		CreatedAt: created,
	}
}

func (f *fixture) putTicket(ts store.Tickets, tk store.Ticket) store.Ticket {
	f.t.Helper()
	require.NoError(f.t, ts.PutTicket(f.ctx, tk), "PutTicket")
	return tk
}

// requireTake takes tk at when and asserts that it comes back as put.
func (f *fixture) requireTake(ts store.Tickets, tk store.Ticket, when time.Time) {
	f.t.Helper()
	got, err := ts.TakeTicket(f.ctx, tk.Kind, tk.Digest, when)
	require.NoError(f.t, err, "TakeTicket")
	requireTicket(f.t, tk, got)
}

// requireNoTicket asserts that no ticket of tk's kind and digest is taken
// at when.
func (f *fixture) requireNoTicket(ts store.Tickets, tk store.Ticket, when time.Time) {
	f.t.Helper()
	_, err := ts.TakeTicket(f.ctx, tk.Kind, tk.Digest, when)
	require.ErrorIs(f.t, err, store.ErrNotFound, "TakeTicket of a ticket that must not be there")
}

func testPutAndTake(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	alice := f.newUser("alice")
	west := time.FixedZone("UTC-09:30", -(9*3600 + 30*60))
	withUser := makeTicket("mfa", "t1", alice, at(0).In(west))
	withUser.ExpiresAt = withUser.ExpiresAt.In(time.FixedZone("UTC+14", 14*3600))
	f.putTicket(ts, withUser)
	anonymous := makeTicket("oauth-exchange", "t2", store.User{}, at(0))
	anonymous.Data = nil
	f.putTicket(ts, anonymous)

	f.requireTake(ts, withUser, at(time.Minute))
	f.requireTake(ts, anonymous, at(time.Minute))
}

func testTakeOnce(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	alice := f.newUser("alice")
	tk := f.putTicket(ts, makeTicket("mfa", "t1", alice, at(0)))
	other := f.putTicket(ts, makeTicket("mfa", "t2", alice, at(0)))
	f.requireTake(ts, tk, at(time.Minute))
	f.requireNoTicket(ts, tk, at(time.Minute))
	f.requireTake(ts, other, at(time.Minute))

	// A taken ticket's key is free again.
	again := tk
	again.Data = []byte("again")
	f.putTicket(ts, again)
	f.requireTake(ts, again, at(2*time.Minute))
}

func testTicketExpiry(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	alice := f.newUser("alice")
	expiry := at(time.Minute + time.Microsecond)
	atExpiry := makeTicket("mfa", "t1", alice, at(0))
	atExpiry.ExpiresAt = expiry
	f.putTicket(ts, atExpiry)
	before := makeTicket("mfa", "t2", alice, at(0))
	before.ExpiresAt = expiry
	f.putTicket(ts, before)

	f.requireNoTicket(ts, atExpiry, expiry)
	f.requireNoTicket(ts, atExpiry, at(time.Hour))
	f.requireTake(ts, before, expiry.Add(-time.Microsecond))
}

func testTicketKind(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	alice := f.newUser("alice")
	mfa := makeTicket("mfa", "shared", alice, at(0))
	passkey := makeTicket("passkey", "shared", alice, at(0))
	passkey.Data = []byte("passkey ceremony")
	f.putTicket(ts, mfa)
	f.putTicket(ts, passkey) // the same digest under another kind

	other := mfa
	other.Kind = "oauth-exchange"
	f.requireNoTicket(ts, other, at(time.Minute))
	f.requireTake(ts, passkey, at(time.Minute))
	f.requireNoTicket(ts, passkey, at(time.Minute))
	f.requireTake(ts, mfa, at(time.Minute))
}

func testTicketConflict(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	first := f.putTicket(ts, makeTicket("mfa", "t1", alice, at(0)))
	dup := makeTicket("mfa", "t1", bob, at(time.Minute))
	dup.Data = []byte("second")
	dup.ExpiresAt = at(time.Hour)
	requireConflict(t, ts.PutTicket(f.ctx, dup), store.FieldDigest)
	f.requireTake(ts, first, at(2*time.Minute)) // the first stays as it was
	f.requireNoTicket(ts, first, at(2*time.Minute))
}

func testTicketNotFound(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	alice := f.newUser("alice")
	tk := f.putTicket(ts, makeTicket("mfa", "t1", alice, at(0)))
	f.requireNoTicket(ts, makeTicket("mfa", "unknown", alice, at(0)), at(time.Minute))
	f.requireNoTicket(ts, makeTicket("", "t1", alice, at(0)), at(time.Minute))
	f.requireTake(ts, tk, at(time.Minute)) // the misses took nothing
}

func testTicketsDeleteUser(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.putTicket(ts, makeTicket("mfa", "a1", alice, at(0)))
	a2 := f.putTicket(ts, makeTicket("passkey", "a2", alice, at(0)))
	b1 := f.putTicket(ts, makeTicket("mfa", "b1", bob, at(0)))
	anonymous := f.putTicket(ts, makeTicket("oauth-exchange", "x1", store.User{}, at(0)))

	require.NoError(t, f.s.DeleteUser(f.ctx, alice.ID))
	f.requireNoTicket(ts, a1, at(time.Minute))
	f.requireNoTicket(ts, a2, at(time.Minute))
	f.requireTake(ts, b1, at(time.Minute))
	f.requireTake(ts, anonymous, at(time.Minute))
}

func testTicketsReplaceUnverified(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	holder, bob := f.newUser("alice"), f.newUser("bob")
	h1 := f.putTicket(ts, makeTicket("mfa", "h1", holder, at(0)))
	b1 := f.putTicket(ts, makeTicket("mfa", "b1", bob, at(0)))
	owner := makeUser("owner")
	owner.Email = holder.Email
	require.NoError(t, f.s.ReplaceUnverifiedUser(f.ctx, owner))
	f.requireNoTicket(ts, h1, at(time.Minute))
	f.requireTake(ts, b1, at(time.Minute))
}

func testConcurrentTake(t *testing.T, mk maker) {
	f, ts := ticketFixture(t, mk)
	alice := f.newUser("alice")
	tk := f.putTicket(ts, makeTicket("mfa", "t1", alice, at(0)))
	const n = 50
	got := make([]store.Ticket, n)
	errs := parallel(n, func(i int) error {
		var err error
		got[i], err = ts.TakeTicket(f.ctx, tk.Kind, tk.Digest, at(time.Minute))
		return err
	})
	require.NoError(t, firstOther(errs, store.ErrNotFound))
	require.Equal(t, map[string]int{"ok": 1, store.ErrNotFound.Error(): n - 1}, tally(errs, store.ErrNotFound))
	for i, err := range errs {
		if err == nil {
			requireTicket(t, tk, got[i])
		}
	}
	f.requireNoTicket(ts, tk, at(time.Minute))
}
