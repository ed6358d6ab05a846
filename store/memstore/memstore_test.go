package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) store.Store { return memstore.New() })
}

func TestZeroValueConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) store.Store { return new(memstore.Store) })
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

// newStore returns a store holding the active user "alice" (hash "phc")
// with one session ("a1" in family "fam"), one verification code and one
// ticket.
func newStore(tb testing.TB) *memstore.Store {
	tb.Helper()
	s := memstore.New()
	ctx := tb.Context()
	require.NoError(tb, s.CreateUser(ctx, store.User{
		ID: "alice", Username: "alice", Email: "alice@example.com", HashedPassword: "phc", IsActive: true,
	}))
	require.NoError(tb, s.CreateSession(ctx, token("a1"), "phc"))
	require.NoError(tb, s.CreateCode(ctx, store.VerificationCode{
		ID: "c1", UserID: "alice", CodeHash: "hash-c1", Type: store.CodeEmailVerification,
		ExpiresAt: base.Add(time.Hour), CreatedAt: base,
	}))
	require.NoError(tb, s.PutTicket(ctx, ticket()))
	return s
}

func token(name string) store.RefreshToken {
	return store.RefreshToken{
		ID: name, UserID: "alice", TokenHash: "hash-" + name, FamilyID: "fam",
		ExpiresAt: base.Add(24 * time.Hour), SessionExpiresAt: base.Add(7 * 24 * time.Hour),
		CreatedAt: base, LastUsedAt: base,
	}
}

func ticket() store.Ticket {
	return store.Ticket{
		Kind: "mfa", Digest: "hash-t1", UserID: "alice", Data: []byte("state"),
		ExpiresAt: base.Add(time.Hour), CreatedAt: base,
	}
}

func TestMissingFields(t *testing.T) {
	tests := []struct {
		name string
		call func(ctx context.Context, s *memstore.Store) error
	}{
		{"user without ID", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateUser(ctx, store.User{Username: "bob", Email: "bob@example.com"})
		}},
		{"replacement without ID", func(ctx context.Context, s *memstore.Store) error {
			return s.ReplaceUnverifiedUser(ctx, store.User{Username: "bob", Email: "alice@example.com"})
		}},
	}
	for _, field := range []struct {
		name  string
		clear func(t *store.RefreshToken)
	}{
		{"ID", func(t *store.RefreshToken) { t.ID = "" }},
		{"UserID", func(t *store.RefreshToken) { t.UserID = "" }},
		{"TokenHash", func(t *store.RefreshToken) { t.TokenHash = "" }},
		{"FamilyID", func(t *store.RefreshToken) { t.FamilyID = "" }},
		{"ExpiresAt", func(t *store.RefreshToken) { t.ExpiresAt = time.Time{} }},
		{"SessionExpiresAt", func(t *store.RefreshToken) { t.SessionExpiresAt = time.Time{} }},
	} {
		tests = append(tests, struct {
			name string
			call func(ctx context.Context, s *memstore.Store) error
		}{"session without " + field.name, func(ctx context.Context, s *memstore.Store) error {
			tok := token("t")
			tok.FamilyID = "other"
			field.clear(&tok)
			return s.CreateSession(ctx, tok, "phc")
		}})
	}
	for _, field := range []struct {
		name  string
		clear func(t *store.RefreshToken)
	}{
		{"ID", func(t *store.RefreshToken) { t.ID = "" }},
		{"TokenHash", func(t *store.RefreshToken) { t.TokenHash = "" }},
		{"ExpiresAt", func(t *store.RefreshToken) { t.ExpiresAt = time.Time{} }},
	} {
		tests = append(tests, struct {
			name string
			call func(ctx context.Context, s *memstore.Store) error
		}{"rotation to a token without " + field.name, func(ctx context.Context, s *memstore.Store) error {
			next := token("t")
			field.clear(&next)
			return s.RotateRefreshToken(ctx, "hash-a1", next, base)
		}})
	}
	tests = append(tests, []struct {
		name string
		call func(ctx context.Context, s *memstore.Store) error
	}{
		{"code without ID", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{UserID: "alice", CodeHash: "h", Type: store.CodeEmailVerification})
		}},
		{"code without user", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{ID: "c2", CodeHash: "h", Type: store.CodeEmailVerification})
		}},
		{"code without digest", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{ID: "c2", UserID: "alice", Type: store.CodeEmailVerification})
		}},
		{"code without type", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{ID: "c2", UserID: "alice", CodeHash: "h"})
		}},
		{"ticket without kind", func(ctx context.Context, s *memstore.Store) error {
			tk := ticket()
			tk.Kind, tk.Digest = "", "hash-t2"
			return s.PutTicket(ctx, tk)
		}},
		{"ticket without digest", func(ctx context.Context, s *memstore.Store) error {
			tk := ticket()
			tk.Digest = ""
			return s.PutTicket(ctx, tk)
		}},
		{"ticket without expiry", func(ctx context.Context, s *memstore.Store) error {
			tk := ticket()
			tk.Digest, tk.ExpiresAt = "hash-t2", time.Time{}
			return s.PutTicket(ctx, tk)
		}},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			before, err := s.UserByID(ctx, "alice")
			require.NoError(t, err)

			err = tt.call(ctx, s)
			require.ErrorIs(t, err, memstore.ErrMissingField)
			assert.NotErrorIs(t, err, store.ErrConflict)

			// Nothing changed: alice is as she was, c1 unused with no
			// attempt, t1 and a1 there to take and rotate, nothing else.
			after, err := s.UserByID(ctx, "alice")
			require.NoError(t, err)
			assert.Equal(t, before, after)
			sessions, err := s.Sessions(ctx, "alice", base)
			require.NoError(t, err)
			assert.Len(t, sessions, 1)
			require.NoError(t, s.CheckCode(ctx, "alice", store.CodeEmailVerification, "hash-c1", 1, base))
			_, err = s.TakeTicket(ctx, "mfa", "hash-t1", base)
			require.NoError(t, err)
			_, err = s.TakeTicket(ctx, "mfa", "hash-t2", base)
			require.ErrorIs(t, err, store.ErrNotFound)
			require.NoError(t, s.RotateRefreshToken(ctx, "hash-a1", token("a2"), base))
		})
	}
}

