package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

// The tests of this file check the store's own answers on both dialects,
// down to the rows, next to the conformance suite.

func TestCreateSession(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))

			a1 := token(alice, "A", "a1")
			a1.CreatedAt = t0.Add(time.Minute)
			a1.ExpiresAt = a1.SessionExpiresAt.Add(time.Hour)
			require.NoError(t, s.CreateSession(ctx, a1, alice.HashedPassword))
			got := tokenRow(t, db, a1.TokenHash)
			assert.Equal(t, a1.SessionExpiresAt, got.SessionExpiresAt)
			assert.Equal(t, a1.SessionExpiresAt, got.ExpiresAt, "kept no later than the session's end")
			assert.False(t, got.IsRevoked)
			u, err := s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, a1.CreatedAt, u.LastLoginAt)

			a2 := token(alice, "B", "a2")
			a2.CreatedAt = t0.Add(2 * time.Minute)
			require.ErrorIs(t, s.CreateSession(ctx, a2, "another hash"), store.ErrStale, "the hash changed")
			ghost := user("ghost")
			require.ErrorIs(t, s.CreateSession(ctx, token(ghost, "G", "g1"), ghost.HashedPassword), store.ErrNotFound)
			require.NoError(t, s.SetActive(ctx, alice.ID, false, t0))
			require.NoError(t, s.SetActive(ctx, alice.ID, true, t0))
			require.ErrorIs(t, s.CreateSession(ctx, a2, "another hash"), store.ErrStale)
			disabled := user("dora")
			disabled.IsActive = false
			require.NoError(t, s.CreateUser(ctx, disabled))
			require.ErrorIs(t, s.CreateSession(ctx, token(disabled, "D", "d1"), disabled.HashedPassword), store.ErrStale, "disabled")
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM refresh_tokens`), "no failed start inserted a token")
			u, err = s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, a1.CreatedAt, u.LastLoginAt, "no failed start recorded a login")

			// A user without a password (a provider sign-in) has the hash "".
			pat := user("pat")
			pat.HashedPassword = ""
			require.NoError(t, s.CreateUser(ctx, pat))
			require.NoError(t, s.CreateSession(ctx, token(pat, "P", "p1"), ""))
		})
	}
}

func TestUserWithSession(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, _ := b.make(t, true)
			ctx := context.Background()
			alice, bob := user("alice"), user("bob")
			require.NoError(t, s.CreateUser(ctx, alice))
			require.NoError(t, s.CreateUser(ctx, bob))
			a1, a2 := token(alice, "A", "a1"), token(alice, "B", "a2")
			startSession(t, s, alice, a1)
			startSession(t, s, alice, a2)
			b1 := token(bob, "C", "b1")
			startSession(t, s, bob, b1)
			require.NoError(t, s.RevokeFamily(ctx, alice.ID, a2.FamilyID, t0))

			for _, tc := range []struct {
				name, userID, session string
				at                    time.Time
				want                  error
			}{
				{"no session", alice.ID, "", t0, nil},
				{"active session", alice.ID, a1.FamilyID, t0, nil},
				{"ended session", alice.ID, a2.FamilyID, t0, store.ErrSessionEnded},
				{"expired session", alice.ID, a1.FamilyID, a1.ExpiresAt, store.ErrSessionEnded},
				{"another user's session", alice.ID, b1.FamilyID, t0, store.ErrSessionEnded},
				{"unknown session", alice.ID, "family-X", t0, store.ErrSessionEnded},
				{"unknown user", "nobody", "", t0, store.ErrNotFound},
				{"unknown user with a session", "nobody", a1.FamilyID, t0, store.ErrNotFound},
			} {
				t.Run(tc.name, func(t *testing.T) {
					u, err := s.UserWithSession(ctx, tc.userID, tc.session, tc.at)
					if tc.want != nil {
						require.ErrorIs(t, err, tc.want)
						assert.Zero(t, u)
						return
					}
					require.NoError(t, err)
					assert.Equal(t, alice.ID, u.ID)
					assert.Equal(t, alice.Email, u.Email)
				})
			}
		})
	}
}

func TestRotateOutcomes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice, bob := user("alice"), user("bob")
			require.NoError(t, s.CreateUser(ctx, alice))
			require.NoError(t, s.CreateUser(ctx, bob))

			// Success: device and session end carried over, expiry clamped.
			a1 := token(alice, "A", "a1")
			a1.SessionExpiresAt = t0.Add(48 * time.Hour)
			startSession(t, s, alice, a1)
			a2 := token(alice, "A", "a2")
			a2.DeviceName, a2.IPAddress = "ignored", "198.51.100.9"
			a2.ExpiresAt = t0.Add(72 * time.Hour)
			require.NoError(t, s.RotateRefreshToken(ctx, a1.TokenHash, a2, t0.Add(time.Hour)))
			got := tokenRow(t, db, a2.TokenHash)
			assert.Equal(t, a1.DeviceName, got.DeviceName)
			assert.Equal(t, a1.SessionExpiresAt, got.SessionExpiresAt)
			assert.Equal(t, a1.SessionExpiresAt, got.ExpiresAt)
			old := tokenRow(t, db, a1.TokenHash)
			assert.True(t, old.IsRevoked)
			assert.Equal(t, a2.ID, old.ReplacedBy)

			// Not found: another user, another family, unknown, expired,
			// past the session's end.
			other := token(bob, "A", "x1")
			other.FamilyID = a1.FamilyID
			otherFamily := token(alice, "Z", "x2")
			for name, err := range map[string]error{
				"other user":    s.RotateRefreshToken(ctx, a2.TokenHash, other, t0),
				"other family":  s.RotateRefreshToken(ctx, a2.TokenHash, otherFamily, t0),
				"unknown token": s.RotateRefreshToken(ctx, hexDigest("nothing"), token(alice, "A", "x3"), t0),
				"expired":       s.RotateRefreshToken(ctx, a2.TokenHash, token(alice, "A", "x4"), a1.SessionExpiresAt),
			} {
				assert.ErrorIs(t, err, store.ErrNotFound, name)
			}
			_, err := db.ExecContext(ctx, `UPDATE refresh_tokens SET session_expires_at = $1 WHERE token = $2`,
				stored(dialectOf(b.name), t0.Add(2*time.Hour)), a2.TokenHash)
			require.NoError(t, err)
			require.ErrorIs(t, s.RotateRefreshToken(ctx, a2.TokenHash, token(alice, "A", "x5"), t0.Add(3*time.Hour)),
				store.ErrNotFound, "past the session's end, its token not expired")
			assert.Equal(t, 2, count(t, db, `SELECT COUNT(*) FROM refresh_tokens`))
			assert.False(t, tokenRow(t, db, a2.TokenHash).IsRevoked, "nothing changed")

			// Ended session: revoked without a replacement; nothing changes.
			b1 := token(bob, "B", "b1")
			startSession(t, s, bob, b1)
			require.NoError(t, s.RevokeFamily(ctx, bob.ID, b1.FamilyID, t0))
			require.ErrorIs(t, s.RotateRefreshToken(ctx, b1.TokenHash, token(bob, "B", "b2"), t0), store.ErrSessionEnded)
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM refresh_tokens WHERE token = $1`, token(bob, "B", "b2").TokenHash))
			assert.Empty(t, tokenRow(t, db, b1.TokenHash).ReplacedBy)

			// Reuse: a rotated token revokes the family.
			c1, c2 := token(bob, "C", "c1"), token(bob, "C", "c2")
			startSession(t, s, bob, c1)
			require.NoError(t, s.RotateRefreshToken(ctx, c1.TokenHash, c2, t0))
			require.ErrorIs(t, s.RotateRefreshToken(ctx, c1.TokenHash, token(bob, "C", "c3"), t0), store.ErrReused)
			assert.True(t, tokenRow(t, db, c2.TokenHash).IsRevoked, "the family is revoked")
			require.ErrorIs(t, s.RotateRefreshToken(ctx, c2.TokenHash, token(bob, "C", "c4"), t0), store.ErrSessionEnded,
				"the newest token after reuse detection")
		})
	}
}

