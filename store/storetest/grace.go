package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

// The grace window of the RefreshGrace cases.
const grace = 30 * time.Second

func graceCases() []testCase {
	return []testCase{
		{"ActiveTokenRotates", testGraceActiveToken},
		{"TwoAtOnce", testGraceTwoAtOnce},
		{"FiftyAtOnce", testGraceFiftyAtOnce},
		{"Boundary", testGraceBoundary},
		{"AfterWindowRevokesSession", testGraceAfterWindow},
		{"WindowNotExtended", testGraceNotExtended},
		{"ZeroIsNoWindow", testGraceZero},
		{"EndedSession", testGraceEndedSession},
		{"WhileRevoking", testGraceWhileRevoking},
	}
}

// graceFixture logs alice in with a1 at at(0) and rotates it into a2 at
// at(time.Hour), the moment the cases measure the window from.
func graceFixture(t *testing.T, mk maker) (f *fixture, gs store.RefreshGrace, a1, a2 store.RefreshToken) {
	f = mk(t)
	gs = f.s.(store.RefreshGrace)
	alice := f.newUser("alice")
	a1 = f.login(makeToken(alice, "A", "a1", at(0)))
	a2 = f.rotate(a1, makeToken(alice, "A", "a2", at(time.Hour)), at(time.Hour))
	return f, gs, a1, a2
}

// successor is next as a store keeps it when it follows old.
func successor(old, next store.RefreshToken) store.RefreshToken {
	next.DeviceName, next.DeviceType = old.DeviceName, old.DeviceType
	next.SessionExpiresAt = old.SessionExpiresAt
	return stored(next)
}

// testGraceActiveToken: an unrotated token rotates as RotateRefreshToken
// rotates it, and is then spent.
func testGraceActiveToken(t *testing.T, mk maker) {
	f := mk(t)
	gs := f.s.(store.RefreshGrace)
	alice := f.newUser("alice")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	a2 := makeToken(alice, "A", "a2", at(time.Hour))
	require.NoError(t, gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, a2, at(time.Hour), grace))
	stored := successor(a1, a2)
	f.requireSessions(alice.ID, at(time.Hour), sessionOf(a1, stored))
	// a1 is rotated: outside the window it is a replay.
	f.requireRotateErr(a1, at(time.Hour+grace+time.Second), store.ErrReused)
}

// testGraceTwoAtOnce: two concurrent presentations of one token within the
// window (two tabs) both succeed, and both new tokens work, in one session.
func testGraceTwoAtOnce(t *testing.T, mk maker) {
	f := mk(t)
	gs := f.s.(store.RefreshGrace)
	alice := f.newUser("alice")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	nexts := []store.RefreshToken{
		makeToken(alice, "A", "tab-1", at(time.Hour)),
		makeToken(alice, "A", "tab-2", at(time.Hour)),
	}
	errs := parallel(2, func(i int) error {
		return gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, nexts[i], at(time.Hour), grace)
	})
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	f.requireOneSession(alice.ID, at(time.Hour))
	for _, next := range nexts {
		f.requireRotates(successor(a1, next), at(2*time.Hour))
	}
	f.requireOneSession(alice.ID, at(2*time.Hour))
}

// requireOneSession asserts that the user has exactly one active session
// at when.
func (f *fixture) requireOneSession(userID string, when time.Time) {
	f.t.Helper()
	sessions, err := f.s.Sessions(f.ctx, userID, when)
	require.NoError(f.t, err, "Sessions")
	require.Len(f.t, sessions, 1, "sessions: %+v", sessions)
}

// testGraceFiftyAtOnce: 50 concurrent presentations of one token within
// the window all succeed, each with a working token of the one session.
func testGraceFiftyAtOnce(t *testing.T, mk maker) {
	f := mk(t)
	gs := f.s.(store.RefreshGrace)
	alice := f.newUser("alice")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	const n = 50
	nexts := make([]store.RefreshToken, n)
	for i := range nexts {
		nexts[i] = makeToken(alice, "A", fmt.Sprintf("next-%d", i), at(time.Hour))
	}
	errs := parallel(n, func(i int) error {
		return gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, nexts[i], at(time.Hour), grace)
	})
	require.Equal(t, map[string]int{"ok": n}, tally(errs), "first error: %v", firstOther(errs))
	f.requireOneSession(alice.ID, at(time.Hour))
	for _, next := range nexts {
		f.requireRotates(successor(a1, next), at(2*time.Hour))
	}
}

// testGraceBoundary: the window includes its last instant.
func testGraceBoundary(t *testing.T, mk maker) {
	f, gs, a1, _ := graceFixture(t, mk)
	next := makeToken(store.User{ID: a1.UserID}, "A", "late", at(time.Hour+grace))
	require.NoError(t, gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, next, at(time.Hour+grace), grace))
	f.requireRotates(successor(a1, next), at(time.Hour+grace))
}