// TestStoredUnrevoked: a session's first token and a rotation's next token
// start unrevoked, whatever the caller set.
func TestStoredUnrevoked(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	b1 := token("b1")
	b1.FamilyID, b1.IsRevoked, b1.ReplacedBy = "fam-b", true, "x"
	require.NoError(t, s.CreateSession(ctx, b1, "phc"))
	next := token("a2")
	next.IsRevoked, next.ReplacedBy = true, "x"
	require.NoError(t, s.RotateRefreshToken(ctx, "hash-a1", next, base))

	sessions, err := s.Sessions(ctx, "alice", base)
	require.NoError(t, err)
	assert.Len(t, sessions, 2)
	require.NoError(t, s.RotateRefreshToken(ctx, "hash-b1", store.RefreshToken{
		ID: "b2", UserID: "alice", FamilyID: "fam-b", TokenHash: "hash-b2", ExpiresAt: base.Add(time.Hour),
	}, base))
	require.NoError(t, s.RotateRefreshToken(ctx, "hash-a2", token("a3"), base))
}

func TestErrorMessages(t *testing.T) {
	s := newStore(t)
	tok := token("t")
	tok.FamilyID, tok.TokenHash = "other", "hash-a1"
	err := s.CreateSession(t.Context(), tok, "phc")
	require.ErrorIs(t, err, store.ErrConflict)
	assert.Equal(t, "store: token already exists", err.Error())
	assert.NotContains(t, err.Error(), "hash-a1", "an error must not carry a digest")

	err = s.CreateCode(t.Context(), store.VerificationCode{UserID: "alice", CodeHash: "hash-c9", Type: store.CodePasswordReset})
	assert.Equal(t, "memstore: required field is empty: VerificationCode.ID", err.Error())

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = s.Ping(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "memstore: context canceled", err.Error())
}

func TestTimesTruncatedToMicrosecondsInUTC(t *testing.T) {
	s := memstore.New()
	ctx := t.Context()
	zone := time.FixedZone("UTC-03", -3*3600)
	in := base.Add(789 * time.Nanosecond).In(zone)
	require.NoError(t, s.CreateUser(ctx, store.User{ID: "u", Username: "u", Email: "u@example.com", CreatedAt: in}))
	require.NoError(t, s.RecordLogin(ctx, "u", in))
	u, err := s.UserByID(ctx, "u")
	require.NoError(t, err)
	for name, got := range map[string]time.Time{"CreatedAt": u.CreatedAt, "LastLoginAt": u.LastLoginAt} {
		assert.Equal(t, base, got, name) // same instant, zone and no monotonic reading
		assert.Same(t, time.UTC, got.Location(), name)
	}
	assert.True(t, u.UpdatedAt.IsZero())

	require.NoError(t, s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "d", ExpiresAt: in.Add(time.Hour), CreatedAt: in}))
	tk, err := s.TakeTicket(ctx, "k", "d", in)
	require.NoError(t, err)
	assert.Equal(t, base, tk.CreatedAt)
	assert.Equal(t, base.Add(time.Hour), tk.ExpiresAt)
}