func TestReplaceUnverifiedUser(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()

			// No holder: a plain insert.
			squatter := user("squatter")
			squatter.Email = "owner@example.com"
			require.NoError(t, s.ReplaceUnverifiedUser(ctx, squatter))
			startSession(t, s, squatter, token(squatter, "S", "s1"))
			require.NoError(t, s.CreateCode(ctx, code(squatter, "s1")))
			require.NoError(t, s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "d", UserID: squatter.ID, ExpiresAt: t0.Add(time.Hour)}))

			// Someone else holds the username: nothing changes.
			taken := user("taken")
			require.NoError(t, s.CreateUser(ctx, taken))
			owner := user("owner")
			owner.Email, owner.Username = " OWNER@example.com", "Taken"
			err := s.ReplaceUnverifiedUser(ctx, owner)
			var ce *store.ConflictError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, store.FieldUsername, ce.Field)
			_, err = s.UserByID(ctx, squatter.ID)
			require.NoError(t, err, "the unverified holder is still there")
			assert.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM refresh_tokens`))

			// The unverified holder is replaced, with every record of theirs;
			// the holder's own username may be taken over.
			owner.Username = "squatter"
			require.NoError(t, s.ReplaceUnverifiedUser(ctx, owner))
			u, err := s.UserByEmail(ctx, "owner@example.com")
			require.NoError(t, err)
			assert.Equal(t, owner.ID, u.ID)
			_, err = s.UserByID(ctx, squatter.ID)
			require.ErrorIs(t, err, store.ErrNotFound)
			for _, table := range []string{"refresh_tokens", "verification_codes", "tickets"} {
				assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM `+table), table)
			}

			// A verified holder stays.
			_, err = db.ExecContext(ctx, `UPDATE users SET is_verified = TRUE WHERE id = $1`, owner.ID)
			require.NoError(t, err)
			late := user("late")
			late.Email = "owner@example.com"
			err = s.ReplaceUnverifiedUser(ctx, late)
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, store.FieldEmail, ce.Field)
			_, err = s.UserByID(ctx, owner.ID)
			require.NoError(t, err)

			// The ID of an existing user.
			dup := user("dup")
			dup.ID = taken.ID
			err = s.ReplaceUnverifiedUser(ctx, dup)
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, store.FieldID, ce.Field)
		})
	}
}

