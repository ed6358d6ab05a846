package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

// Run runs the conformance suite against stores made by newStore; each
// subtest gets a fresh, empty store (newStore is called per subtest, and may
// use tb.Cleanup).
//
// The core groups (Users, RefreshTokens, Codes, Times, Context and
// Concurrency) always run. They cover every method of [store.Store] and
// every error it documents, time precision and zones, canceled contexts, and
// the atomicity guarantees under real concurrency: the concurrency cases
// call one store from up to 50 goroutines at once. Each capability has its
// own group, named after it (Pinger, Cleaner, Tickets, RefreshGrace,
// SecondFactors, Identities, Passkeys, EmailChanges, Admin), which runs
// only when the store implements the interface and otherwise skips with a
// message naming it. To find out, Run calls newStore once more per capability group,
// with the group's own *testing.T. Subtests run one after another; Run
// never calls t.Parallel.
//
// Identifiers are UUID-shaped and digests are 64 hex characters, so a
// backend may use uuid and fixed-width columns. All times carry microseconds
// and are given in zones other than UTC; the suite expects them back in UTC
// (Location() == time.UTC) and equal at microsecond precision. It expects
// that two codes may share a digest, and it never checks how a store
// answers a record that lacks a field the contract requires.
func Run(t *testing.T, newStore func(tb testing.TB) store.Store) {
	t.Helper()
	mk := func(t *testing.T) *fixture {
		t.Helper()
		s := newStore(t)
		require.NotNil(t, s, "newStore returned a nil store")
		return &fixture{t: t, s: s, ctx: t.Context()}
	}
	core := []struct {
		name  string
		cases []testCase
	}{
		{"Users", userCases()},
		{"RefreshTokens", tokenCases()},
		{"Codes", codeCases()},
		{"Times", timeCases()},
		{"Context", contextCases()},
		{"Concurrency", concurrencyCases()},
	}
	capabilities := []struct {
		name  string // the group, named after the interface
		has   func(store.Store) bool
		cases []testCase
	}{
		{"Pinger", implements[store.Pinger], pingerCases()},
		{"Cleaner", implements[store.Cleaner], cleanerCases()},
		{"Tickets", implements[store.Tickets], ticketCases()},
		{"RefreshGrace", implements[store.RefreshGrace], graceCases()},
		{"SecondFactors", implements[store.SecondFactors], secondFactorCases()},
		{"Identities", implements[store.Identities], identityCases()},
		{"Passkeys", implements[store.Passkeys], passkeyCases()},
		{"EmailChanges", implements[store.EmailChanges], emailChangeCases()},
		{"Admin", implements[store.Admin], adminCases()},
	}
	runCases := func(t *testing.T, cases []testCase) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.fn(t, mk) })
		}
	}
	for _, g := range core {
		t.Run(g.name, func(t *testing.T) { runCases(t, g.cases) })
	}
	for _, g := range capabilities {
		t.Run(g.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned a nil store")
			if !g.has(s) {
				t.Skipf("the store does not implement store.%s", g.name)
			}
			runCases(t, g.cases)
		})
	}
}

func implements[I any](s store.Store) bool {
	_, ok := s.(I)
	return ok
}

// maker returns a fixture around a fresh, empty store.
type maker func(t *testing.T) *fixture

type testCase struct {
	name string
	fn   func(t *testing.T, mk maker)
}

// fixture is one fresh store and the shortcuts the cases share. Only the
// goroutine of the test uses its helpers.
type fixture struct {
	t      *testing.T
	s      store.Store
	ctx    context.Context
	probes int // labels of the tokens made to probe others
}

// at returns the suite's base instant, 2026-01-02T03:04:05.123456Z, plus d,
// expressed in a zone east of UTC so that every case also checks that a store
// converts to UTC.
func at(d time.Duration) time.Time {
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	return base.Add(d).In(time.FixedZone("UTC+05:30", 5*3600+30*60))
}

