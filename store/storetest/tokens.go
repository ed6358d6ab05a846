package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func tokenCases() []testCase {
	return []testCase{
		{"CreateAndGet", testCreateToken},
		{"CreateIntegrity", testTokenIntegrity},
		{"Rotate", testRotate},
		{"RotateChain", testRotateChain},
		{"RotateNotFound", testRotateNotFound},
		{"RotateReused", testRotateReused},
		{"RotateRevoked", testRotateRevoked},
		{"RotateFailureChangesNothing", testRotateFailureChangesNothing},
		{"RevokeFamily", testRevokeFamily},
		{"RevokeFamilyNotFound", testRevokeFamilyNotFound},
		{"RevokeAllSessions", testRevokeAllSessions},
		{"RevocationMomentsIncrease", testRevocationMomentsIncrease},
		{"Sessions", testSessions},
		{"SessionsEmpty", testSessionsEmpty},
	}
}

func testCreateToken(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	a1 := makeToken(alice, "A", "a1", at(0))
	a1.LastUsedAt = at(time.Minute)
	f.createToken(a1)
	a2 := makeToken(alice, "A", "a2", at(time.Hour)) // a second token of one family
	a2.DeviceName, a2.DeviceType, a2.IPAddress, a2.UserAgent = "", "", "", ""
	f.createToken(a2)
	revoked := makeToken(alice, "R", "r1", at(0))
	revoked.IsRevoked, revoked.ReplacedBy = true, a2.ID
	f.createToken(revoked)

	for _, want := range []store.RefreshToken{a1, a2, revoked} {
		requireToken(t, want, f.token(want.TokenHash))
	}
	f.requireAbsentToken(digest("token:unknown"))
}

func testTokenIntegrity(t *testing.T, mk maker) {
	tests := []struct {
		name string
		tok  func(alice store.User, a1 store.RefreshToken) store.RefreshToken
	}{
		{"unknown user", func(_ store.User, _ store.RefreshToken) store.RefreshToken {
			return makeToken(makeUser("nobody"), "N", "n1", at(0))
		}},
		{"duplicate digest", func(alice store.User, a1 store.RefreshToken) store.RefreshToken {
			tok := makeToken(alice, "B", "b1", at(0))
			tok.TokenHash = a1.TokenHash
			return tok
		}},
		{"duplicate id", func(alice store.User, a1 store.RefreshToken) store.RefreshToken {
			tok := makeToken(alice, "B", "b1", at(0))
			tok.ID = a1.ID
			return tok
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
			tok := tt.tok(alice, a1)
			require.Error(t, f.s.CreateRefreshToken(f.ctx, tok))
			requireToken(t, a1, f.token(a1.TokenHash))
			if tok.TokenHash != a1.TokenHash {
				f.requireAbsentToken(tok.TokenHash)
			}
		})
	}
}

func testRotate(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	old := f.createToken(makeToken(alice, "A", "a1", at(0)))
	when := at(time.Hour)
	next := makeToken(alice, "A", "a2", when)
	next.DeviceName, next.DeviceType = "ignored", "ignored" // the old token's device wins
	next.IPAddress, next.UserAgent = "198.51.100.20", "browser/new"
	next.ExpiresAt = at(30 * time.Hour)

	got, err := f.s.RotateRefreshToken(f.ctx, old.TokenHash, next, when)
	require.NoError(t, err)
	assert.Equal(t, old.ID, got.ID)
	assert.Equal(t, old.UserID, got.UserID)
	assert.Equal(t, old.FamilyID, got.FamilyID)
	assert.Equal(t, old.TokenHash, got.TokenHash)

	wantOld := old
	wantOld.IsRevoked, wantOld.ReplacedBy, wantOld.LastUsedAt = true, next.ID, when
	requireToken(t, wantOld, f.token(old.TokenHash))
	wantNext := next
	wantNext.DeviceName, wantNext.DeviceType = old.DeviceName, old.DeviceType
	requireToken(t, wantNext, f.token(next.TokenHash))
}