func TestPasswordWrites(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			a1, a2 := token(alice, "A", "a1"), token(alice, "B", "a2")
			startSession(t, s, alice, a1)
			startSession(t, s, alice, a2)
			reset := code(alice, "r1")
			require.NoError(t, s.CreateCode(ctx, reset))

			require.ErrorIs(t, s.ReplacePasswordHash(ctx, alice.ID, "not the hash", "h2"), store.ErrStale)
			require.ErrorIs(t, s.ReplacePasswordHash(ctx, "nobody", alice.HashedPassword, "h2"), store.ErrNotFound)
			require.NoError(t, s.ReplacePasswordHash(ctx, alice.ID, alice.HashedPassword, "h2"))
			u, err := s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, "h2", u.HashedPassword)
			assert.Equal(t, alice.UpdatedAt, u.UpdatedAt, "a rehash is no change of the user's")

			at := t0.Add(time.Hour)
			require.ErrorIs(t, s.SetPassword(ctx, alice.ID, alice.HashedPassword, "h3", at, a1.FamilyID), store.ErrStale)
			require.ErrorIs(t, s.SetPassword(ctx, "nobody", "h2", "h3", at, ""), store.ErrNotFound)
			u, err = s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, "h2", u.HashedPassword, "a stale change changes nothing")
			assert.True(t, u.TokensValidAfter.IsZero())
			assert.Equal(t, 2, count(t, db, `SELECT COUNT(*) FROM refresh_tokens WHERE NOT is_revoked`))
			require.NoError(t, s.CheckCode(ctx, alice.ID, reset.Type, reset.CodeHash, 5, t0), "the reset code lives")

			require.NoError(t, s.SetPassword(ctx, alice.ID, "h2", "h3", at, a1.FamilyID))
			u, err = s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, "h3", u.HashedPassword)
			assert.Equal(t, at, u.UpdatedAt)
			assert.Equal(t, at, u.TokensValidAfter)
			assert.False(t, tokenRow(t, db, a1.TokenHash).IsRevoked, "the kept family")
			assert.True(t, tokenRow(t, db, a2.TokenHash).IsRevoked)
			require.ErrorIs(t, s.CheckCode(ctx, alice.ID, reset.Type, reset.CodeHash, 5, t0), store.ErrNotFound,
				"reset codes are void")
		})
	}
}

