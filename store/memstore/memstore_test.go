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

// newStore returns a store holding the user "alice" with one refresh token
// ("a1" in family "fam") and one verification code.
func newStore(tb testing.TB) *memstore.Store {
	tb.Helper()
	s := memstore.New()
	ctx := tb.Context()
	require.NoError(tb, s.CreateUser(ctx, store.User{ID: "alice", Username: "alice", Email: "alice@example.com"}))
	require.NoError(tb, s.CreateRefreshToken(ctx, token("a1")))
	require.NoError(tb, s.CreateCode(ctx, store.VerificationCode{
		ID: "c1", UserID: "alice", CodeHash: "hash-c1", Type: store.CodeEmailVerification,
		ExpiresAt: base.Add(time.Hour), CreatedAt: base,
	}))
	return s
}

func token(name string) store.RefreshToken {
	return store.RefreshToken{
		ID: name, UserID: "alice", TokenHash: "hash-" + name, FamilyID: "fam",
		ExpiresAt: base.Add(24 * time.Hour), CreatedAt: base, LastUsedAt: base,
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		call    func(ctx context.Context, s *memstore.Store) error
		wantErr error
	}{
		{"user without ID", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateUser(ctx, store.User{Username: "bob", Email: "bob@example.com"})
		}, memstore.ErrMissingField},
		{"user with a taken ID", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateUser(ctx, store.User{ID: "alice", Username: "bob", Email: "bob@example.com"})
		}, memstore.ErrDuplicateKey},
		{"token without ID", func(ctx context.Context, s *memstore.Store) error {
			tok := token("t")
			tok.ID = ""
			return s.CreateRefreshToken(ctx, tok)
		}, memstore.ErrMissingField},
		{"token without user", func(ctx context.Context, s *memstore.Store) error {
			tok := token("t")
			tok.UserID = ""
			return s.CreateRefreshToken(ctx, tok)
		}, memstore.ErrMissingField},
		{"token without digest", func(ctx context.Context, s *memstore.Store) error {
			tok := token("t")
			tok.TokenHash = ""
			return s.CreateRefreshToken(ctx, tok)
		}, memstore.ErrMissingField},
		{"token without family", func(ctx context.Context, s *memstore.Store) error {
			tok := token("t")
			tok.FamilyID = ""
			return s.CreateRefreshToken(ctx, tok)
		}, memstore.ErrMissingField},
		{"token of an unknown user", func(ctx context.Context, s *memstore.Store) error {
			tok := token("t")
			tok.UserID = "nobody"
			return s.CreateRefreshToken(ctx, tok)
		}, store.ErrNotFound},
		{"token with a taken ID", func(ctx context.Context, s *memstore.Store) error {
			tok := token("t")
			tok.ID = "a1"
			return s.CreateRefreshToken(ctx, tok)
		}, memstore.ErrDuplicateKey},
		{"token with a taken digest", func(ctx context.Context, s *memstore.Store) error {
			tok := token("t")
			tok.TokenHash = "hash-a1"
			return s.CreateRefreshToken(ctx, tok)
		}, memstore.ErrDuplicateKey},
		{"rotation to a token without ID", func(ctx context.Context, s *memstore.Store) error {
			next := token("t")
			next.ID = ""
			_, err := s.RotateRefreshToken(ctx, "hash-a1", next, base)
			return err
		}, memstore.ErrMissingField},
		{"rotation to a token without digest", func(ctx context.Context, s *memstore.Store) error {
			next := token("t")
			next.TokenHash = ""
			_, err := s.RotateRefreshToken(ctx, "hash-a1", next, base)
			return err
		}, memstore.ErrMissingField},
		{"rotation to a taken ID", func(ctx context.Context, s *memstore.Store) error {
			_, err := s.RotateRefreshToken(ctx, "hash-a1", token("a1"), base)
			return err
		}, memstore.ErrDuplicateKey},
		{"code without ID", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{UserID: "alice", CodeHash: "h", Type: store.CodePasswordReset})
		}, memstore.ErrMissingField},
		{"code without user", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{ID: "c2", CodeHash: "h", Type: store.CodePasswordReset})
		}, memstore.ErrMissingField},
		{"code without digest", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{ID: "c2", UserID: "alice", Type: store.CodePasswordReset})
		}, memstore.ErrMissingField},
		{"code without type", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{ID: "c2", UserID: "alice", CodeHash: "h"})
		}, memstore.ErrMissingField},
		{"code of an unknown user", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{ID: "c2", UserID: "nobody", CodeHash: "h", Type: store.CodePasswordReset})
		}, store.ErrNotFound},
		{"code with a taken ID", func(ctx context.Context, s *memstore.Store) error {
			return s.CreateCode(ctx, store.VerificationCode{ID: "c1", UserID: "alice", CodeHash: "h", Type: store.CodeEmailVerification})
		}, memstore.ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			err := tt.call(ctx, s)
			require.ErrorIs(t, err, tt.wantErr)
			assert.NotErrorIs(t, err, store.ErrConflict)

			// Nothing changed: a1 rotates and c1 is consumed as if nothing happened.
			_, err = s.RotateRefreshToken(ctx, "hash-a1", token("a2"), base)
			require.NoError(t, err)
			c, err := s.ConsumeCode(ctx, "alice", store.CodeEmailVerification, "hash-c1", 5, base)
			require.NoError(t, err)
			assert.Zero(t, c.Attempts)
		})
	}
}

func TestErrorMessages(t *testing.T) {
	s := newStore(t)
	tok := token("t")
	tok.TokenHash = "hash-a1"
	err := s.CreateRefreshToken(t.Context(), tok)
	require.ErrorIs(t, err, memstore.ErrDuplicateKey)
	assert.Equal(t, "memstore: duplicate key: RefreshToken.TokenHash", err.Error())
	assert.NotContains(t, err.Error(), "hash-a1", "an error must not carry a digest")

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
}

func TestDeleteExpiredDropsEmptyIndexes(t *testing.T) {
	// After everything of a user expired and was deleted, the user's
	// sessions and codes start from nothing again.
	s := newStore(t)
	ctx := t.Context()
	n, err := s.DeleteExpired(ctx, base.Add(100*time.Hour))
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)
	sessions, err := s.Sessions(ctx, "alice", base)
	require.NoError(t, err)
	assert.Empty(t, sessions)
	_, err = s.ConsumeCode(ctx, "alice", store.CodeEmailVerification, "hash-c1", 5, base)
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.CreateRefreshToken(ctx, token("a9")))
	sessions, err = s.Sessions(ctx, "alice", base)
	require.NoError(t, err)
	assert.Len(t, sessions, 1)
}
