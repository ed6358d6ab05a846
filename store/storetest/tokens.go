package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func tokenCases() []testCase {
	return []testCase{
		{"CreateSession", testCreateSession},
		{"CreateSessionClamped", testCreateSessionClamped},
		{"CreateSessionStale", testCreateSessionStale},
		{"CreateSessionConflict", testCreateSessionConflict},
		{"Rotate", testRotate},
		{"RotateChain", testRotateChain},
		{"RotateNotFound", testRotateNotFound},
		{"RotateReused", testRotateReused},
		{"RotateSessionEnded", testRotateSessionEnded},
		{"RotateConflict", testRotateConflict},
		{"SessionEnd", testSessionEnd},
		{"RevokeFamily", testRevokeFamily},
		{"RevokeFamilyNotFound", testRevokeFamilyNotFound},
		{"RevokeAllSessions", testRevokeAllSessions},
		{"RevocationMomentsIncrease", testRevocationMomentsIncrease},
		{"Sessions", testSessions},
		{"SessionsEmpty", testSessionsEmpty},
	}
}

func testCreateSession(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	carol := makeUser("carol")
	carol.HashedPassword = "" // signs in without a password
	f.createUser(carol)

	a1 := makeToken(alice, "A", "a1", at(time.Minute))
	a1.LastUsedAt = at(2 * time.Minute)
	require.NoError(t, f.s.CreateSession(f.ctx, a1, alice.HashedPassword))
	want := alice
	want.LastLoginAt = a1.CreatedAt // and nothing else changes
	requireUser(t, want, f.user(alice.ID))

	b1 := makeToken(alice, "B", "b1", at(time.Hour))
	b1.DeviceName, b1.DeviceType, b1.IPAddress, b1.UserAgent = "", "", "", ""
	require.NoError(t, f.s.CreateSession(f.ctx, b1, alice.HashedPassword))
	want.LastLoginAt = b1.CreatedAt
	requireUser(t, want, f.user(alice.ID))
	f.requireSessions(alice.ID, at(time.Hour), sessionOf(a1, a1), sessionOf(b1, b1))
	got, err := f.s.UserWithSession(f.ctx, alice.ID, a1.FamilyID, at(time.Hour))
	require.NoError(t, err)
	requireUser(t, want, got)

	c1 := makeToken(carol, "C", "c1", at(0))
	require.NoError(t, f.s.CreateSession(f.ctx, c1, ""))
	f.requireSessions(carol.ID, at(time.Hour), sessionOf(c1, c1))

	f.requireRotates(a1, at(time.Hour))
	f.requireRotates(b1, at(time.Hour))
	f.requireRotates(c1, at(time.Hour))
}

// testCreateSessionClamped: a token never outlives its session's end.
func testCreateSessionClamped(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	a1 := makeToken(alice, "A", "a1", at(0))
	a1.SessionExpiresAt = at(time.Hour)
	a1.ExpiresAt = at(24 * time.Hour)
	a1 = f.login(a1)
	require.True(t, a1.ExpiresAt.Equal(at(time.Hour)))

	end := at(time.Hour)
	f.requireSessions(alice.ID, end.Add(-time.Microsecond), sessionOf(a1, a1))
	f.requireSessions(alice.ID, end)
	_, err := f.s.UserWithSession(f.ctx, alice.ID, a1.FamilyID, end)
	require.ErrorIs(t, err, store.ErrSessionEnded)
	f.requireAbsent(a1, end)
	f.requireRotates(a1, end.Add(-time.Microsecond))
}

