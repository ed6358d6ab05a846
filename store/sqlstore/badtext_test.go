package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// The two kinds of text PostgreSQL refuses: a NUL byte, invalid UTF-8.
var badTexts = map[string]string{"NUL": "al\x00ice", "invalid UTF-8": "al\xffice"}

// TestBadText checks that text the database cannot store is refused the
// same way on both dialects, before any statement: writes with
// store.ErrInvalidInput, look-ups with store.ErrNotFound (or, for a session
// id, store.ErrSessionEnded), never a wrapped driver error, and nothing
// changes.
func TestBadText(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			a1 := token(alice, "A", "a1")
			startSession(t, s, alice, a1)
			c1 := code(alice, "c1")
			require.NoError(t, s.CreateCode(ctx, c1))

			for kind, bad := range badTexts {
				withUser := func(f func(u *store.User)) store.User {
					u := user("bob")
					f(&u)
					return u
				}
				withToken := func(f func(t *store.RefreshToken)) store.RefreshToken {
					tk := token(alice, "N", "n1")
					f(&tk)
					return tk
				}
				next := func(f func(t *store.RefreshToken)) store.RefreshToken {
					tk := token(alice, "A", "a2")
					f(&tk)
					return tk
				}
				lookup := func(_ store.User, err error) error { return err }
				cases := []struct {
					name string
					err  error
					want error
				}{
					{"CreateUser username", s.CreateUser(ctx, withUser(func(u *store.User) { u.Username = bad })), store.ErrInvalidInput},
					{"CreateUser email", s.CreateUser(ctx, withUser(func(u *store.User) { u.Email = bad + "@example.com" })), store.ErrInvalidInput},
					{"CreateUser hash", s.CreateUser(ctx, withUser(func(u *store.User) { u.HashedPassword = bad })), store.ErrInvalidInput},
					{"CreateUser id", s.CreateUser(ctx, withUser(func(u *store.User) { u.ID = bad })), store.ErrInvalidInput},
					{"ReplaceUnverifiedUser username", s.ReplaceUnverifiedUser(ctx, withUser(func(u *store.User) { u.Username = bad })), store.ErrInvalidInput},
					{"ReplaceUnverifiedUser email", s.ReplaceUnverifiedUser(ctx, withUser(func(u *store.User) { u.Email = bad })), store.ErrInvalidInput},
					{"UserByUsername", lookup(s.UserByUsername(ctx, bad)), store.ErrNotFound},
					{"UserByEmail", lookup(s.UserByEmail(ctx, bad+"@example.com")), store.ErrNotFound},
					{"UserByID", lookup(s.UserByID(ctx, bad)), store.ErrNotFound},
					{"UserWithSession user", lookup(s.UserWithSession(ctx, bad, a1.FamilyID, t0)), store.ErrNotFound},
					{"UserWithSession session", lookup(s.UserWithSession(ctx, alice.ID, bad, t0)), store.ErrSessionEnded},
					{"RecordLogin", s.RecordLogin(ctx, bad, t0), store.ErrNotFound},
					{"ReplacePasswordHash new", s.ReplacePasswordHash(ctx, alice.ID, alice.HashedPassword, bad), store.ErrInvalidInput},
					{"ReplacePasswordHash old", s.ReplacePasswordHash(ctx, alice.ID, bad, "h2"), store.ErrStale},
					{"ReplacePasswordHash user", s.ReplacePasswordHash(ctx, bad, alice.HashedPassword, "h2"), store.ErrNotFound},
					{"SetPassword new", s.SetPassword(ctx, alice.ID, alice.HashedPassword, bad, t0, ""), store.ErrInvalidInput},
					{"SetPassword old", s.SetPassword(ctx, alice.ID, bad, "h2", t0, ""), store.ErrStale},
					{"SetPassword user", s.SetPassword(ctx, bad, alice.HashedPassword, "h2", t0, ""), store.ErrNotFound},
					{"SetActive", s.SetActive(ctx, bad, false, t0), store.ErrNotFound},
					{"DeleteUser", s.DeleteUser(ctx, bad), store.ErrNotFound},
					{"CreateSession device name", s.CreateSession(ctx, withToken(func(t *store.RefreshToken) { t.DeviceName = bad }), alice.HashedPassword), store.ErrInvalidInput},
					{"CreateSession device type", s.CreateSession(ctx, withToken(func(t *store.RefreshToken) { t.DeviceType = bad }), alice.HashedPassword), store.ErrInvalidInput},
					{"CreateSession ip", s.CreateSession(ctx, withToken(func(t *store.RefreshToken) { t.IPAddress = bad }), alice.HashedPassword), store.ErrInvalidInput},
					{"CreateSession user agent", s.CreateSession(ctx, withToken(func(t *store.RefreshToken) { t.UserAgent = bad }), alice.HashedPassword), store.ErrInvalidInput},
					{"CreateSession user", s.CreateSession(ctx, withToken(func(t *store.RefreshToken) { t.UserID = bad }), alice.HashedPassword), store.ErrNotFound},
					{"CreateSession hash", s.CreateSession(ctx, withToken(func(*store.RefreshToken) {}), bad), store.ErrStale},
					{"Rotate old digest", s.RotateRefreshToken(ctx, bad, next(func(*store.RefreshToken) {}), t0), store.ErrNotFound},
					{"Rotate ip", s.RotateRefreshToken(ctx, a1.TokenHash, next(func(t *store.RefreshToken) { t.IPAddress = bad }), t0), store.ErrInvalidInput},
					{"Rotate user agent", s.RotateRefreshToken(ctx, a1.TokenHash, next(func(t *store.RefreshToken) { t.UserAgent = bad }), t0), store.ErrInvalidInput},
					{"Rotate family", s.RotateRefreshToken(ctx, a1.TokenHash, next(func(t *store.RefreshToken) { t.FamilyID = bad }), t0), store.ErrNotFound},
					{"RevokeFamily", s.RevokeFamily(ctx, alice.ID, bad, t0), store.ErrNotFound},
					{"RevokeAllSessions", s.RevokeAllSessions(ctx, bad, t0), store.ErrNotFound},
					{"CreateCode digest", s.CreateCode(ctx, store.VerificationCode{ID: "c9", UserID: alice.ID, CodeHash: bad, Type: store.CodePasswordReset}), store.ErrInvalidInput},
					{"CreateCode user", s.CreateCode(ctx, store.VerificationCode{ID: "c9", UserID: bad, CodeHash: "x", Type: store.CodePasswordReset}), store.ErrNotFound},
					{"CheckCode user", s.CheckCode(ctx, bad, c1.Type, c1.CodeHash, 5, t0), store.ErrNotFound},
					{"CheckCode digest", s.CheckCode(ctx, alice.ID, c1.Type, bad, 5, t0), store.ErrCodeMismatch},
					{"VerifyEmailWithCode", lookup(s.VerifyEmailWithCode(ctx, bad, c1.CodeHash, 5, t0)), store.ErrNotFound},
					{"ResetPasswordWithCode hash", s.ResetPasswordWithCode(ctx, alice.ID, c1.CodeHash, 5, bad, t0), store.ErrInvalidInput},
					{"PutTicket kind", s.PutTicket(ctx, store.Ticket{Kind: bad, Digest: "d", ExpiresAt: t0}), store.ErrInvalidInput},
					{"PutTicket digest", s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: bad, ExpiresAt: t0}), store.ErrInvalidInput},
					{"PutTicket user", s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "d", UserID: bad, ExpiresAt: t0}), store.ErrInvalidInput},
					{"TakeTicket", func() error { _, err := s.TakeTicket(ctx, "k", bad, t0); return err }(), store.ErrNotFound},
				}
				for _, tc := range cases {
					t.Run(kind+"/"+tc.name, func(t *testing.T) {
						require.ErrorIs(t, tc.err, tc.want)
						assert.Same(t, tc.want, tc.err, "the sentinel itself, no driver error behind it")
					})
				}
				sessions, err := s.Sessions(ctx, bad, t0)
				require.NoError(t, err)
				assert.Empty(t, sessions)
			}

			// Nothing changed: one user with the old hash, its one active
			// token, the code unspent with one counted attempt per wrong
			// digest.
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM users`))
			u, err := s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, alice.HashedPassword, u.HashedPassword)
			assert.True(t, u.IsActive)
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM refresh_tokens WHERE NOT is_revoked`))
			assert.Equal(t, len(badTexts), count(t, db, `SELECT attempts FROM verification_codes WHERE NOT is_used`))
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM tickets`))
		})
	}
}

// TestInvalidTextClassified sends text PostgreSQL refuses straight to the
// server, past the store's own checks, and checks how the store's error
// mapping classifies the answer: invalid input, never unavailable.
func TestInvalidTextClassified(t *testing.T) {
	db := openPostgres(t, postgresURL(t), 1)
	s := newStore(t, db, sqlstore.Postgres, false)
	ctx := context.Background()
	for kind, bad := range badTexts {
		var v string
		err := db.QueryRowContext(ctx, `SELECT $1::text`, bad).Scan(&v)
		require.Error(t, err, kind)
		assert.Contains(t, err.Error(), "22021", "the server's own answer to %s", kind)
		werr := s.Wrap(ctx, "test", err)
		assert.ErrorIs(t, werr, store.ErrInvalidInput, "%s: %v", kind, err)
		assert.False(t, errors.Is(werr, store.ErrUnavailable), kind)
	}
	for _, code := range []string{"22021", "22P05"} {
		werr := s.Wrap(ctx, "test", fakePgError(code))
		assert.ErrorIs(t, werr, store.ErrInvalidInput, code)
		assert.False(t, errors.Is(werr, store.ErrUnavailable), code)
		assert.False(t, errors.Is(werr, sqlstore.ErrNotMigrated), code)
	}
	assert.ErrorIs(t, s.Wrap(ctx, "test", fakePgError("42703")), sqlstore.ErrNotMigrated, "undefined column")
	assert.ErrorIs(t, s.Wrap(ctx, "test", fakePgError("57P01")), store.ErrUnavailable)
}

// fakePgError is an error with a PostgreSQL SQLSTATE, as pgconn.PgError.
type fakePgError string

func (e fakePgError) Error() string    { return "ERROR: fake (SQLSTATE " + string(e) + ")" }
func (e fakePgError) SQLState() string { return string(e) }
