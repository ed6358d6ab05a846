package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func capabilityCases() []testCase {
	return []testCase{
		{"Pinger", testPinger},
		{"Cleaner", testCleaner},
	}
}

func testPinger(t *testing.T, mk maker) {
	f := mk(t)
	p, ok := f.s.(store.Pinger)
	if !ok {
		t.Skip("the store does not implement store.Pinger")
	}
	require.NoError(t, p.Ping(f.ctx))
}

func testCleaner(t *testing.T, mk maker) {
	f := mk(t)
	c, ok := f.s.(store.Cleaner)
	if !ok {
		t.Skip("the store does not implement store.Cleaner")
	}
	alice, bob := f.newUser("alice"), f.newUser("bob")
	expired := f.createToken(makeToken(alice, "E", "e1", at(-23*time.Hour))) // expires at(1h)
	live := f.createToken(makeToken(alice, "L", "l1", at(24*time.Hour)))
	revoked := f.createToken(makeToken(alice, "R", "r1", at(24*time.Hour)))
	require.NoError(t, f.s.RevokeFamily(f.ctx, alice.ID, revoked.FamilyID, at(0)))
	revoked.IsRevoked = true
	f.createCode(makeCode(alice, store.CodeEmailVerification, "expired", at(0))) // expires at(1h)
	used := makeCode(alice, store.CodePasswordReset, "used", at(0))
	used.ExpiresAt = at(5 * time.Hour)
	f.createCode(used)
	f.consume(used, 0, at(time.Minute))
	pending := makeCode(bob, store.CodeEmailVerification, "pending", at(0))
	pending.ExpiresAt = at(5 * time.Hour)
	f.createCode(pending)

	n, err := c.DeleteExpired(f.ctx, at(2*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "one expired token and one expired code")

	f.requireAbsentToken(expired.TokenHash)
	requireToken(t, live, f.token(live.TokenHash))
	requireToken(t, revoked, f.token(revoked.TokenHash))
	requireUser(t, alice, f.user(alice.ID))
	requireUser(t, bob, f.user(bob.ID))
	f.consume(pending, 0, at(3*time.Hour))

	n, err = c.DeleteExpired(f.ctx, at(2*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 0, n, "a second pass")

	n, err = c.DeleteExpired(f.ctx, at(1000*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 4, n, "two tokens and two codes, used or not")
	f.requireAbsentToken(live.TokenHash)
	f.requireAbsentToken(revoked.TokenHash)
	requireUser(t, alice, f.user(alice.ID))
}