// testCreateSessionStale: a login whose user changed since the password was
// verified gets no session and changes nothing.
func testCreateSessionStale(t *testing.T, mk maker) {
	tests := []struct {
		name     string
		user     func(u *store.User)
		verified string // the hash the login verified
		wantErr  error
	}{
		{"another hash", nil, hash("before-reset"), store.ErrStale},
		{"no hash for a user with a password", nil, "", store.ErrStale},
		{"a hash for a user without a password", func(u *store.User) { u.HashedPassword = "" }, hash("alice"), store.ErrStale},
		{"disabled", func(u *store.User) { u.IsActive = false }, hash("alice"), store.ErrStale},
		{"disabled without a password", func(u *store.User) { u.IsActive, u.HashedPassword = false, "" }, "", store.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := makeUser("alice")
			if tt.user != nil {
				tt.user(&alice)
			}
			f.createUser(alice)
			a1 := makeToken(alice, "A", "a1", at(time.Minute))

			require.ErrorIs(t, f.s.CreateSession(f.ctx, a1, tt.verified), tt.wantErr)
			requireUser(t, alice, f.user(alice.ID)) // LastLoginAt untouched
			f.requireSessions(alice.ID, at(time.Hour))
			f.requireAbsent(a1, at(time.Hour))
		})
	}
	t.Run("after a password change", func(t *testing.T) {
		f := mk(t)
		alice := f.newUser("alice")
		require.NoError(t, f.s.SetPassword(f.ctx, alice.ID, alice.HashedPassword, hash("new"), at(time.Minute), ""))
		a1 := makeToken(alice, "A", "a1", at(2*time.Minute))
		require.ErrorIs(t, f.s.CreateSession(f.ctx, a1, alice.HashedPassword), store.ErrStale)
		f.requireSessions(alice.ID, at(time.Hour))
		require.True(t, f.user(alice.ID).LastLoginAt.IsZero())
		require.NoError(t, f.s.CreateSession(f.ctx, a1, hash("new")), "a login with the new password")
	})
}

func testCreateSessionConflict(t *testing.T, mk maker) {
	tests := []struct {
		name      string
		tok       func(b1, a1 store.RefreshToken) store.RefreshToken
		wantField string
		rotated   bool // whether a1 is rotated (into a2) before
	}{
		{"taken id", func(b1, a1 store.RefreshToken) store.RefreshToken {
			b1.ID = a1.ID
			return b1
		}, store.FieldID, false},
		{"taken digest", func(b1, a1 store.RefreshToken) store.RefreshToken {
			b1.TokenHash = a1.TokenHash
			return b1
		}, store.FieldTokenHash, false},
		{"id of a rotated token", func(b1, a1 store.RefreshToken) store.RefreshToken {
			b1.ID = id("token", "a2")
			return b1
		}, store.FieldID, true},
		{"digest of another user's token", func(b1, _ store.RefreshToken) store.RefreshToken {
			b1.TokenHash = digest("token:v1")
			return b1
		}, store.FieldTokenHash, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			first := f.login(makeToken(alice, "A", "a1", at(0)))
			v1 := f.login(makeToken(bob, "V", "v1", at(0)))
			tok := tt.tok(makeToken(alice, "B", "b1", at(time.Hour)), first)
			a1 := first // the usable token of family A
			if tt.rotated {
				a1 = f.rotate(first, makeToken(alice, "A", "a2", at(time.Minute)), at(time.Minute))
			}
			want := f.user(alice.ID)

			requireConflict(t, f.s.CreateSession(f.ctx, tok, alice.HashedPassword), tt.wantField)
			requireUser(t, want, f.user(alice.ID)) // LastLoginAt untouched
			f.requireSessions(alice.ID, at(2*time.Hour), sessionOf(first, a1))
			f.requireSessions(bob.ID, at(2*time.Hour), sessionOf(v1, v1))
			if tok.TokenHash != first.TokenHash && tok.TokenHash != v1.TokenHash {
				f.requireAbsent(tok, at(2*time.Hour))
			}
			f.requireRotates(a1, at(2*time.Hour))
			f.requireRotates(v1, at(2*time.Hour))
		})
	}
}

func testRotate(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	old := f.login(makeToken(alice, "A", "a1", at(0)))
	when := at(time.Hour)
	next := makeToken(alice, "A", "a2", when)
	next.DeviceName, next.DeviceType = "ignored", "ignored" // the old token's device wins
	next.IPAddress, next.UserAgent = "198.51.100.20", "browser/new"
	next.ExpiresAt = at(30 * time.Hour)
	next.LastUsedAt = when.Add(time.Second)
	next.SessionExpiresAt = at(1000 * time.Hour) // the old token's session end wins

	require.NoError(t, f.s.RotateRefreshToken(f.ctx, old.TokenHash, next, when))
	wantNext := next
	wantNext.DeviceName, wantNext.DeviceType = old.DeviceName, old.DeviceType
	wantNext.SessionExpiresAt = old.SessionExpiresAt
	wantNext = stored(wantNext)
	f.requireSessions(alice.ID, when, sessionOf(old, wantNext))
	_, err := f.s.UserWithSession(f.ctx, alice.ID, old.FamilyID, when)
	require.NoError(t, err)
	// next is the family's usable token, and old a rotated one.
	f.requireRotates(wantNext, when.Add(time.Minute))
	f.requireRotateErr(old, when.Add(2*time.Minute), store.ErrReused)
}