// id returns a stable UUID-shaped identifier for a label.
func id(kind, label string) string {
	sum := sha256.Sum256([]byte("id:" + kind + ":" + label))
	sum[6] = sum[6]&0x0f | 0x40 // version 4
	sum[8] = sum[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// digest returns a stable 64-hex-character digest for a label, standing in
// for the SHA-256 of a refresh token or the HMAC of a code.
func digest(label string) string {
	sum := sha256.Sum256([]byte("digest:" + label))
	return hex.EncodeToString(sum[:])
}

// hash returns a PHC-shaped password hash for a label.
func hash(label string) string {
	return "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$" + digest("password:" + label)[:43]
}

func familyID(u store.User, family string) string { return id("family", u.ID+"/"+family) }

func makeUser(name string) store.User {
	return store.User{
		ID:             id("user", name),
		Username:       name,
		Email:          name + "@example.com",
		HashedPassword: hash(name),
		IsActive:       true,
		CreatedAt:      at(0),
		UpdatedAt:      at(0),
	}
}

// sessionLength is how long after its first token a session of makeToken
// ends, whatever the rotations: longer than a token lives, so that only
// the cases about the absolute end meet it.
const sessionLength = 7 * 24 * time.Hour

// makeToken returns the token labelled label, in family family of u, issued
// at created and valid for a day, in a session that ends sessionLength after
// created.
func makeToken(u store.User, family, label string, created time.Time) store.RefreshToken {
	return store.RefreshToken{
		ID:               id("token", label),
		UserID:           u.ID,
		TokenHash:        digest("token:" + label),
		FamilyID:         familyID(u, family),
		ExpiresAt:        created.Add(24 * time.Hour),
		SessionExpiresAt: created.Add(sessionLength),
		DeviceName:       "device " + family,
		DeviceType:       "mobile",
		IPAddress:        "203.0.113.10",
		UserAgent:        "browser/" + label,
		CreatedAt:        created,
		LastUsedAt:       created,
	}
}

// makeCode returns the code labelled label of u, issued at created and valid
// for an hour.
func makeCode(u store.User, typ store.CodeType, label string, created time.Time) store.VerificationCode {
	return store.VerificationCode{
		ID:        id("code", label),
		UserID:    u.ID,
		CodeHash:  digest("code:" + label),
		Type:      typ,
		ExpiresAt: created.Add(time.Hour),
		CreatedAt: created,
	}
}

func (f *fixture) createUser(u store.User) store.User {
	f.t.Helper()
	require.NoError(f.t, f.s.CreateUser(f.ctx, u), "CreateUser(%s)", u.Username)
	return u
}

func (f *fixture) newUser(name string) store.User {
	f.t.Helper()
	return f.createUser(makeUser(name))
}

func (f *fixture) user(id string) store.User {
	f.t.Helper()
	u, err := f.s.UserByID(f.ctx, id)
	require.NoError(f.t, err, "UserByID")
	return u
}

// requireNoUser asserts that no user has the ID.
func (f *fixture) requireNoUser(id string) {
	f.t.Helper()
	_, err := f.s.UserByID(f.ctx, id)
	require.ErrorIs(f.t, err, store.ErrNotFound, "UserByID of a user that must not exist")
}

// login starts a session with tok, verified against the user's current
// hash, and returns the token as stored: unrevoked, its ExpiresAt no later
// than its SessionExpiresAt.
func (f *fixture) login(tok store.RefreshToken) store.RefreshToken {
	f.t.Helper()
	u := f.user(tok.UserID)
	require.NoError(f.t, f.s.CreateSession(f.ctx, tok, u.HashedPassword), "CreateSession")
	return stored(tok)
}

// stored is tok as a store keeps it when it is inserted.
func stored(tok store.RefreshToken) store.RefreshToken {
	tok.IsRevoked, tok.ReplacedBy = false, ""
	if tok.ExpiresAt.After(tok.SessionExpiresAt) {
		tok.ExpiresAt = tok.SessionExpiresAt
	}
	return tok
}

// rotate rotates old into next at when and returns the stored next: next
// with the old token's device and session end, its ExpiresAt no later than
// that.
func (f *fixture) rotate(old, next store.RefreshToken, when time.Time) store.RefreshToken {
	f.t.Helper()
	require.NoError(f.t, f.s.RotateRefreshToken(f.ctx, old.TokenHash, next, when), "RotateRefreshToken")
	next.DeviceName, next.DeviceType = old.DeviceName, old.DeviceType
	next.SessionExpiresAt = old.SessionExpiresAt
	return stored(next)
}

// probe returns a fresh token of tok's user and family, issued at when, to
// rotate tok into.
func (f *fixture) probe(tok store.RefreshToken, when time.Time) store.RefreshToken {
	f.probes++
	label := fmt.Sprintf("probe-%d", f.probes)
	p := makeToken(store.User{ID: tok.UserID}, "", label, when)
	p.FamilyID = tok.FamilyID
	return p
}

// requireRotates asserts that tok is usable by rotating it at when, and
// returns the stored token that replaced it.
func (f *fixture) requireRotates(tok store.RefreshToken, when time.Time) store.RefreshToken {
	f.t.Helper()
	return f.rotate(tok, f.probe(tok, when), when)
}

// requireRotateErr asserts that rotating tok at when fails with want and
// issues no token. Rotating a token that was rotated (want ErrReused)
// revokes its family.
func (f *fixture) requireRotateErr(tok store.RefreshToken, when time.Time, want error) {
	f.t.Helper()
	next := f.probe(tok, when)
	require.ErrorIs(f.t, f.s.RotateRefreshToken(f.ctx, tok.TokenHash, next, when), want, "RotateRefreshToken")
	f.requireAbsent(next, when)
}

// requireEnded asserts that tok was revoked without being rotated: its
// rotation at when is ErrSessionEnded, which changes nothing.
func (f *fixture) requireEnded(tok store.RefreshToken, when time.Time) {
	f.t.Helper()
	f.requireRotateErr(tok, when, store.ErrSessionEnded)
}

// requireAbsent asserts that no unexpired token has tok's digest: its
// rotation at when, into a token of its user and family, is ErrNotFound.
func (f *fixture) requireAbsent(tok store.RefreshToken, when time.Time) {
	f.t.Helper()
	err := f.s.RotateRefreshToken(f.ctx, tok.TokenHash, f.probe(tok, when), when)
	require.ErrorIs(f.t, err, store.ErrNotFound, "RotateRefreshToken of a token that must not exist")
}

// requireSessions asserts the sessions the user has at when.
func (f *fixture) requireSessions(userID string, when time.Time, want ...store.Session) {
	f.t.Helper()
	got, err := f.s.Sessions(f.ctx, userID, when)
	require.NoError(f.t, err, "Sessions")
	requireSessions(f.t, want, got)
}

func (f *fixture) createCode(c store.VerificationCode) store.VerificationCode {
	f.t.Helper()
	require.NoError(f.t, f.s.CreateCode(f.ctx, c), "CreateCode")
	return c
}

// requireCodeFresh asserts that c is its user's active code of its type at
// when, with no wrong attempt counted: CheckCode allowing a single attempt
// accepts it. A match spends nothing, so this changes nothing.
func (f *fixture) requireCodeFresh(c store.VerificationCode, when time.Time) {
	f.t.Helper()
	f.requireCodeAttempts(c, 0, when)
}

// requireCodeAttempts asserts that c is its user's active code at when
// with exactly n wrong attempts counted: refused when n attempts are
// allowed, accepted when n+1 are.
func (f *fixture) requireCodeAttempts(c store.VerificationCode, n int, when time.Time) {
	f.t.Helper()
	if n > 0 {
		err := f.s.CheckCode(f.ctx, c.UserID, c.Type, c.CodeHash, n, when)
		require.ErrorIs(f.t, err, store.ErrNotFound, "CheckCode with %d attempts allowed", n)
	}
	require.NoError(f.t, f.s.CheckCode(f.ctx, c.UserID, c.Type, c.CodeHash, n+1, when),
		"CheckCode of a code with %d wrong attempts", n)
}

// requireCodeGone asserts that c is not an active code at when (used,
// voided, expired or deleted): even its own digest is ErrNotFound.
func (f *fixture) requireCodeGone(c store.VerificationCode, when time.Time) {
	f.t.Helper()
	err := f.s.CheckCode(f.ctx, c.UserID, c.Type, c.CodeHash, 5, when)
	require.ErrorIs(f.t, err, store.ErrNotFound, "CheckCode of a code that must not be active")
}

// spend spends c with the method of its type at when: VerifyEmailWithCode,
// or ResetPasswordWithCode setting the hash "reset".
func (f *fixture) spend(c store.VerificationCode, when time.Time) {
	f.t.Helper()
	switch c.Type {
	case store.CodeEmailVerification:
		_, err := f.s.VerifyEmailWithCode(f.ctx, c.UserID, c.CodeHash, 5, when)
		require.NoError(f.t, err, "VerifyEmailWithCode")
	default:
		require.NoError(f.t, f.s.ResetPasswordWithCode(f.ctx, c.UserID, c.CodeHash, 5, hash("reset"), when),
			"ResetPasswordWithCode")
	}
	f.requireCodeGone(c, when)
}

// requireConflict asserts that err is a *store.ConflictError naming field.
func requireConflict(tb testing.TB, err error, field string) {
	tb.Helper()
	require.ErrorIs(tb, err, store.ErrConflict)
	var ce *store.ConflictError
	require.ErrorAs(tb, err, &ce)
	require.Equal(tb, field, ce.Field, "the key a ConflictError names")
}

// requireUTC asserts that every named time is in UTC.
func requireUTC(tb testing.TB, kind string, times map[string]time.Time) {
	tb.Helper()
	for name, t := range times {
		require.Same(tb, time.UTC, t.Location(), "%s.%s = %v is not in UTC", kind, name, t)
	}
}

// norm reduces t to what a store must keep: the instant at microsecond
// precision, without zone or monotonic reading.
func norm(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func requireUser(tb testing.TB, want, got store.User) {
	tb.Helper()
	requireUTC(tb, "User", map[string]time.Time{
		"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt,
		"LastLoginAt": got.LastLoginAt, "TokensValidAfter": got.TokensValidAfter,
	})
	n := func(u store.User) store.User {
		u.CreatedAt, u.UpdatedAt = norm(u.CreatedAt), norm(u.UpdatedAt)
		u.LastLoginAt, u.TokensValidAfter = norm(u.LastLoginAt), norm(u.TokensValidAfter)
		return u
	}
	require.Equal(tb, n(want), n(got), "user %s", want.Username)
}

func requireSessions(tb testing.TB, want, got []store.Session) {
	tb.Helper()
	require.Len(tb, got, len(want), "sessions: %+v", got)
	for i := range got {
		requireUTC(tb, fmt.Sprintf("Session[%d]", i), map[string]time.Time{
			"CreatedAt": got[i].CreatedAt, "LastUsedAt": got[i].LastUsedAt, "ExpiresAt": got[i].ExpiresAt,
		})
		w, g := want[i], got[i]
		w.CreatedAt, w.LastUsedAt, w.ExpiresAt = norm(w.CreatedAt), norm(w.LastUsedAt), norm(w.ExpiresAt)
		g.CreatedAt, g.LastUsedAt, g.ExpiresAt = norm(g.CreatedAt), norm(g.LastUsedAt), norm(g.ExpiresAt)
		require.Equal(tb, w, g, "session %d", i)
	}
}

// sessionOf is the session a family with first token first and newest token
// newest (as stored) must be listed as.
func sessionOf(first, newest store.RefreshToken) store.Session {
	return store.Session{
		ID:         newest.FamilyID,
		UserID:     newest.UserID,
		DeviceName: newest.DeviceName,
		DeviceType: newest.DeviceType,
		IPAddress:  newest.IPAddress,
		UserAgent:  newest.UserAgent,
		CreatedAt:  first.CreatedAt,
		LastUsedAt: newest.LastUsedAt,
		ExpiresAt:  newest.ExpiresAt,
	}
}

func requireTicket(tb testing.TB, want, got store.Ticket) {
	tb.Helper()
	requireUTC(tb, "Ticket", map[string]time.Time{"ExpiresAt": got.ExpiresAt, "CreatedAt": got.CreatedAt})
	require.True(tb, bytes.Equal(want.Data, got.Data), "ticket data: want %q, got %q", want.Data, got.Data)
	n := func(t store.Ticket) store.Ticket {
		t.ExpiresAt, t.CreatedAt, t.Data = norm(t.ExpiresAt), norm(t.CreatedAt), nil
		return t
	}
	require.Equal(tb, n(want), n(got), "ticket %s", want.Kind)
}
