package storetest

import (
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
// The suite covers every method of [store.Store] and every error it
// documents, time precision and zones, canceled contexts, the optional
// [store.Pinger] and [store.Cleaner] capabilities (skipped when the store
// lacks them), and the atomicity guarantees under real concurrency: the
// concurrency cases call one store from up to 50 goroutines at once.
// Subtests run one after another; Run never calls t.Parallel.
//
// Besides the documented errors, the suite expects an error (of any kind)
// from a write that would break the integrity of the data: a user, refresh
// token or code whose ID exists, a refresh token whose digest exists, and a
// refresh token or code of an unknown user. It expects that two codes may
// share a digest.
//
// Identifiers are UUID-shaped and digests are 64 hex characters, so a
// backend may use uuid and fixed-width columns. All times carry microseconds
// and are given in zones other than UTC; the suite expects them back in UTC
// (Location() == time.UTC) and equal at microsecond precision.
func Run(t *testing.T, newStore func(tb testing.TB) store.Store) {
	t.Helper()
	mk := func(t *testing.T) *fixture {
		t.Helper()
		s := newStore(t)
		require.NotNil(t, s, "newStore returned a nil store")
		return &fixture{t: t, s: s, ctx: t.Context()}
	}
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Users", userCases()},
		{"RefreshTokens", tokenCases()},
		{"Codes", codeCases()},
		{"Times", timeCases()},
		{"Context", contextCases()},
		{"Capabilities", capabilityCases()},
		{"Concurrency", concurrencyCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, mk) })
			}
		})
	}
}

// maker returns a fixture around a fresh, empty store.
type maker func(t *testing.T) *fixture

type testCase struct {
	name string
	fn   func(t *testing.T, mk maker)
}

// fixture is one fresh store and the shortcuts the cases share.
type fixture struct {
	t   *testing.T
	s   store.Store
	ctx context.Context
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

func familyID(u store.User, family string) string { return id("family", u.ID+"/"+family) }

func makeUser(name string) store.User {
	return store.User{
		ID:             id("user", name),
		Username:       name,
		Email:          name + "@example.com",
		HashedPassword: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$" + digest("password:" + name)[:43],
		IsActive:       true,
		CreatedAt:      at(0),
		UpdatedAt:      at(0),
	}
}

// makeToken returns the token labelled label, in family family of u, issued
// at created and valid for a day.
func makeToken(u store.User, family, label string, created time.Time) store.RefreshToken {
	return store.RefreshToken{
		ID:         id("token", label),
		UserID:     u.ID,
		TokenHash:  digest("token:" + label),
		FamilyID:   familyID(u, family),
		ExpiresAt:  created.Add(24 * time.Hour),
		DeviceName: "device " + family,
		DeviceType: "mobile",
		IPAddress:  "203.0.113.10",
		UserAgent:  "browser/" + label,
		CreatedAt:  created,
		LastUsedAt: created,
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

func (f *fixture) createToken(tok store.RefreshToken) store.RefreshToken {
	f.t.Helper()
	require.NoError(f.t, f.s.CreateRefreshToken(f.ctx, tok), "CreateRefreshToken")
	return tok
}

func (f *fixture) token(hash string) store.RefreshToken {
	f.t.Helper()
	tok, err := f.s.RefreshTokenByHash(f.ctx, hash)
	require.NoError(f.t, err, "RefreshTokenByHash")
	return tok
}

// rotate rotates old into next at when and returns the stored next: next
// with the old token's device.
func (f *fixture) rotate(old, next store.RefreshToken, when time.Time) store.RefreshToken {
	f.t.Helper()
	_, err := f.s.RotateRefreshToken(f.ctx, old.TokenHash, next, when)
	require.NoError(f.t, err, "RotateRefreshToken")
	next.DeviceName, next.DeviceType = old.DeviceName, old.DeviceType
	return next
}

func (f *fixture) createCode(c store.VerificationCode) store.VerificationCode {
	f.t.Helper()
	require.NoError(f.t, f.s.CreateCode(f.ctx, c), "CreateCode")
	return c
}

// consume consumes c with its own digest at when and checks the returned
// record: c, used, with attempts wrong guesses counted.
func (f *fixture) consume(c store.VerificationCode, attempts int, when time.Time) {
	f.t.Helper()
	got, err := f.s.ConsumeCode(f.ctx, c.UserID, c.Type, c.CodeHash, 5, when)
	require.NoError(f.t, err, "ConsumeCode")
	c.IsUsed, c.Attempts = true, attempts
	requireCode(f.t, c, got)
}

// requireAbsentToken asserts that no token has the digest.
func (f *fixture) requireAbsentToken(hash string) {
	f.t.Helper()
	_, err := f.s.RefreshTokenByHash(f.ctx, hash)
	require.ErrorIs(f.t, err, store.ErrNotFound, "RefreshTokenByHash of a token that must not exist")
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

func requireToken(tb testing.TB, want, got store.RefreshToken) {
	tb.Helper()
	requireUTC(tb, "RefreshToken", map[string]time.Time{
		"ExpiresAt": got.ExpiresAt, "CreatedAt": got.CreatedAt, "LastUsedAt": got.LastUsedAt,
	})
	n := func(t store.RefreshToken) store.RefreshToken {
		t.ExpiresAt, t.CreatedAt, t.LastUsedAt = norm(t.ExpiresAt), norm(t.CreatedAt), norm(t.LastUsedAt)
		return t
	}
	require.Equal(tb, n(want), n(got), "refresh token %s", want.ID)
}

func requireCode(tb testing.TB, want, got store.VerificationCode) {
	tb.Helper()
	requireUTC(tb, "VerificationCode", map[string]time.Time{
		"ExpiresAt": got.ExpiresAt, "CreatedAt": got.CreatedAt,
	})
	n := func(c store.VerificationCode) store.VerificationCode {
		c.ExpiresAt, c.CreatedAt = norm(c.ExpiresAt), norm(c.CreatedAt)
		return c
	}
	require.Equal(tb, n(want), n(got), "code %s", want.ID)
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
// newest must be listed as.
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