func testRotateChain(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	first := f.login(makeToken(alice, "A", "t0", at(0)))
	cur := first
	chain := []store.RefreshToken{first}
	for i, label := range []string{"t1", "t2", "t3"} {
		when := at(time.Duration(i+1) * time.Hour)
		next := makeToken(alice, "A", label, when)
		next.IPAddress = "198.51.100." + string(rune('1'+i))
		cur = f.rotate(cur, next, when)
		chain = append(chain, cur)
	}
	f.requireSessions(alice.ID, at(4*time.Hour), sessionOf(first, cur))
	// Every older token was rotated: each is a replay.
	for _, tok := range chain[:len(chain)-1] {
		f.requireRotateErr(tok, at(5*time.Hour), store.ErrReused)
	}
	f.requireEnded(cur, at(5*time.Hour))
}

func testRotateNotFound(t *testing.T, mk maker) {
	tests := []struct {
		name string
		// call rotates a1 (valid until at(24h)) in some wrong way.
		call func(f *fixture, a1, next store.RefreshToken, bob store.User) error
	}{
		{"unknown digest", func(f *fixture, _, next store.RefreshToken, _ store.User) error {
			return f.s.RotateRefreshToken(f.ctx, digest("token:unknown"), next, at(time.Hour))
		}},
		{"expires at that instant", func(f *fixture, a1, next store.RefreshToken, _ store.User) error {
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, a1.ExpiresAt)
		}},
		{"expired", func(f *fixture, a1, next store.RefreshToken, _ store.User) error {
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(48*time.Hour))
		}},
		{"other user", func(f *fixture, a1, next store.RefreshToken, bob store.User) error {
			next.UserID = bob.ID
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
		}},
		{"unknown user", func(f *fixture, a1, next store.RefreshToken, _ store.User) error {
			next.UserID = id("user", "nobody")
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
		}},
		{"other family", func(f *fixture, a1, next store.RefreshToken, _ store.User) error {
			next.FamilyID = id("family", "other")
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
		}},
		{"family of another user", func(f *fixture, a1, next store.RefreshToken, bob store.User) error {
			next.UserID, next.FamilyID = bob.ID, familyID(bob, "B")
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			a1 := f.login(makeToken(alice, "A", "a1", at(0)))
			b1 := f.login(makeToken(bob, "B", "b1", at(0)))
			next := makeToken(alice, "A", "a2", at(time.Hour))

			require.ErrorIs(t, tt.call(f, a1, next, bob), store.ErrNotFound)

			f.requireSessions(alice.ID, at(time.Hour), sessionOf(a1, a1))
			f.requireSessions(bob.ID, at(time.Hour), sessionOf(b1, b1))
			f.requireAbsent(next, at(time.Hour))
			f.rotate(a1, next, at(time.Hour)) // still usable
			f.requireRotates(b1, at(time.Hour))
		})
	}
}

// testRotateReused: a rotated token presented again is a replay; the whole
// family ends, and its newest token is then a session ended, not a replay.
func testRotateReused(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Hour)), at(time.Hour))
	b1 := f.login(makeToken(alice, "B", "b1", at(0)))
	v1 := f.login(makeToken(bob, "V", "v1", at(0)))

	a3 := makeToken(alice, "A", "a3", at(2*time.Hour))
	require.ErrorIs(t, f.s.RotateRefreshToken(f.ctx, a1.TokenHash, a3, at(2*time.Hour)), store.ErrReused)
	f.requireAbsent(a3, at(2*time.Hour))
	f.requireSessions(alice.ID, at(2*time.Hour), sessionOf(b1, b1))
	f.requireSessions(bob.ID, at(2*time.Hour), sessionOf(v1, v1))
	_, err := f.s.UserWithSession(f.ctx, alice.ID, a1.FamilyID, at(2*time.Hour))
	require.ErrorIs(t, err, store.ErrSessionEnded)

	// The newest token of the family was revoked, not rotated.
	f.requireEnded(a2, at(3*time.Hour))
	// The replayed token stays a replay.
	f.requireRotateErr(a1, at(3*time.Hour), store.ErrReused)
	f.requireRotates(b1, at(3*time.Hour))
	f.requireRotates(v1, at(3*time.Hour))
}