func testRotateChain(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	first := f.createToken(makeToken(alice, "A", "t0", at(0)))
	cur := first
	chain := []store.RefreshToken{first}
	for i, label := range []string{"t1", "t2", "t3"} {
		when := at(time.Duration(i+1) * time.Hour)
		next := makeToken(alice, "A", label, when)
		next.IPAddress = "198.51.100." + string(rune('1'+i))
		cur = f.rotate(cur, next, when)
		chain = append(chain, cur)
	}
	for i, tok := range chain[:len(chain)-1] {
		got := f.token(tok.TokenHash)
		assert.True(t, got.IsRevoked, "token %d", i)
		assert.Equal(t, chain[i+1].ID, got.ReplacedBy, "token %d", i)
	}
	requireToken(t, cur, f.token(cur.TokenHash))
	sessions, err := f.s.Sessions(f.ctx, alice.ID, at(4*time.Hour))
	require.NoError(t, err)
	requireSessions(t, []store.Session{sessionOf(first, cur)}, sessions)
}

func testRotateNotFound(t *testing.T, mk maker) {
	tests := []struct {
		name string
		// call rotates a1 (valid until at(24h)) in some wrong way.
		call func(f *fixture, a1, next store.RefreshToken, bob store.User) (store.RefreshToken, error)
	}{
		{"unknown digest", func(f *fixture, _, next store.RefreshToken, _ store.User) (store.RefreshToken, error) {
			return f.s.RotateRefreshToken(f.ctx, digest("token:unknown"), next, at(time.Hour))
		}},
		{"expires at that instant", func(f *fixture, a1, next store.RefreshToken, _ store.User) (store.RefreshToken, error) {
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, a1.ExpiresAt)
		}},
		{"expired", func(f *fixture, a1, next store.RefreshToken, _ store.User) (store.RefreshToken, error) {
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(48*time.Hour))
		}},
		{"other user", func(f *fixture, a1, next store.RefreshToken, bob store.User) (store.RefreshToken, error) {
			next.UserID = bob.ID
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
		}},
		{"unknown user", func(f *fixture, a1, next store.RefreshToken, _ store.User) (store.RefreshToken, error) {
			next.UserID = id("user", "nobody")
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
		}},
		{"other family", func(f *fixture, a1, next store.RefreshToken, _ store.User) (store.RefreshToken, error) {
			next.FamilyID = id("family", "other")
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
		}},
		{"family of another user", func(f *fixture, a1, next store.RefreshToken, bob store.User) (store.RefreshToken, error) {
			next.UserID, next.FamilyID = bob.ID, familyID(bob, "B")
			return f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
			b1 := f.createToken(makeToken(bob, "B", "b1", at(0)))
			next := makeToken(alice, "A", "a2", at(time.Hour))

			_, err := tt.call(f, a1, next, bob)
			require.ErrorIs(t, err, store.ErrNotFound)

			requireToken(t, a1, f.token(a1.TokenHash))
			requireToken(t, b1, f.token(b1.TokenHash))
			f.requireAbsentToken(next.TokenHash)
			f.rotate(a1, next, at(time.Hour)) // still usable
		})
	}
}

func testRotateReused(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Hour)), at(time.Hour))
	b1 := f.createToken(makeToken(alice, "B", "b1", at(0)))
	v1 := f.createToken(makeToken(bob, "V", "v1", at(0)))
	rotatedA1 := f.token(a1.TokenHash)

	// a1 is presented again: the family is compromised.
	a3 := makeToken(alice, "A", "a3", at(2*time.Hour))
	got, err := f.s.RotateRefreshToken(f.ctx, a1.TokenHash, a3, at(2*time.Hour))
	require.ErrorIs(t, err, store.ErrReused)
	assert.Equal(t, a1.ID, got.ID)
	assert.Equal(t, alice.ID, got.UserID)
	assert.Equal(t, a1.FamilyID, got.FamilyID)

	f.requireAbsentToken(a3.TokenHash)
	requireToken(t, rotatedA1, f.token(a1.TokenHash))
	revokedA2 := a2
	revokedA2.IsRevoked = true
	requireToken(t, revokedA2, f.token(a2.TokenHash))
	requireToken(t, b1, f.token(b1.TokenHash))
	requireToken(t, v1, f.token(v1.TokenHash))

	// The newest token of the family is dead too.
	a4 := makeToken(alice, "A", "a4", at(3*time.Hour))
	got, err = f.s.RotateRefreshToken(f.ctx, a2.TokenHash, a4, at(3*time.Hour))
	require.ErrorIs(t, err, store.ErrReused)
	assert.Equal(t, a2.ID, got.ID)
	assert.Equal(t, alice.ID, got.UserID)
	assert.Equal(t, a2.FamilyID, got.FamilyID)
	f.requireAbsentToken(a4.TokenHash)

	sessions, err := f.s.Sessions(f.ctx, alice.ID, at(3*time.Hour))
	require.NoError(t, err)
	requireSessions(t, []store.Session{sessionOf(b1, b1)}, sessions)
}

