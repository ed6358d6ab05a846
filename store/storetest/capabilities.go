package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func pingerCases() []testCase {
	return []testCase{{"Ping", testPing}}
}

func cleanerCases() []testCase {
	return []testCase{
		{"DeleteExpired", testDeleteExpired},
		{"DeleteUnverified", testDeleteUnverified},
	}
}

func testPing(t *testing.T, mk maker) {
	f := mk(t)
	require.NoError(t, f.s.(store.Pinger).Ping(f.ctx))
}

// testDeleteExpired: refresh tokens, codes and (when the store keeps them)
// tickets that expired before the moment go, whatever their state; users
// stay when no registration cut-off is given.
func testDeleteExpired(t *testing.T, mk maker) {
	f := mk(t)
	c := f.s.(store.Cleaner)
	tickets, hasTickets := f.s.(store.Tickets)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	expired := f.login(makeToken(alice, "E", "e1", at(-23*time.Hour))) // expires at(1h)
	live := f.login(makeToken(alice, "L", "l1", at(24*time.Hour)))
	revoked := f.login(makeToken(alice, "R", "r1", at(24*time.Hour)))
	require.NoError(t, f.s.RevokeFamily(f.ctx, alice.ID, revoked.FamilyID, at(0)))
	f.createCode(makeCode(alice, store.CodeEmailVerification, "expired", at(0))) // expires at(1h)
	used := makeCode(bob, store.CodePasswordReset, "used", at(0))
	used.ExpiresAt = at(5 * time.Hour)
	f.createCode(used)
	f.spend(used, at(time.Minute))
	pending := makeCode(bob, store.CodeEmailVerification, "pending", at(0))
	pending.ExpiresAt = at(5 * time.Hour)
	f.createCode(pending)
	wantExpired := 2
	liveTicket := store.Ticket{Kind: "mfa", Digest: digest("ticket:live"), UserID: alice.ID, ExpiresAt: at(5 * time.Hour), CreatedAt: at(0)}
	if hasTickets {
		require.NoError(t, tickets.PutTicket(f.ctx, store.Ticket{
			Kind: "mfa", Digest: digest("ticket:expired"), UserID: alice.ID, ExpiresAt: at(time.Hour), CreatedAt: at(0),
		}))
		require.NoError(t, tickets.PutTicket(f.ctx, liveTicket))
		wantExpired++
	}
	alice, bob = f.user(alice.ID), f.user(bob.ID)

	n, err := c.DeleteExpired(f.ctx, at(2*time.Hour), time.Time{})
	require.NoError(t, err)
	require.EqualValues(t, wantExpired, n, "one expired token, one expired code and one expired ticket if the store keeps tickets")

	f.requireAbsent(expired, at(-time.Hour))
	f.requireSessions(alice.ID, at(30*time.Minute), sessionOf(live, live))
	requireUser(t, alice, f.user(alice.ID))
	requireUser(t, bob, f.user(bob.ID))
	f.requireCodeFresh(pending, at(3*time.Hour))

	n, err = c.DeleteExpired(f.ctx, at(2*time.Hour), time.Time{})
	require.NoError(t, err)
	require.EqualValues(t, 0, n, "a second pass")
	f.requireEnded(revoked, at(3*time.Hour)) // revoked, but not expired: kept
	if hasTickets {
		got, err := tickets.TakeTicket(f.ctx, liveTicket.Kind, liveTicket.Digest, at(3*time.Hour))
		require.NoError(t, err)
		requireTicket(t, liveTicket, got)
		require.NoError(t, tickets.PutTicket(f.ctx, liveTicket))
	}

	n, err = c.DeleteExpired(f.ctx, at(1000*time.Hour), time.Time{})
	require.NoError(t, err)
	want := 4 // two tokens and two codes, used or not
	if hasTickets {
		want++
	}
	require.EqualValues(t, want, n, "everything else, users excepted")
	f.requireAbsent(live, at(30*time.Minute))
	f.requireAbsent(revoked, at(30*time.Minute))
	requireUser(t, alice, f.user(alice.ID))
	requireUser(t, bob, f.user(bob.ID))
	f.requireCodeGone(pending, at(3*time.Hour))
}

// testDeleteUnverified: users who never verified and registered before the
// cut-off go, each with every record of theirs, all counted.
func testDeleteUnverified(t *testing.T, mk maker) {
	f := mk(t)
	c := f.s.(store.Cleaner)
	tickets, hasTickets := f.s.(store.Tickets)
	registered := func(name string, created time.Duration, verified bool) store.User {
		u := makeUser(name)
		u.CreatedAt, u.IsVerified = at(created), verified
		return f.createUser(u)
	}
	stale := registered("stale", -48*time.Hour, false)
	recent := registered("recent", 0, false)
	boundary := registered("boundary", -24*time.Hour, false) // exactly at the cut-off: kept
	verified := registered("verified", -48*time.Hour, true)
	staleToken := f.login(makeToken(stale, "S", "s1", at(0)))
	staleCode := f.createCode(makeCode(stale, store.CodeEmailVerification, "stale", at(0)))
	recentToken := f.login(makeToken(recent, "R", "r1", at(0)))
	recentCode := f.createCode(makeCode(recent, store.CodeEmailVerification, "recent", at(0)))
	wantDeleted := 3 // the user, a token and a code
	if hasTickets {
		require.NoError(t, tickets.PutTicket(f.ctx, store.Ticket{
			Kind: "mfa", Digest: digest("ticket:stale"), UserID: stale.ID, ExpiresAt: at(time.Hour), CreatedAt: at(0),
		}))
		wantDeleted++
	}
	var kept []store.User
	for _, u := range []store.User{recent, boundary, verified} {
		kept = append(kept, f.user(u.ID))
	}

	n, err := c.DeleteExpired(f.ctx, at(-1000*time.Hour), at(-24*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, wantDeleted, n, "the stale user with a token, a code and a ticket if the store keeps tickets")

	f.requireNoUser(stale.ID)
	_, err = f.s.UserByEmail(f.ctx, stale.Email)
	require.ErrorIs(t, err, store.ErrNotFound)
	f.requireAbsent(staleToken, at(time.Minute))
	f.requireCodeGone(staleCode, at(time.Minute))
	if hasTickets {
		_, err := tickets.TakeTicket(f.ctx, "mfa", digest("ticket:stale"), at(time.Minute))
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	for _, u := range kept {
		requireUser(t, u, f.user(u.ID))
	}
	f.requireSessions(recent.ID, at(time.Minute), sessionOf(recentToken, recentToken))
	f.requireCodeFresh(recentCode, at(time.Minute))

	n, err = c.DeleteExpired(f.ctx, at(-1000*time.Hour), at(-24*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 0, n, "a second pass")
}