// testRotateSessionEnded: a token whose session was ended without it being
// rotated is ErrSessionEnded, whatever ended it, and that changes nothing.
func testRotateSessionEnded(t *testing.T, mk maker) {
	tests := []struct {
		name   string
		revoke func(f *fixture, a1 store.RefreshToken) error
	}{
		{"RevokeFamily", func(f *fixture, a1 store.RefreshToken) error {
			return f.s.RevokeFamily(f.ctx, a1.UserID, a1.FamilyID, at(time.Minute))
		}},
		{"RevokeAllSessions", func(f *fixture, a1 store.RefreshToken) error {
			return f.s.RevokeAllSessions(f.ctx, a1.UserID, at(time.Minute))
		}},
		{"SetPassword", func(f *fixture, a1 store.RefreshToken) error {
			return f.s.SetPassword(f.ctx, a1.UserID, hash("alice"), hash("new"), at(time.Minute), "")
		}},
		{"SetActive", func(f *fixture, a1 store.RefreshToken) error {
			return f.s.SetActive(f.ctx, a1.UserID, false, at(time.Minute))
		}},
		{"ResetPasswordWithCode", func(f *fixture, a1 store.RefreshToken) error {
			c := f.createCode(makeCode(store.User{ID: a1.UserID}, store.CodePasswordReset, "reset", at(0)))
			return f.s.ResetPasswordWithCode(f.ctx, a1.UserID, c.CodeHash, 5, hash("new"), at(time.Minute))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			a1 := f.login(makeToken(alice, "A", "a1", at(0)))
			v1 := f.login(makeToken(bob, "V", "v1", at(0)))
			require.NoError(t, tt.revoke(f, a1))
			want := f.user(alice.ID)

			next := makeToken(alice, "A", "a2", at(time.Hour))
			require.ErrorIs(t, f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour)), store.ErrSessionEnded)
			f.requireAbsent(next, at(time.Hour))
			f.requireEnded(a1, at(2*time.Hour)) // again: it changed nothing
			requireUser(t, want, f.user(alice.ID))
			f.requireSessions(alice.ID, at(time.Hour))
			f.requireSessions(bob.ID, at(time.Hour), sessionOf(v1, v1))
		})
	}
}

func testRotateConflict(t *testing.T, mk maker) {
	tests := []struct {
		name      string
		next      func(next, other store.RefreshToken) store.RefreshToken
		wantField string
	}{
		{"next reuses a digest", func(next, other store.RefreshToken) store.RefreshToken {
			next.TokenHash = other.TokenHash
			return next
		}, store.FieldTokenHash},
		{"next reuses an id", func(next, other store.RefreshToken) store.RefreshToken {
			next.ID = other.ID
			return next
		}, store.FieldID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			a1 := f.login(makeToken(alice, "A", "a1", at(0)))
			other := f.login(makeToken(alice, "B", "b1", at(0)))
			next := makeToken(alice, "A", "a2", at(time.Hour))

			err := f.s.RotateRefreshToken(f.ctx, a1.TokenHash, tt.next(next, other), at(time.Hour))
			requireConflict(t, err, tt.wantField)
			f.requireSessions(alice.ID, at(time.Hour), sessionOf(a1, a1), sessionOf(other, other))
			f.rotate(a1, next, at(time.Hour)) // the failed attempt left a1 usable
			f.requireRotates(other, at(time.Hour))
		})
	}
}