// testGraceAfterWindow: a rotated token presented after the window is a
// replay: the whole session is revoked, the newest token too.
func testGraceAfterWindow(t *testing.T, mk maker) {
	f, gs, a1, a2 := graceFixture(t, mk)
	late := at(time.Hour + grace + time.Microsecond)
	next := f.probe(a1, late)
	require.ErrorIs(t, gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, next, late, grace), store.ErrReused)
	f.requireAbsent(next, late)
	f.requireEnded(a2, late)
	f.requireSessions(a1.UserID, late)
}

// testGraceNotExtended: a presentation within the window does not move it:
// the window is measured from the token's rotation.
func testGraceNotExtended(t *testing.T, mk maker) {
	f, gs, a1, a2 := graceFixture(t, mk)
	mid := at(time.Hour + grace/2)
	b := makeToken(store.User{ID: a1.UserID}, "A", "b", mid)
	require.NoError(t, gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, b, mid, grace))
	late := at(time.Hour + grace + time.Second)
	require.ErrorIs(t, gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, f.probe(a1, late), late, grace), store.ErrReused)
	f.requireEnded(a2, late)
	f.requireEnded(successor(a1, b), late)
}

// testGraceZero: without a window a second presentation is a replay, even
// at the instant of the rotation.
func testGraceZero(t *testing.T, mk maker) {
	f, gs, a1, a2 := graceFixture(t, mk)
	require.ErrorIs(t, gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, f.probe(a1, at(time.Hour)), at(time.Hour), 0), store.ErrReused)
	f.requireEnded(a2, at(time.Hour))
}

// testGraceEndedSession: the window never lets a token of an ended session
// through, whatever ended it; nothing is inserted.
func testGraceEndedSession(t *testing.T, mk maker) {
	tests := []struct {
		name string
		end  func(f *fixture, tok store.RefreshToken) error
	}{
		{"RevokeFamily", func(f *fixture, tok store.RefreshToken) error {
			return f.s.RevokeFamily(f.ctx, tok.UserID, tok.FamilyID, at(time.Hour))
		}},
		{"RevokeAllSessions", func(f *fixture, tok store.RefreshToken) error {
			return f.s.RevokeAllSessions(f.ctx, tok.UserID, at(time.Hour))
		}},
		{"SetPassword", func(f *fixture, tok store.RefreshToken) error {
			current := f.user(tok.UserID).HashedPassword
			return f.s.SetPassword(f.ctx, tok.UserID, current, current+"x", at(time.Hour), "")
		}},
		{"SetActive", func(f *fixture, tok store.RefreshToken) error {
			return f.s.SetActive(f.ctx, tok.UserID, false, at(time.Hour))
		}},
		{"ReuseDetection", func(f *fixture, tok store.RefreshToken) error {
			// tok is rotated, then replayed without a window: the theft
			// signal ends the session.
			f.rotate(tok, f.probe(tok, at(time.Hour)), at(time.Hour))
			err := f.s.RotateRefreshToken(f.ctx, tok.TokenHash, f.probe(tok, at(time.Hour)), at(time.Hour))
			require.ErrorIs(f.t, err, store.ErrReused)
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, gs, a1, a2 := graceFixture(t, mk)
			require.NoError(t, tt.end(f, a2))
			when := at(time.Hour + grace/2)
			next := f.probe(a1, when)
			require.ErrorIs(t, gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, next, when, grace), store.ErrSessionEnded)
			f.requireAbsent(next, when)
			f.requireSessions(a1.UserID, when)
		})
	}
}

// testGraceWhileRevoking races presentations within the window against an
// ending of the session: afterwards no usable token of the family remains.
func testGraceWhileRevoking(t *testing.T, mk maker) {
	f, gs, a1, _ := graceFixture(t, mk)
	const n = 10
	when := at(time.Hour + grace/2)
	nexts := make([]store.RefreshToken, n)
	for i := range nexts {
		nexts[i] = makeToken(store.User{ID: a1.UserID}, "A", fmt.Sprintf("race-%d", i), when)
	}
	errs := parallel(n+1, func(i int) error {
		if i == n {
			return f.s.RevokeFamily(f.ctx, a1.UserID, a1.FamilyID, when)
		}
		return gs.RotateRefreshTokenGrace(f.ctx, a1.TokenHash, nexts[i], when, grace)
	})
	require.NoError(t, errs[n], "RevokeFamily")
	require.NoError(t, firstOther(errs[:n], store.ErrSessionEnded))
	for i, next := range nexts {
		if errs[i] == nil {
			f.requireEnded(successor(a1, next), when)
		} else {
			f.requireAbsent(next, when)
		}
	}
	f.requireSessions(a1.UserID, when)
}