func TestSetActive(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			startSession(t, s, alice, token(alice, "A", "a1"))
			startSession(t, s, alice, token(alice, "B", "a2"))

			require.NoError(t, s.SetActive(ctx, alice.ID, false, t0))
			u, err := s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.False(t, u.IsActive)
			assert.Equal(t, t0, u.TokensValidAfter)
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM refresh_tokens WHERE NOT is_revoked`))

			require.NoError(t, s.SetActive(ctx, alice.ID, true, t0.Add(time.Minute)))
			require.NoError(t, s.SetActive(ctx, alice.ID, false, t0), "a second disabling in the same second")
			u, err = s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, t0.Add(time.Second), u.TokensValidAfter, "a later moment than the one before")

			require.NoError(t, s.SetActive(ctx, alice.ID, true, t0.Add(time.Hour)))
			u, err = s.UserByID(ctx, alice.ID)
			require.NoError(t, err)
			assert.True(t, u.IsActive)
			assert.Equal(t, t0.Add(time.Hour), u.UpdatedAt)
			assert.Equal(t, t0.Add(time.Second), u.TokensValidAfter, "enabling moves nothing")
			require.ErrorIs(t, s.SetActive(ctx, "nobody", true, t0), store.ErrNotFound)
			require.ErrorIs(t, s.SetActive(ctx, "nobody", false, t0), store.ErrNotFound)
		})
	}
}

func TestCheckCode(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			c := code(alice, "c1")
			require.NoError(t, s.CreateCode(ctx, c))

			require.NoError(t, s.CheckCode(ctx, alice.ID, c.Type, c.CodeHash, 3, t0))
			require.NoError(t, s.CheckCode(ctx, alice.ID, c.Type, c.CodeHash, 3, t0), "a match spends nothing")
			require.ErrorIs(t, s.CheckCode(ctx, alice.ID, c.Type, hexDigest("wrong"), 3, t0), store.ErrCodeMismatch)
			assert.Equal(t, 1, count(t, db, `SELECT attempts FROM verification_codes`))
			require.ErrorIs(t, s.CheckCode(ctx, alice.ID, store.CodeEmailVerification, c.CodeHash, 3, t0), store.ErrNotFound, "another type")
			require.ErrorIs(t, s.CheckCode(ctx, alice.ID, c.Type, c.CodeHash, 3, c.ExpiresAt), store.ErrNotFound, "expired")
			require.ErrorIs(t, s.CheckCode(ctx, "nobody", c.Type, c.CodeHash, 3, t0), store.ErrNotFound)
			require.NoError(t, s.ResetPasswordWithCode(ctx, alice.ID, c.CodeHash, 3, "h2", t0), "still redeemable")
			require.ErrorIs(t, s.CheckCode(ctx, alice.ID, c.Type, c.CodeHash, 3, t0), store.ErrNotFound, "spent by the reset")
		})
	}
}

func TestTickets(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			alice := user("alice")
			require.NoError(t, s.CreateUser(ctx, alice))
			tk := store.Ticket{Kind: "mfa", Digest: hexDigest("t1"), UserID: alice.ID, Data: []byte{0, 1, 2, 0xff},
				ExpiresAt: t0.Add(5 * time.Minute), CreatedAt: t0}
			require.NoError(t, s.PutTicket(ctx, tk))
			same := tk
			same.Kind = "passkey"
			require.NoError(t, s.PutTicket(ctx, same), "one digest under another kind")

			_, err := s.TakeTicket(ctx, "other", tk.Digest, t0)
			require.ErrorIs(t, err, store.ErrNotFound, "another kind")
			_, err = s.TakeTicket(ctx, tk.Kind, tk.Digest, tk.ExpiresAt)
			require.ErrorIs(t, err, store.ErrNotFound, "expired")
			got, err := s.TakeTicket(ctx, tk.Kind, tk.Digest, t0)
			require.NoError(t, err)
			assert.Equal(t, tk, got)
			_, err = s.TakeTicket(ctx, tk.Kind, tk.Digest, t0)
			require.ErrorIs(t, err, store.ErrNotFound, "taken once")

			anon := store.Ticket{Kind: "exchange", Digest: "d2", ExpiresAt: t0.Add(time.Minute), CreatedAt: t0}
			require.NoError(t, s.PutTicket(ctx, anon))
			got, err = s.TakeTicket(ctx, anon.Kind, anon.Digest, t0)
			require.NoError(t, err)
			assert.Empty(t, got.UserID)
			assert.Empty(t, got.Data)

			require.NoError(t, s.DeleteUser(ctx, alice.ID))
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM tickets`), "the user's tickets go with the user")
		})
	}
}