// testSessionEnd: however often it is refreshed, a session ends at its
// absolute end.
func testSessionEnd(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	end := at(36 * time.Hour)
	a1 := makeToken(alice, "A", "a1", at(0))
	a1.SessionExpiresAt = end
	a1 = f.login(a1)

	// A rotation well before the end keeps the next token's expiry.
	a2 := makeToken(alice, "A", "a2", at(time.Hour))
	a2.SessionExpiresAt = at(1000 * time.Hour) // ignored: the session's end is carried
	a2 = f.rotate(a1, a2, at(time.Hour))
	require.True(t, a2.ExpiresAt.Equal(at(25*time.Hour)))
	f.requireSessions(alice.ID, at(time.Hour), sessionOf(a1, a2))

	// Near the end, the next token expires at the end, not a day later.
	a3 := f.rotate(a2, makeToken(alice, "A", "a3", at(20*time.Hour)), at(20*time.Hour))
	require.True(t, a3.ExpiresAt.Equal(end))
	f.requireSessions(alice.ID, at(20*time.Hour), sessionOf(a1, a3))

	// One microsecond before the end a rotation still works, and its token
	// expires at the end too.
	a4 := f.rotate(a3, makeToken(alice, "A", "a4", end.Add(-time.Microsecond)), end.Add(-time.Microsecond))
	require.True(t, a4.ExpiresAt.Equal(end))
	f.requireSessions(alice.ID, end.Add(-time.Microsecond), sessionOf(a1, a4))

	// At the end the session is over.
	f.requireSessions(alice.ID, end)
	_, err := f.s.UserWithSession(f.ctx, alice.ID, a1.FamilyID, end)
	require.ErrorIs(t, err, store.ErrSessionEnded)
	f.requireAbsent(a4, end)
	next := makeToken(alice, "A", "a5", end)
	require.ErrorIs(t, f.s.RotateRefreshToken(f.ctx, a4.TokenHash, next, end), store.ErrNotFound)
	f.requireAbsent(next, end.Add(-time.Microsecond))
}

func testRevokeFamily(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Hour)), at(time.Hour))
	b1 := f.login(makeToken(alice, "B", "b1", at(0)))
	v1 := f.login(makeToken(bob, "V", "v1", at(0)))
	want := f.user(alice.ID)

	require.NoError(t, f.s.RevokeFamily(f.ctx, alice.ID, a1.FamilyID, at(2*time.Hour)))
	f.requireSessions(alice.ID, at(2*time.Hour), sessionOf(b1, b1))
	f.requireSessions(bob.ID, at(2*time.Hour), sessionOf(v1, v1))
	requireUser(t, want, f.user(alice.ID)) // TokensValidAfter is not moved

	err := f.s.RevokeFamily(f.ctx, alice.ID, a1.FamilyID, at(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound, "a family already revoked")
	f.requireEnded(a2, at(2*time.Hour))
	f.requireRotates(b1, at(2*time.Hour))
	f.requireRotates(v1, at(2*time.Hour))
}

func testRevokeFamilyNotFound(t *testing.T, mk maker) {
	tests := []struct {
		name      string
		call      func(f *fixture, alice, bob store.User) error
		unchanged bool // every session must be left as it was
	}{
		{"family of another user", func(f *fixture, alice, bob store.User) error {
			return f.s.RevokeFamily(f.ctx, alice.ID, familyID(bob, "V"), at(time.Hour))
		}, true},
		{"user of another family", func(f *fixture, alice, bob store.User) error {
			return f.s.RevokeFamily(f.ctx, bob.ID, familyID(alice, "A"), at(time.Hour))
		}, true},
		{"unknown family", func(f *fixture, alice, _ store.User) error {
			return f.s.RevokeFamily(f.ctx, alice.ID, familyID(alice, "unknown"), at(time.Hour))
		}, true},
		{"unknown user", func(f *fixture, alice, _ store.User) error {
			return f.s.RevokeFamily(f.ctx, id("user", "nobody"), familyID(alice, "A"), at(time.Hour))
		}, true},
		{"expires at that instant", func(f *fixture, alice, _ store.User) error {
			return f.s.RevokeFamily(f.ctx, alice.ID, familyID(alice, "A"), at(24*time.Hour))
		}, false},
		{"expired", func(f *fixture, alice, _ store.User) error {
			return f.s.RevokeFamily(f.ctx, alice.ID, familyID(alice, "A"), at(48*time.Hour))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			a1 := f.login(makeToken(alice, "A", "a1", at(0)))
			v1 := f.login(makeToken(bob, "V", "v1", at(0)))

			require.ErrorIs(t, tt.call(f, alice, bob), store.ErrNotFound)
			if tt.unchanged {
				f.requireSessions(alice.ID, at(time.Hour), sessionOf(a1, a1))
				f.requireSessions(bob.ID, at(time.Hour), sessionOf(v1, v1))
				f.requireRotates(a1, at(time.Hour))
				f.requireRotates(v1, at(time.Hour))
			}
		})
	}
}

