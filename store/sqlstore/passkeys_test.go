package sqlstore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

func passkey(u store.User, label string) store.Passkey {
	return store.Passkey{
		ID:                "passkey-" + label,
		UserID:            u.ID,
		CredentialID:      []byte("\x00cred\xff" + label),
		PublicKey:         []byte("\xa5key" + label),
		AAGUID:            make([]byte, 16),
		Transports:        []string{"hybrid", "internal"},
		AttestationType:   "none",
		AttestationFormat: "none",
		Name:              "key " + label,
		CreatedAt:         t0,
	}
}

// TestPasskeyColumns checks how a passkey is laid out in the database:
// transports as a JSON array in the given order, an absent AAGUID as an
// empty value rather than NULL, the counter's whole range, and a zero
// LastUsedAt as NULL, like a user's last_login_at.
func TestPasskeyColumns(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			p := passkey(alice, "a1")
			p.AAGUID, p.SignCount = nil, 1<<32-1
			require.NoError(t, s.CreatePasskey(ctx, p))

			var transports string
			var aaguid []byte
			var lastUsed any
			var signCount int64
			require.NoError(t, db.QueryRow(`SELECT transports, aaguid, last_used_at, sign_count FROM passkeys WHERE id = $1`, p.ID).
				Scan(&transports, &aaguid, &lastUsed, &signCount))
			assert.Equal(t, `["hybrid","internal"]`, transports)
			assert.Empty(t, aaguid)
			assert.Nil(t, lastUsed, "never used")
			assert.Equal(t, int64(1<<32-1), signCount)

			got, err := s.PasskeyByCredentialID(ctx, p.CredentialID)
			require.NoError(t, err)
			assert.Equal(t, uint32(1<<32-1), got.SignCount)
			assert.Empty(t, got.AAGUID)
			assert.True(t, got.LastUsedAt.IsZero())

			// A user handle's row carries the database's clock.
			_, err = s.UserHandle(ctx, alice.ID, []byte{1, 2, 3})
			require.NoError(t, err)
			var created any
			require.NoError(t, db.QueryRow(`SELECT created_at FROM webauthn_users WHERE user_id = $1`, alice.ID).Scan(&created))
			assert.WithinDuration(t, time.Now(), asTime(t, created), time.Minute)
		})
	}
}

// TestPasskeyErrors covers the errors of this package's own: a missing
// handle, a sign-up whose passkey names another user, and a transports
// column the store did not write. Each is refused before any statement
// (or, for the column, reported without its text) and changes nothing.
func TestPasskeyErrors(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			bob := user("bob")
			bob.HashedPassword = ""

			_, err := s.UserHandle(ctx, alice.ID, nil)
			requirePlainError(t, err, "handle")
			err = s.CreateUserWithPasskey(ctx, bob, []byte{}, passkey(bob, "b1"), false)
			requirePlainError(t, err, "handle")
			err = s.CreateUserWithPasskey(ctx, bob, []byte{1}, passkey(alice, "b1"), true)
			requirePlainError(t, err, "another user")
			_, err = s.UserByID(ctx, bob.ID)
			require.ErrorIs(t, err, store.ErrNotFound)
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM passkeys`))
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM webauthn_users`))

			p := passkey(alice, "a1")
			require.NoError(t, s.CreatePasskey(ctx, p))
			_, err = db.ExecContext(ctx, `UPDATE passkeys SET transports = 'usb,secret' WHERE id = $1`, p.ID)
			require.NoError(t, err)
			_, err = s.Passkeys(ctx, alice.ID)
			requirePlainError(t, err, "transports")
			assertNoSecret(t, err, "secret")
			_, err = s.PasskeyByCredentialID(ctx, p.CredentialID)
			requirePlainError(t, err, "transports")
			_, err = s.RenamePasskey(ctx, alice.ID, p.ID, "x")
			requirePlainError(t, err, "transports")
		})
	}
}

// requirePlainError asserts that err is this package's own error, none of
// package store's sentinels, and that its message mentions about.
func requirePlainError(tb testing.TB, err error, about string) {
	tb.Helper()
	require.Error(tb, err)
	for _, sentinel := range []error{store.ErrNotFound, store.ErrConflict, store.ErrInvalidInput, store.ErrStale, store.ErrUnavailable} {
		assert.NotErrorIs(tb, err, sentinel)
	}
	assert.True(tb, strings.HasPrefix(err.Error(), "sqlstore: "), err.Error())
	assert.Contains(tb, err.Error(), about)
}