func TestDeleteExpired(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, db := b.make(t, true)
			ctx := context.Background()
			cutoff := t0.Add(24 * time.Hour)

			verified := user("verified")
			verified.IsVerified = true
			pending := user("pending") // registered at t0, never verified
			fresh := user("fresh")     // registered after the cut-off
			fresh.CreatedAt = cutoff.Add(time.Hour)
			for _, u := range []store.User{verified, pending, fresh} {
				require.NoError(t, s.CreateUser(ctx, u))
			}
			live := token(verified, "V", "v1")
			live.ExpiresAt = cutoff.Add(time.Hour)
			dead := token(verified, "W", "v2") // expires at t0+24h, not before the cut-off
			dead.ExpiresAt = cutoff.Add(-time.Second)
			startSession(t, s, verified, live)
			startSession(t, s, verified, dead)
			pendingToken := token(pending, "P", "p1")
			pendingToken.ExpiresAt = cutoff.Add(time.Hour)
			startSession(t, s, pending, pendingToken)
			require.NoError(t, s.CreateCode(ctx, code(pending, "p1")))  // expires t0+1h
			require.NoError(t, s.CreateCode(ctx, code(verified, "v1"))) // expires t0+1h
			require.NoError(t, s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "old", ExpiresAt: t0, CreatedAt: t0}))
			require.NoError(t, s.PutTicket(ctx, store.Ticket{Kind: "k", Digest: "new", UserID: pending.ID,
				ExpiresAt: cutoff.Add(time.Hour), CreatedAt: t0}))

			// The zero time keeps every unverified user.
			n, err := s.DeleteExpired(ctx, cutoff, time.Time{})
			require.NoError(t, err)
			assert.Equal(t, int64(4), n, "a token, two codes, a ticket")
			assert.Equal(t, 3, count(t, db, `SELECT COUNT(*) FROM users`))

			n, err = s.DeleteExpired(ctx, cutoff, cutoff)
			require.NoError(t, err)
			assert.Equal(t, int64(3), n, "the pending user, their token and ticket")
			assert.Equal(t, []string{fresh.ID, verified.ID}, column(t, db, `SELECT id FROM users ORDER BY id`))
			assert.Equal(t, []string{live.ID}, column(t, db, `SELECT id FROM refresh_tokens`))
			assert.Zero(t, count(t, db, `SELECT COUNT(*) FROM tickets`))

			n, err = s.DeleteExpired(ctx, cutoff, cutoff)
			require.NoError(t, err)
			assert.Zero(t, n)
		})
	}
}
