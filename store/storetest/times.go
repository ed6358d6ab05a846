package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func timeCases() []testCase {
	return []testCase{
		{"ReturnedInUTC", testReturnedInUTC},
		{"MicrosecondPrecision", testMicrosecondPrecision},
		{"ExpiryBoundaries", testExpiryBoundaries},
	}
}

func testReturnedInUTC(t *testing.T, mk maker) {
	f := mk(t)
	west := time.FixedZone("UTC-09:30", -(9*3600 + 30*60))
	east := time.FixedZone("UTC+14", 14*3600)
	u := makeUser("alice")
	u.CreatedAt = at(0).In(west)
	u.UpdatedAt = at(time.Second).In(east)
	u.LastLoginAt = at(2 * time.Second).In(west)
	u.TokensValidAfter = at(3 * time.Second).In(east)
	f.createUser(u)
	got := f.user(u.ID)
	requireUser(t, u, got)
	assert.True(t, got.CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)), "CreatedAt = %v", got.CreatedAt)

	tok := makeToken(u, "A", "a1", at(0).In(west))
	tok.ExpiresAt = at(24 * time.Hour).In(east)
	tok.SessionExpiresAt = at(48 * time.Hour).In(west)
	tok = f.login(tok)
	u.LastLoginAt = tok.CreatedAt
	requireUser(t, u, f.user(u.ID))
	f.requireSessions(u.ID, at(time.Minute).In(west), sessionOf(tok, tok))
	got, err := f.s.UserWithSession(f.ctx, u.ID, tok.FamilyID, at(time.Minute).In(east))
	require.NoError(t, err)
	requireUser(t, u, got)

	c := makeCode(u, store.CodeEmailVerification, "c1", at(0).In(east))
	c.ExpiresAt = at(time.Hour).In(west)
	f.createCode(c)
	f.requireCodeFresh(c, at(time.Minute).In(time.UTC))
	verified, err := f.s.VerifyEmailWithCode(f.ctx, u.ID, c.CodeHash, 5, at(2*time.Minute).In(west))
	require.NoError(t, err)
	u.IsVerified, u.UpdatedAt = true, at(2*time.Minute)
	requireUser(t, u, verified)
}

func testMicrosecondPrecision(t *testing.T, mk maker) {
	f := mk(t)
	u := makeUser("alice")
	u.UpdatedAt = at(time.Microsecond)
	u.LastLoginAt = at(2 * time.Microsecond)
	u.TokensValidAfter = at(3 * time.Microsecond)
	f.createUser(u)
	got := f.user(u.ID)
	requireUser(t, u, got)
	assert.False(t, got.CreatedAt.Equal(got.UpdatedAt), "one microsecond apart must stay apart")

	require.NoError(t, f.s.RecordLogin(f.ctx, u.ID, at(time.Hour+time.Microsecond)))
	require.NoError(t, f.s.SetActive(f.ctx, u.ID, true, at(time.Hour+2*time.Microsecond)))
	require.NoError(t, f.s.RevokeAllSessions(f.ctx, u.ID, at(time.Hour+3*time.Microsecond)))
	u.LastLoginAt = at(time.Hour + time.Microsecond)
	u.UpdatedAt, u.TokensValidAfter = at(time.Hour+2*time.Microsecond), at(time.Hour+3*time.Microsecond)
	requireUser(t, u, f.user(u.ID))

	tok := makeToken(u, "A", "a1", at(time.Hour+4*time.Microsecond))
	tok = f.login(tok)
	u.LastLoginAt = tok.CreatedAt
	requireUser(t, u, f.user(u.ID))
	f.requireSessions(u.ID, at(2*time.Hour), sessionOf(tok, tok))
}

func testExpiryBoundaries(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	expiry := at(time.Hour + time.Microsecond)

	tok := makeToken(alice, "A", "a1", at(0))
	tok.ExpiresAt = expiry
	tok = f.login(tok)
	next := makeToken(alice, "A", "a2", at(time.Hour))
	err := f.s.RotateRefreshToken(f.ctx, tok.TokenHash, next, expiry)
	require.ErrorIs(t, err, store.ErrNotFound, "rotation at the expiry instant")
	f.rotate(tok, next, expiry.Add(-time.Microsecond))

	c := makeCode(alice, store.CodePasswordReset, "c1", at(0))
	c.ExpiresAt = expiry
	f.createCode(c)
	err = f.s.CheckCode(f.ctx, alice.ID, c.Type, c.CodeHash, 5, expiry)
	require.ErrorIs(t, err, store.ErrNotFound, "a check at the expiry instant")
	err = f.s.ResetPasswordWithCode(f.ctx, alice.ID, c.CodeHash, 5, hash("new"), expiry)
	require.ErrorIs(t, err, store.ErrNotFound, "a reset at the expiry instant")
	f.requireCodeFresh(c, expiry.Add(-time.Microsecond))
	f.spend(c, expiry.Add(-time.Microsecond))
}