func testRotateRevoked(t *testing.T, mk maker) {
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
			return f.s.SetPassword(f.ctx, a1.UserID, "x", at(time.Minute), "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
			require.NoError(t, tt.revoke(f, a1))

			next := makeToken(alice, "A", "a2", at(time.Hour))
			got, err := f.s.RotateRefreshToken(f.ctx, a1.TokenHash, next, at(time.Hour))
			require.ErrorIs(t, err, store.ErrReused)
			assert.Equal(t, a1.ID, got.ID)
			assert.Equal(t, alice.ID, got.UserID)
			assert.Equal(t, a1.FamilyID, got.FamilyID)
			f.requireAbsentToken(next.TokenHash)
			assert.True(t, f.token(a1.TokenHash).IsRevoked)
		})
	}
}

func testRotateFailureChangesNothing(t *testing.T, mk maker) {
	tests := []struct {
		name string
		next func(next, other store.RefreshToken) store.RefreshToken
	}{
		{"next reuses a digest", func(next, other store.RefreshToken) store.RefreshToken {
			next.TokenHash = other.TokenHash
			return next
		}},
		{"next reuses an id", func(next, other store.RefreshToken) store.RefreshToken {
			next.ID = other.ID
			return next
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
			other := f.createToken(makeToken(alice, "B", "b1", at(0)))
			next := makeToken(alice, "A", "a2", at(time.Hour))

			_, err := f.s.RotateRefreshToken(f.ctx, a1.TokenHash, tt.next(next, other), at(time.Hour))
			require.Error(t, err, "a rotation whose next token collides")
			requireToken(t, a1, f.token(a1.TokenHash))
			requireToken(t, other, f.token(other.TokenHash))
			f.rotate(a1, next, at(time.Hour)) // the failed attempt left a1 usable
		})
	}
}

func testRevokeFamily(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Hour)), at(time.Hour))
	b1 := f.createToken(makeToken(alice, "B", "b1", at(0)))
	v1 := f.createToken(makeToken(bob, "V", "v1", at(0)))
	rotatedA1 := f.token(a1.TokenHash)

	require.NoError(t, f.s.RevokeFamily(f.ctx, alice.ID, a1.FamilyID, at(2*time.Hour)))
	requireToken(t, rotatedA1, f.token(a1.TokenHash))
	revokedA2 := a2
	revokedA2.IsRevoked = true
	requireToken(t, revokedA2, f.token(a2.TokenHash))
	requireToken(t, b1, f.token(b1.TokenHash))
	requireToken(t, v1, f.token(v1.TokenHash))

	err := f.s.RevokeFamily(f.ctx, alice.ID, a1.FamilyID, at(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound, "a family already revoked")
	requireUser(t, alice, f.user(alice.ID))
}

func testRevokeFamilyNotFound(t *testing.T, mk maker) {
	tests := []struct {
		name      string
		call      func(f *fixture, alice, bob store.User) error
		unchanged bool // every token must be left as it was
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
			a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
			v1 := f.createToken(makeToken(bob, "V", "v1", at(0)))

			require.ErrorIs(t, tt.call(f, alice, bob), store.ErrNotFound)
			if tt.unchanged {
				requireToken(t, a1, f.token(a1.TokenHash))
				requireToken(t, v1, f.token(v1.TokenHash))
			}
		})
	}
}