func testRevokeAllSessions(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	carol := f.newUser("carol") // no tokens at all
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Hour)), at(time.Hour))
	b1 := f.login(makeToken(alice, "B", "b1", at(0)))
	v1 := f.login(makeToken(bob, "V", "v1", at(0)))
	wantAlice, wantBob := f.user(alice.ID), f.user(bob.ID)

	when := at(3 * time.Hour)
	require.NoError(t, f.s.RevokeAllSessions(f.ctx, alice.ID, when))
	wantAlice.TokensValidAfter = when // and nothing else changes
	requireUser(t, wantAlice, f.user(alice.ID))
	f.requireSessions(alice.ID, when)
	f.requireEnded(a2, when)
	f.requireEnded(b1, when)
	requireUser(t, wantBob, f.user(bob.ID))
	f.requireSessions(bob.ID, when, sessionOf(v1, v1))

	require.NoError(t, f.s.RevokeAllSessions(f.ctx, carol.ID, when), "a user without sessions")
	wantCarol := carol
	wantCarol.TokensValidAfter = when
	requireUser(t, wantCarol, f.user(carol.ID))
	f.requireRotates(v1, when)
}

func testSessions(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	// Family B is inserted first but began later than family A.
	b1 := f.login(makeToken(alice, "B", "b1", at(time.Hour)))
	a1 := makeToken(alice, "A", "a1", at(0))
	a1.DeviceName, a1.DeviceType = "Laptop", "desktop"
	a1 = f.login(a1)
	a2 := makeToken(alice, "A", "a2", at(2*time.Hour))
	a2.IPAddress, a2.UserAgent = "198.51.100.2", "browser/a2"
	a2 = f.rotate(a1, a2, at(2*time.Hour))
	c1 := f.login(makeToken(alice, "C", "c1", at(30*time.Minute)))
	require.NoError(t, f.s.RevokeFamily(f.ctx, alice.ID, c1.FamilyID, at(time.Hour)))
	f.login(makeToken(alice, "D", "d1", at(-30*time.Hour))) // expired at(-6h)
	e1 := makeToken(alice, "E", "e1", at(-time.Hour))
	e1.ExpiresAt = at(3 * time.Hour) // expires exactly when listed
	e1 = f.login(e1)
	// Family G began first; its ID sorts last, so listing by ID is caught.
	g1 := f.login(makeToken(alice, "G", "g1", at(-2*time.Hour)))
	require.Greater(t, g1.FamilyID, b1.FamilyID)
	require.Greater(t, b1.FamilyID, a1.FamilyID)
	f.login(makeToken(bob, "V", "v1", at(0)))

	f.requireSessions(alice.ID, at(3*time.Hour), sessionOf(g1, g1), sessionOf(a1, a2), sessionOf(b1, b1))
	// One microsecond earlier, family E is still active.
	f.requireSessions(alice.ID, at(3*time.Hour-time.Microsecond),
		sessionOf(g1, g1), sessionOf(e1, e1), sessionOf(a1, a2), sessionOf(b1, b1))
}

func testSessionsEmpty(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	f.requireSessions(alice.ID, at(0))
}

// testRevocationMomentsIncrease checks that SetPassword, RevokeAllSessions
// and a disabling record store.NextRevocation: two revocations in one
// second record moments a second apart, so a token dated at the first does
// not survive the second.
func testRevocationMomentsIncrease(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	first := at(time.Hour).Truncate(time.Second)
	require.NoError(t, f.s.RevokeAllSessions(f.ctx, alice.ID, first))
	require.True(t, first.Equal(f.user(alice.ID).TokensValidAfter), "the first revocation records its moment")

	require.NoError(t, f.s.RevokeAllSessions(f.ctx, alice.ID, first))
	require.True(t, first.Add(time.Second).Equal(f.user(alice.ID).TokensValidAfter),
		"a second revocation at the same moment records one second later")

	require.NoError(t, f.s.SetPassword(f.ctx, alice.ID, alice.HashedPassword, hash("again"), first.Add(time.Second), ""))
	require.True(t, first.Add(2*time.Second).Equal(f.user(alice.ID).TokensValidAfter),
		"SetPassword moves on from the last revocation too")

	require.NoError(t, f.s.SetActive(f.ctx, alice.ID, false, first.Add(2*time.Second)))
	require.True(t, first.Add(3*time.Second).Equal(f.user(alice.ID).TokensValidAfter),
		"a disabling moves on from the last revocation too")

	later := first.Add(time.Hour)
	require.NoError(t, f.s.RevokeAllSessions(f.ctx, alice.ID, later))
	require.True(t, later.Equal(f.user(alice.ID).TokensValidAfter), "a later revocation records its own moment")
}