func TestRecordsAreCopies(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	sessions, err := s.Sessions(ctx, "alice", base)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	sessions[0].ID = "changed"
	again, err := s.Sessions(ctx, "alice", base)
	require.NoError(t, err)
	assert.Equal(t, "fam", again[0].ID)

	u, err := s.UserByID(ctx, "alice")
	require.NoError(t, err)
	u.Username = "changed"
	u, err = s.UserByUsername(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, "alice", u.Username)

	// A ticket's data is copied on the way in and out.
	data := []byte("before")
	require.NoError(t, s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "d", Data: data, ExpiresAt: base.Add(time.Hour)}))
	copy(data, "AFTER!")
	tk, err := s.TakeTicket(ctx, "k", "d", base)
	require.NoError(t, err)
	assert.Equal(t, "before", string(tk.Data))
}

// TestDeleteExpiredDropsEmptyIndexes: after everything of a user expired
// and was deleted, the user's sessions, codes and tickets start from
// nothing again.
func TestDeleteExpiredDropsEmptyIndexes(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	n, err := s.DeleteExpired(ctx, base.Add(100*time.Hour), time.Time{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, n, "a token, a code and a ticket")
	sessions, err := s.Sessions(ctx, "alice", base)
	require.NoError(t, err)
	assert.Empty(t, sessions)
	err = s.CheckCode(ctx, "alice", store.CodeEmailVerification, "hash-c1", 5, base)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.TakeTicket(ctx, "mfa", "hash-t1", base)
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.CreateSession(ctx, token("a9"), "phc"))
	sessions, err = s.Sessions(ctx, "alice", base)
	require.NoError(t, err)
	assert.Len(t, sessions, 1)
	require.NoError(t, s.PutTicket(ctx, ticket()))
	require.NoError(t, s.DeleteUser(ctx, "alice"))
	_, err = s.TakeTicket(ctx, "mfa", "hash-t1", base)
	require.ErrorIs(t, err, store.ErrNotFound, "the ticket of a deleted user")
}

// TestPasskeyMissingFields: a passkey without the fields that identify it,
// an empty user handle, or a sign-up whose passkey names another user is
// refused with ErrMissingField, and changes nothing.
func TestPasskeyMissingFields(t *testing.T) {
	passkey := func(f func(p *store.Passkey)) store.Passkey {
		p := store.Passkey{ID: "p1", UserID: "alice", CredentialID: []byte{0, 1}, PublicKey: []byte{2, 3}}
		f(&p)
		return p
	}
	bob := store.User{ID: "bob", Username: "bob", Email: "bob@example.com"}
	tests := []struct {
		name string
		call func(ctx context.Context, s *memstore.Store) error
	}{
		{"passkey without ID", func(ctx context.Context, s *memstore.Store) error {
			return s.CreatePasskey(ctx, passkey(func(p *store.Passkey) { p.ID = "" }))
		}},
		{"passkey without user", func(ctx context.Context, s *memstore.Store) error {
			return s.CreatePasskey(ctx, passkey(func(p *store.Passkey) { p.UserID = "" }))
		}},
		{"passkey without credential id", func(ctx context.Context, s *memstore.Store) error {
			return s.CreatePasskey(ctx, passkey(func(p *store.Passkey) { p.CredentialID = nil }))
		}},
		{"passkey without public key", func(ctx context.Context, s *memstore.Store) error {
			return s.CreatePasskey(ctx, passkey(func(p *store.Passkey) { p.PublicKey = []byte{} }))
		}},
		{"empty handle", func(ctx context.Context, s *memstore.Store) error {
			_, err := s.UserHandle(ctx, "alice", nil)
			return err
		}},
		{"sign-up without handle", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateUserWithPasskey(ctx, bob, nil, passkey(func(p *store.Passkey) { p.UserID = "bob" }), false)
		}},
		{"sign-up without user ID", func(ctx context.Context, s *memstore.Store) error {
			u := bob
			u.ID = ""
			return s.CreateUserWithPasskey(ctx, u, []byte{1}, passkey(func(p *store.Passkey) { p.UserID = "bob" }), false)
		}},
		{"sign-up without credential id", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateUserWithPasskey(ctx, bob, []byte{1}, passkey(func(p *store.Passkey) { p.UserID, p.CredentialID = "bob", nil }), false)
		}},
		{"sign-up with another user's passkey", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateUserWithPasskey(ctx, bob, []byte{1}, passkey(func(*store.Passkey) {}), false)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			err := tt.call(ctx, s)
			require.ErrorIs(t, err, memstore.ErrMissingField)
			assert.NotErrorIs(t, err, store.ErrConflict)

			_, err = s.UserByID(ctx, "bob")
			require.ErrorIs(t, err, store.ErrNotFound)
			list, err := s.Passkeys(ctx, "alice")
			require.NoError(t, err)
			assert.Empty(t, list)
			_, err = s.PasskeyByCredentialID(ctx, []byte{0, 1})
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.UserByHandle(ctx, []byte{1})
			require.ErrorIs(t, err, store.ErrNotFound)
			h, err := s.UserHandle(ctx, "alice", []byte{9})
			require.NoError(t, err)
			assert.Equal(t, []byte{9}, h, "alice had no handle yet")
		})
	}
}