// TestPasskeyBadText checks that the passkey methods refuse text the
// database cannot store as the others do (TestBadText): before any
// statement, with the sentinel itself.
func TestPasskeyBadText(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			a1 := passkey(alice, "a1")
			require.NoError(t, s.CreatePasskey(ctx, a1))
			for kind, bad := range badTexts {
				with := func(f func(p *store.Passkey)) store.Passkey {
					p := passkey(alice, "n1")
					f(&p)
					return p
				}
				bob := user("bob")
				cases := []struct {
					name string
					err  error
					want error
				}{
					{"CreatePasskey id", s.CreatePasskey(ctx, with(func(p *store.Passkey) { p.ID = bad })), store.ErrInvalidInput},
					{"CreatePasskey user", s.CreatePasskey(ctx, with(func(p *store.Passkey) { p.UserID = bad })), store.ErrInvalidInput},
					{"CreatePasskey name", s.CreatePasskey(ctx, with(func(p *store.Passkey) { p.Name = bad })), store.ErrInvalidInput},
					{"CreatePasskey transport", s.CreatePasskey(ctx, with(func(p *store.Passkey) { p.Transports = []string{bad} })), store.ErrInvalidInput},
					{"CreatePasskey attestation type", s.CreatePasskey(ctx, with(func(p *store.Passkey) { p.AttestationType = bad })), store.ErrInvalidInput},
					{"CreatePasskey attestation format", s.CreatePasskey(ctx, with(func(p *store.Passkey) { p.AttestationFormat = bad })), store.ErrInvalidInput},
					{"CreateUserWithPasskey user", s.CreateUserWithPasskey(ctx, func() store.User { u := bob; u.Username = bad; return u }(),
						[]byte{1}, with(func(p *store.Passkey) { p.UserID = bob.ID }), false), store.ErrInvalidInput},
					{"CreateUserWithPasskey passkey", s.CreateUserWithPasskey(ctx, bob,
						[]byte{1}, with(func(p *store.Passkey) { p.UserID, p.Name = bob.ID, bad }), false), store.ErrInvalidInput},
					{"UserHandle", func() error { _, err := s.UserHandle(ctx, bad, []byte{1}); return err }(), store.ErrNotFound},
					{"RenamePasskey name", func() error { _, err := s.RenamePasskey(ctx, alice.ID, a1.ID, bad); return err }(), store.ErrInvalidInput},
					{"RenamePasskey user", func() error { _, err := s.RenamePasskey(ctx, bad, a1.ID, "x"); return err }(), store.ErrNotFound},
					{"RenamePasskey id", func() error { _, err := s.RenamePasskey(ctx, alice.ID, bad, "x"); return err }(), store.ErrNotFound},
					{"UsePasskey user", s.UsePasskey(ctx, bad, a1.ID, 1, false, false, t0), store.ErrNotFound},
					{"UsePasskey id", s.UsePasskey(ctx, alice.ID, bad, 1, false, false, t0), store.ErrNotFound},
					{"DeletePasskey user", s.DeletePasskey(ctx, bad, a1.ID), store.ErrNotFound},
					{"DeletePasskey id", s.DeletePasskey(ctx, alice.ID, bad), store.ErrNotFound},
				}
				for _, tc := range cases {
					t.Run(kind+"/"+tc.name, func(t *testing.T) {
						require.ErrorIs(t, tc.err, tc.want)
						assert.Same(t, tc.want, tc.err, "the sentinel itself, no driver error behind it")
					})
				}
				list, err := s.Passkeys(ctx, bad)
				require.NoError(t, err)
				assert.Empty(t, list)
			}
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM users`))
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM passkeys`))
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM webauthn_users`))
			got, err := s.PasskeyByCredentialID(ctx, a1.CredentialID)
			require.NoError(t, err)
			assert.Equal(t, a1.Name, got.Name)
			assert.Zero(t, got.SignCount)
		})
	}
}

// TestPasskeyConflictsWithPrefix checks that the keys of a unique
// violation are recognised whatever the table prefix: a credential id,
// a passkey's ID, and a handle another user holds.
func TestPasskeyConflictsWithPrefix(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := b.make(t, false)
			ctx := context.Background()
			s, err := sqlstore.New(db, dialectOf(b.name), sqlstore.WithTablePrefix("auth_"))
			require.NoError(t, err)
			require.NoError(t, s.Migrate(ctx))
			alice, bob := user("alice"), user("bob")
			require.NoError(t, s.CreateUser(ctx, alice))
			require.NoError(t, s.CreateUser(ctx, bob))
			a1 := passkey(alice, "a1")
			require.NoError(t, s.CreatePasskey(ctx, a1))
			_, err = s.UserHandle(ctx, alice.ID, []byte("alice"))
			require.NoError(t, err)

			sameCredential := passkey(bob, "b1")
			sameCredential.CredentialID = a1.CredentialID
			sameID := passkey(bob, "b2")
			sameID.ID = a1.ID
			carol := user("carol")
			tests := []struct {
				name  string
				err   error
				field string
			}{
				{"credential", s.CreatePasskey(ctx, sameCredential), store.FieldCredential},
				{"id", s.CreatePasskey(ctx, sameID), store.FieldID},
				{"handle", func() error { _, err := s.UserHandle(ctx, bob.ID, []byte("alice")); return err }(), store.FieldID},
				{"sign-up credential", s.CreateUserWithPasskey(ctx, carol, []byte("carol"),
					func() store.Passkey { p := passkey(carol, "c1"); p.CredentialID = a1.CredentialID; return p }(), true),
					store.FieldCredential},
				{"sign-up handle", s.CreateUserWithPasskey(ctx, carol, []byte("alice"), passkey(carol, "c1"), true), store.FieldID},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var ce *store.ConflictError
					require.ErrorAs(t, tt.err, &ce)
					assert.Equal(t, tt.field, ce.Field)
				})
			}
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM auth_passkeys`))
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM auth_webauthn_users`))
			assert.Equal(t, 2, count(t, db, `SELECT COUNT(*) FROM auth_users`))
		})
	}
}

// TestPasskeysWithoutForeignKeys opens SQLite without foreign keys, as a
// DSN of the application's own may: the store itself makes sure a
// passkey or handle names an existing user, and deletes them with the
// user, without relying on ON DELETE CASCADE.
func TestPasskeysWithoutForeignKeys(t *testing.T) {
	path := sqlitePath(t)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(0)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s := newStore(t, db, sqlstore.SQLite, true)
	ctx := context.Background()

	ghost := user("ghost")
	require.ErrorIs(t, s.CreatePasskey(ctx, passkey(ghost, "g1")), store.ErrNotFound)
	_, err = s.UserHandle(ctx, ghost.ID, []byte("ghost"))
	require.ErrorIs(t, err, store.ErrNotFound)

	alice := user("alice")
	alice.HashedPassword = ""
	require.NoError(t, s.CreateUserWithPasskey(ctx, alice, []byte("alice"), passkey(alice, "a1"), false))
	require.NoError(t, s.CreatePasskey(ctx, passkey(alice, "a2")))
	require.NoError(t, s.DeleteUser(ctx, alice.ID))
	assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM passkeys`))
	assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM webauthn_users`))

	bob := user("bob")
	bob.CreatedAt = t0.Add(-48 * time.Hour)
	require.NoError(t, s.CreateUserWithPasskey(ctx, bob, []byte("bob"), passkey(bob, "b1"), false))
	n, err := s.DeleteExpired(ctx, t0, t0)
	require.NoError(t, err)
	assert.Equal(t, int64(3), n, "bob, his handle and his passkey")
	assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM passkeys`))
	assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM webauthn_users`))

	// The replacement of an unverified user takes their passkeys too.
	carol := user("carol")
	require.NoError(t, s.CreateUserWithPasskey(ctx, carol, []byte("carol"), passkey(carol, "c1"), false))
	owner := user("owner")
	owner.Email = carol.Email
	require.NoError(t, s.ReplaceUnverifiedUser(ctx, owner))
	assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM passkeys`))
	assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM webauthn_users`))
}