func testRevokeAllSessions(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	carol := f.newUser("carol") // no tokens at all
	a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Hour)), at(time.Hour))
	b1 := f.createToken(makeToken(alice, "B", "b1", at(0)))
	v1 := f.createToken(makeToken(bob, "V", "v1", at(0)))
	before := map[string]store.RefreshToken{}
	for _, tok := range []store.RefreshToken{a1, a2, b1} {
		before[tok.ID] = f.token(tok.TokenHash)
	}

	when := at(3 * time.Hour)
	require.NoError(t, f.s.RevokeAllSessions(f.ctx, alice.ID, when))
	wantAlice := alice
	wantAlice.TokensValidAfter = when // and nothing else changes
	requireUser(t, wantAlice, f.user(alice.ID))
	for _, tok := range []store.RefreshToken{a1, a2, b1} {
		w := before[tok.ID]
		w.IsRevoked = true
		requireToken(t, w, f.token(tok.TokenHash))
	}
	sessions, err := f.s.Sessions(f.ctx, alice.ID, when)
	require.NoError(t, err)
	require.Empty(t, sessions)
	requireUser(t, bob, f.user(bob.ID))
	requireToken(t, v1, f.token(v1.TokenHash))

	require.NoError(t, f.s.RevokeAllSessions(f.ctx, carol.ID, when), "a user without sessions")
	wantCarol := carol
	wantCarol.TokensValidAfter = when
	requireUser(t, wantCarol, f.user(carol.ID))
}

func testSessions(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	// Family B is inserted first but began later than family A.
	b1 := f.createToken(makeToken(alice, "B", "b1", at(time.Hour)))
	a1 := makeToken(alice, "A", "a1", at(0))
	a1.DeviceName, a1.DeviceType = "Laptop", "desktop"
	f.createToken(a1)
	a2 := makeToken(alice, "A", "a2", at(2*time.Hour))
	a2.IPAddress, a2.UserAgent = "198.51.100.2", "browser/a2"
	a2 = f.rotate(a1, a2, at(2*time.Hour))
	c1 := f.createToken(makeToken(alice, "C", "c1", at(30*time.Minute)))
	require.NoError(t, f.s.RevokeFamily(f.ctx, alice.ID, c1.FamilyID, at(time.Hour)))
	f.createToken(makeToken(alice, "D", "d1", at(-30*time.Hour))) // expired at(-6h)
	e1 := makeToken(alice, "E", "e1", at(-time.Hour))
	e1.ExpiresAt = at(3 * time.Hour) // expires exactly when listed
	f.createToken(e1)
	// Family G began first; its ID sorts last, so listing by ID is caught.
	g1 := f.createToken(makeToken(alice, "G", "g1", at(-2*time.Hour)))
	require.Greater(t, g1.FamilyID, b1.FamilyID)
	require.Greater(t, b1.FamilyID, a1.FamilyID)
	f.createToken(makeToken(bob, "V", "v1", at(0)))

	got, err := f.s.Sessions(f.ctx, alice.ID, at(3*time.Hour))
	require.NoError(t, err)
	requireSessions(t, []store.Session{sessionOf(g1, g1), sessionOf(a1, a2), sessionOf(b1, b1)}, got)

	// One microsecond earlier, family E is still active.
	got, err = f.s.Sessions(f.ctx, alice.ID, at(3*time.Hour-time.Microsecond))
	require.NoError(t, err)
	requireSessions(t, []store.Session{sessionOf(g1, g1), sessionOf(e1, e1), sessionOf(a1, a2), sessionOf(b1, b1)}, got)
}

func testSessionsEmpty(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	got, err := f.s.Sessions(f.ctx, alice.ID, at(0))
	require.NoError(t, err)
	require.Empty(t, got)
}

// testRevocationMomentsIncrease checks that SetPassword and
// RevokeAllSessions record store.NextRevocation: two revocations in one
// second record moments a second apart, so a token dated at the first does
// not survive the second.
func testRevocationMomentsIncrease(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	first := at(time.Hour).Truncate(time.Second)
	require.NoError(t, f.s.RevokeAllSessions(f.ctx, alice.ID, first))
	require.True(t, first.Equal(f.user(alice.ID).TokensValidAfter), "the first revocation records its moment")

	require.NoError(t, f.s.RevokeAllSessions(f.ctx, alice.ID, first))
	assert.True(t, first.Add(time.Second).Equal(f.user(alice.ID).TokensValidAfter), "a second revocation at the same moment records one second later")

	hash := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$" + digest("again")[:43]
	require.NoError(t, f.s.SetPassword(f.ctx, alice.ID, hash, first.Add(time.Second), ""))
	assert.True(t, first.Add(2*time.Second).Equal(f.user(alice.ID).TokensValidAfter), "SetPassword moves on from the last revocation too")

	later := first.Add(time.Hour)
	require.NoError(t, f.s.RevokeAllSessions(f.ctx, alice.ID, later))
	assert.True(t, later.Equal(f.user(alice.ID).TokensValidAfter), "a later revocation records its own moment")
}
