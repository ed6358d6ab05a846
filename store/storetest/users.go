package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func userCases() []testCase {
	return []testCase{
		{"CreateAndGet", testCreateAndGet},
		{"LookupFolds", testLookupFolds},
		{"LookupNotFound", testLookupNotFound},
		{"Conflict", testConflict},
		{"ConflictID", testConflictID},
		{"LookAlikesAreDistinct", testLookAlikes},
		{"UsernameAndEmailAreSeparate", testUsernameEmailSeparate},
		{"InvalidText", testInvalidText},
		{"LookupInvalidText", testLookupInvalidText},
		{"ReplaceUnverifiedUser", testReplaceUnverified},
		{"ReplaceUnverifiedUserConflict", testReplaceUnverifiedConflict},
		{"UserWithSession", testUserWithSession},
		{"RecordLogin", testRecordLogin},
		{"ReplacePasswordHash", testReplacePasswordHash},
		{"SetPassword", testSetPassword},
		{"SetPasswordStale", testSetPasswordStale},
		{"SetActive", testSetActive},
		{"DeleteUser", testDeleteUser},
		{"UnknownUser", testUnknownUser},
	}
}

func testCreateAndGet(t *testing.T, mk maker) {
	f := mk(t)
	alice := makeUser("alice")
	alice.Username, alice.Email = "Alice", "Alice.Smith@Example.com"
	alice.IsSuperuser, alice.IsVerified = true, true
	alice.UpdatedAt = at(time.Minute)
	f.createUser(alice)
	bob := makeUser("bob")
	bob.IsActive = false
	bob.LastLoginAt, bob.TokensValidAfter = at(2*time.Hour), at(3*time.Hour)
	f.createUser(bob)
	carol := makeUser("carol")
	carol.HashedPassword = "" // a user without a password
	f.createUser(carol)

	for _, want := range []store.User{alice, bob, carol} {
		got, err := f.s.UserByID(f.ctx, want.ID)
		require.NoError(t, err, "UserByID")
		requireUser(t, want, got)
		got, err = f.s.UserByUsername(f.ctx, want.Username)
		require.NoError(t, err, "UserByUsername")
		requireUser(t, want, got)
		got, err = f.s.UserByEmail(f.ctx, want.Email)
		require.NoError(t, err, "UserByEmail")
		requireUser(t, want, got)
		got, err = f.s.UserWithSession(f.ctx, want.ID, "", at(time.Hour))
		require.NoError(t, err, "UserWithSession")
		requireUser(t, want, got)
	}
	got := f.user(alice.ID)
	assert.True(t, got.LastLoginAt.IsZero(), "LastLoginAt of a user who never logged in")
	assert.True(t, got.TokensValidAfter.IsZero(), "TokensValidAfter of a new user")
}

func testLookupFolds(t *testing.T, mk maker) {
	tests := []struct {
		name   string
		lookup func(f *fixture) (store.User, error)
	}{
		{"username upper case", func(f *fixture) (store.User, error) { return f.s.UserByUsername(f.ctx, "ÉLODIE") }},
		{"username lower case", func(f *fixture) (store.User, error) { return f.s.UserByUsername(f.ctx, "élodie") }},
		{"username surrounding space", func(f *fixture) (store.User, error) { return f.s.UserByUsername(f.ctx, " \télodie\n") }},
		{"email lower case", func(f *fixture) (store.User, error) { return f.s.UserByEmail(f.ctx, "élodie.martin@example.com") }},
		{"email upper case", func(f *fixture) (store.User, error) { return f.s.UserByEmail(f.ctx, "ÉLODIE.MARTIN@EXAMPLE.COM") }},
		{"email surrounding space", func(f *fixture) (store.User, error) { return f.s.UserByEmail(f.ctx, "  Élodie.Martin@Example.com \t") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			want := makeUser("elodie")
			want.Username, want.Email = "Élodie", "Élodie.Martin@Example.com"
			f.createUser(want)
			got, err := tt.lookup(f)
			require.NoError(t, err)
			requireUser(t, want, got) // stored as given, not folded
		})
	}
}

func testLookupNotFound(t *testing.T, mk maker) {
	tests := []struct {
		name   string
		lookup func(f *fixture) (store.User, error)
	}{
		{"unknown id", func(f *fixture) (store.User, error) { return f.s.UserByID(f.ctx, id("user", "nobody")) }},
		{"unknown username", func(f *fixture) (store.User, error) { return f.s.UserByUsername(f.ctx, "nobody") }},
		{"unknown email", func(f *fixture) (store.User, error) { return f.s.UserByEmail(f.ctx, "nobody@example.com") }},
		{"email given as username", func(f *fixture) (store.User, error) { return f.s.UserByUsername(f.ctx, "mike@example.com") }},
		{"username given as email", func(f *fixture) (store.User, error) { return f.s.UserByEmail(f.ctx, "mike") }},
		{"dotless i username", func(f *fixture) (store.User, error) { return f.s.UserByUsername(f.ctx, "mıke") }},
		{"dotless i email", func(f *fixture) (store.User, error) { return f.s.UserByEmail(f.ctx, "mıke@example.com") }},
		{"username is an id", func(f *fixture) (store.User, error) { return f.s.UserByUsername(f.ctx, id("user", "mike")) }},
		{"unknown id with a session", func(f *fixture) (store.User, error) {
			return f.s.UserWithSession(f.ctx, id("user", "nobody"), id("family", "any"), at(time.Hour))
		}},
		{"unknown id without a session", func(f *fixture) (store.User, error) {
			return f.s.UserWithSession(f.ctx, id("user", "nobody"), "", at(time.Hour))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			f.newUser("mike")
			_, err := tt.lookup(f)
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	}
}

func testConflict(t *testing.T, mk maker) {
	tests := []struct {
		name      string
		username  string
		email     string
		wantField string // "" when either field may be named
	}{
		{"same username", "Élodie", "other@example.com", store.FieldUsername},
		{"username upper case", "ÉLODIE", "other@example.com", store.FieldUsername},
		{"username lower case", "élodie", "other@example.com", store.FieldUsername},
		{"username surrounding space", "  élodie\t", "other@example.com", store.FieldUsername},
		{"same email", "other", "Élodie@Example.com", store.FieldEmail},
		{"email lower case", "other", "élodie@example.com", store.FieldEmail},
		{"email upper case", "other", "ÉLODIE@EXAMPLE.COM", store.FieldEmail},
		{"email surrounding space", "other", " \télodie@example.com  ", store.FieldEmail},
		{"both", "ÉLODIE", "élodie@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			existing := makeUser("elodie")
			existing.Username, existing.Email = "Élodie", "Élodie@Example.com"
			f.createUser(existing)

			dup := makeUser("dup")
			dup.Username, dup.Email = tt.username, tt.email
			err := f.s.CreateUser(f.ctx, dup)
			require.ErrorIs(t, err, store.ErrConflict)
			var ce *store.ConflictError
			require.ErrorAs(t, err, &ce)
			if tt.wantField != "" {
				assert.Equal(t, tt.wantField, ce.Field)
			} else {
				assert.Contains(t, []string{store.FieldUsername, store.FieldEmail}, ce.Field)
			}

			f.requireNoUser(dup.ID)
			requireUser(t, existing, f.user(existing.ID))
		})
	}
}

func testConflictID(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	other := makeUser("other")
	other.ID = alice.ID
	requireConflict(t, f.s.CreateUser(f.ctx, other), store.FieldID)
	requireUser(t, alice, f.user(alice.ID))
	_, err := f.s.UserByUsername(f.ctx, "other")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testLookAlikes(t *testing.T, mk maker) {
	f := mk(t)
	mike := makeUser("mike")
	f.createUser(mike)
	lookalike := makeUser("mıke") // U+0131 LATIN SMALL LETTER DOTLESS I
	require.Equal(t, "mıke@example.com", lookalike.Email)
	f.createUser(lookalike)

	got, err := f.s.UserByUsername(f.ctx, "MIKE")
	require.NoError(t, err)
	assert.Equal(t, mike.ID, got.ID)
	got, err = f.s.UserByUsername(f.ctx, "mıke")
	require.NoError(t, err)
	assert.Equal(t, lookalike.ID, got.ID)
	got, err = f.s.UserByEmail(f.ctx, "Mike@Example.com")
	require.NoError(t, err)
	assert.Equal(t, mike.ID, got.ID)
	got, err = f.s.UserByEmail(f.ctx, "mıke@example.com")
	require.NoError(t, err)
	assert.Equal(t, lookalike.ID, got.ID)
}

func testUsernameEmailSeparate(t *testing.T, mk maker) {
	f := mk(t)
	one := makeUser("one")
	one.Username = "shared@example.com"
	f.createUser(one)
	two := makeUser("two")
	two.Email = "Shared@Example.com"
	f.createUser(two)

	got, err := f.s.UserByUsername(f.ctx, "shared@example.com")
	require.NoError(t, err)
	assert.Equal(t, one.ID, got.ID)
	got, err = f.s.UserByEmail(f.ctx, "shared@example.com")
	require.NoError(t, err)
	assert.Equal(t, two.ID, got.ID)
}

// badTexts are strings no text column of PostgreSQL can hold.
var badTexts = []struct{ name, text string }{
	{"NUL byte", "mal\x00lory"},
	{"trailing NUL byte", "mallory\x00"},
	{"invalid UTF-8", "mal\xfflory"},
	{"truncated UTF-8", "mallory\xc3"},
}

// testInvalidText gives CreateUser and ReplaceUnverifiedUser text a backend
// cannot store: every store refuses it alike, with ErrInvalidInput, and
// stores nothing.
func testInvalidText(t *testing.T, mk maker) {
	fields := []struct {
		name string
		set  func(u *store.User, text string)
	}{
		{"username", func(u *store.User, text string) { u.Username = text }},
		{"email", func(u *store.User, text string) { u.Email = text + "@example.com" }},
		{"hash", func(u *store.User, text string) { u.HashedPassword = "$argon2id$" + text }},
	}
	methods := []struct {
		name   string
		create func(f *fixture, u store.User) error
	}{
		{"CreateUser", func(f *fixture, u store.User) error { return f.s.CreateUser(f.ctx, u) }},
		{"ReplaceUnverifiedUser", func(f *fixture, u store.User) error { return f.s.ReplaceUnverifiedUser(f.ctx, u) }},
	}
	for _, m := range methods {
		for _, field := range fields {
			for _, bad := range badTexts {
				t.Run(m.name+"/"+field.name+"/"+bad.name, func(t *testing.T) {
					f := mk(t)
					// An unverified holder of the email that a replacement
					// would delete: a refused write must not.
					holder := makeUser("holder")
					holder.Email = "mallory@example.com"
					f.createUser(holder)

					u := makeUser("mallory")
					field.set(&u, bad.text)
					require.ErrorIs(t, m.create(f, u), store.ErrInvalidInput)
					f.requireNoUser(u.ID)
					requireUser(t, holder, f.user(holder.ID))
				})
			}
		}
	}
}

func testLookupInvalidText(t *testing.T, mk maker) {
	for _, bad := range badTexts {
		t.Run(bad.name, func(t *testing.T) {
			f := mk(t)
			f.newUser("mallory")
			_, err := f.s.UserByUsername(f.ctx, bad.text)
			require.ErrorIs(t, err, store.ErrNotFound, "UserByUsername")
			_, err = f.s.UserByEmail(f.ctx, bad.text+"@example.com")
			require.ErrorIs(t, err, store.ErrNotFound, "UserByEmail")
		})
	}
}

// testReplaceUnverified registers for an email an unverified user holds:
// the holder goes with everything of theirs.
func testReplaceUnverified(t *testing.T, mk maker) {
	tests := []struct {
		name string
		u    func(holder store.User) store.User
	}{
		{"email as given", func(holder store.User) store.User {
			u := makeUser("owner")
			u.Email = holder.Email
			return u
		}},
		{"email folded", func(holder store.User) store.User {
			u := makeUser("owner")
			u.Email = " ALICE@Example.COM "
			return u
		}},
		{"the holder's username", func(holder store.User) store.User {
			u := makeUser("owner")
			u.Email, u.Username = holder.Email, "ALICE"
			return u
		}},
		{"the holder's ID", func(holder store.User) store.User {
			u := makeUser("owner")
			u.Email, u.ID = holder.Email, holder.ID
			return u
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			holder, bob := f.newUser("alice"), f.newUser("bob")
			a1 := f.login(makeToken(holder, "A", "a1", at(0)))
			a2 := f.rotate(a1, makeToken(holder, "A", "a2", at(time.Minute)), at(time.Minute))
			verify := f.createCode(makeCode(holder, store.CodeEmailVerification, "verify", at(0)))
			reset := f.createCode(makeCode(holder, store.CodePasswordReset, "reset", at(0)))
			b1 := f.login(makeToken(bob, "B", "b1", at(0)))
			bobCode := f.createCode(makeCode(bob, store.CodeEmailVerification, "bob", at(0)))
			bob = f.user(bob.ID)

			u := tt.u(holder)
			u.CreatedAt, u.UpdatedAt = at(time.Hour), at(time.Hour)
			require.NoError(t, f.s.ReplaceUnverifiedUser(f.ctx, u))

			requireUser(t, u, f.user(u.ID))
			got, err := f.s.UserByEmail(f.ctx, holder.Email)
			require.NoError(t, err)
			requireUser(t, u, got)
			if u.ID != holder.ID {
				f.requireNoUser(holder.ID)
			}
			if store.Fold(u.Username) != store.Fold(holder.Username) {
				_, err = f.s.UserByUsername(f.ctx, holder.Username)
				require.ErrorIs(t, err, store.ErrNotFound, "the holder's username")
			}
			// Nothing of the holder's survives, even for a new user who
			// took over the holder's ID.
			f.requireSessions(holder.ID, at(2*time.Hour))
			f.requireAbsent(a2, at(2*time.Hour))
			f.requireAbsent(a1, at(2*time.Hour))
			_, err = f.s.UserWithSession(f.ctx, u.ID, a2.FamilyID, at(2*time.Hour))
			require.ErrorIs(t, err, store.ErrSessionEnded)
			f.requireCodeGone(verify, at(2*time.Minute))
			f.requireCodeGone(reset, at(2*time.Minute))

			requireUser(t, bob, f.user(bob.ID))
			f.requireSessions(bob.ID, at(time.Hour), sessionOf(b1, b1))
			f.requireCodeFresh(bobCode, at(time.Minute))
			f.requireRotates(b1, at(time.Hour))
		})
	}
	t.Run("no holder", func(t *testing.T) {
		f := mk(t)
		bob := f.newUser("bob")
		u := makeUser("alice")
		require.NoError(t, f.s.ReplaceUnverifiedUser(f.ctx, u))
		requireUser(t, u, f.user(u.ID))
		requireUser(t, bob, f.user(bob.ID))
	})
}

// testReplaceUnverifiedConflict: a verified holder of the email, or another
// holder of the username or ID, refuses the registration and loses nothing.
func testReplaceUnverifiedConflict(t *testing.T, mk maker) {
	tests := []struct {
		name      string
		verified  bool // whether the holder of the email verified it
		u         func(holder, other store.User) store.User
		wantField string
	}{
		{"verified holder", true, func(holder, _ store.User) store.User {
			u := makeUser("owner")
			u.Email = "Alice@Example.com"
			return u
		}, store.FieldEmail},
		{"username of another user", false, func(holder, other store.User) store.User {
			u := makeUser("owner")
			u.Email, u.Username = holder.Email, "BOB"
			return u
		}, store.FieldUsername},
		{"username of another user, no holder", false, func(_, other store.User) store.User {
			u := makeUser("owner")
			u.Username = other.Username
			return u
		}, store.FieldUsername},
		{"ID of another user", false, func(holder, other store.User) store.User {
			u := makeUser("owner")
			u.Email, u.ID = holder.Email, other.ID
			return u
		}, store.FieldID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			holder := makeUser("alice")
			holder.IsVerified = tt.verified
			f.createUser(holder)
			other := f.newUser("bob")
			a1 := f.login(makeToken(holder, "A", "a1", at(0)))
			code := f.createCode(makeCode(holder, store.CodePasswordReset, "reset", at(0)))
			holder = f.user(holder.ID)

			u := tt.u(holder, other)
			requireConflict(t, f.s.ReplaceUnverifiedUser(f.ctx, u), tt.wantField)

			if u.ID != other.ID {
				f.requireNoUser(u.ID)
			}
			requireUser(t, holder, f.user(holder.ID))
			requireUser(t, other, f.user(other.ID))
			f.requireSessions(holder.ID, at(time.Minute), sessionOf(a1, a1))
			f.requireCodeFresh(code, at(time.Minute))
			f.requireRotates(a1, at(time.Minute))
		})
	}
}

func testUserWithSession(t *testing.T, mk maker) {
	tests := []struct {
		name string
		// sid returns the session to check, and when, after the setup below.
		sid     func(f *fixture, a1, b1 store.RefreshToken) (string, time.Time)
		wantErr error
	}{
		{"no session", func(f *fixture, a1, _ store.RefreshToken) (string, time.Time) {
			require.NoError(f.t, f.s.RevokeAllSessions(f.ctx, a1.UserID, at(time.Minute)))
			return "", at(time.Hour)
		}, nil},
		{"active", func(f *fixture, a1, _ store.RefreshToken) (string, time.Time) {
			return a1.FamilyID, at(time.Hour)
		}, nil},
		{"rotated", func(f *fixture, a1, _ store.RefreshToken) (string, time.Time) {
			f.rotate(a1, makeToken(store.User{ID: a1.UserID}, "A", "a2", at(time.Hour)), at(time.Hour))
			return a1.FamilyID, at(2 * time.Hour)
		}, nil},
		{"one microsecond before expiry", func(f *fixture, a1, _ store.RefreshToken) (string, time.Time) {
			return a1.FamilyID, a1.ExpiresAt.Add(-time.Microsecond)
		}, nil},
		{"revoked family", func(f *fixture, a1, _ store.RefreshToken) (string, time.Time) {
			require.NoError(f.t, f.s.RevokeFamily(f.ctx, a1.UserID, a1.FamilyID, at(time.Minute)))
			return a1.FamilyID, at(time.Hour)
		}, store.ErrSessionEnded},
		{"all sessions revoked", func(f *fixture, a1, _ store.RefreshToken) (string, time.Time) {
			require.NoError(f.t, f.s.RevokeAllSessions(f.ctx, a1.UserID, at(time.Minute)))
			return a1.FamilyID, at(time.Hour)
		}, store.ErrSessionEnded},
		{"expires at that instant", func(f *fixture, a1, _ store.RefreshToken) (string, time.Time) {
			return a1.FamilyID, a1.ExpiresAt
		}, store.ErrSessionEnded},
		{"expired", func(f *fixture, a1, _ store.RefreshToken) (string, time.Time) {
			return a1.FamilyID, at(48 * time.Hour)
		}, store.ErrSessionEnded},
		{"family of another user", func(f *fixture, _, b1 store.RefreshToken) (string, time.Time) {
			return b1.FamilyID, at(time.Hour)
		}, store.ErrSessionEnded},
		{"unknown family", func(f *fixture, _, _ store.RefreshToken) (string, time.Time) {
			return id("family", "unknown"), at(time.Hour)
		}, store.ErrSessionEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			a1 := f.login(makeToken(alice, "A", "a1", at(0)))
			b1 := f.login(makeToken(bob, "B", "b1", at(0)))
			sid, when := tt.sid(f, a1, b1)
			want := f.user(alice.ID)

			got, err := f.s.UserWithSession(f.ctx, alice.ID, sid, when)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			requireUser(t, want, got)
		})
	}
}

func testRecordLogin(t *testing.T, mk maker) {
	f := mk(t)
	want := f.newUser("alice")
	for _, d := range []time.Duration{time.Hour, 2 * time.Hour} {
		require.NoError(t, f.s.RecordLogin(f.ctx, want.ID, at(d)))
		want.LastLoginAt = at(d) // and nothing else changes
		requireUser(t, want, f.user(want.ID))
	}
}

func testReplacePasswordHash(t *testing.T, mk maker) {
	f := mk(t)
	want := f.newUser("alice")
	first := want.HashedPassword
	second, third := hash("second"), hash("third")

	require.NoError(t, f.s.ReplacePasswordHash(f.ctx, want.ID, first, second))
	want.HashedPassword = second // and nothing else changes
	requireUser(t, want, f.user(want.ID))

	err := f.s.ReplacePasswordHash(f.ctx, want.ID, first, third)
	require.ErrorIs(t, err, store.ErrStale, "a stale old hash")
	requireUser(t, want, f.user(want.ID))

	require.NoError(t, f.s.ReplacePasswordHash(f.ctx, want.ID, second, third))
	want.HashedPassword = third
	requireUser(t, want, f.user(want.ID))
}

func testSetPassword(t *testing.T, mk maker) {
	tests := []struct {
		name string
		keep string // family label of alice, "" for none, "bob" for bob's family
	}{
		{"keep one family", "C"},
		{"keep none", ""},
		{"keep a family of another user", "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice, bob := f.newUser("alice"), f.newUser("bob")
			a1 := f.login(makeToken(alice, "A", "a1", at(0)))
			a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Minute)), at(time.Minute))
			b1 := f.login(makeToken(alice, "B", "b1", at(0)))
			c1 := f.login(makeToken(alice, "C", "c1", at(0)))
			v1 := f.login(makeToken(bob, "V", "v1", at(0)))
			aliceReset := f.createCode(makeCode(alice, store.CodePasswordReset, "alice-reset", at(0)))
			aliceVerify := f.createCode(makeCode(alice, store.CodeEmailVerification, "alice-verify", at(0)))
			bobReset := f.createCode(makeCode(bob, store.CodePasswordReset, "bob-reset", at(0)))
			alice, bob = f.user(alice.ID), f.user(bob.ID)

			keep := ""
			switch tt.keep {
			case "":
			case "bob":
				keep = v1.FamilyID
			default:
				keep = familyID(alice, tt.keep)
			}
			newHash := hash("new")
			when := at(30 * time.Minute)
			require.NoError(t, f.s.SetPassword(f.ctx, alice.ID, alice.HashedPassword, newHash, when, keep))

			want := alice
			want.HashedPassword, want.UpdatedAt, want.TokensValidAfter = newHash, when, when
			requireUser(t, want, f.user(alice.ID))
			requireUser(t, bob, f.user(bob.ID))

			var wantSessions []store.Session
			for _, tok := range []store.RefreshToken{a2, b1, c1} {
				if tok.FamilyID == keep {
					wantSessions = append(wantSessions, sessionOf(tok, tok))
				}
			}
			f.requireSessions(alice.ID, when, wantSessions...)
			f.requireSessions(bob.ID, when, sessionOf(v1, v1))
			for _, tok := range []store.RefreshToken{a2, b1, c1} {
				if tok.FamilyID == keep {
					f.requireRotates(tok, when)
				} else {
					f.requireEnded(tok, when)
				}
			}
			f.requireRotates(v1, when)

			f.requireCodeGone(aliceReset, when)
			f.requireCodeFresh(aliceVerify, when)
			f.requireCodeFresh(bobReset, when)
		})
	}
}

// testSetPasswordStale: SetPassword is a compare-and-set on the hash the
// caller verified; when another change won, it changes nothing.
func testSetPasswordStale(t *testing.T, mk maker) {
	tests := []struct {
		name    string
		oldHash func(alice store.User) string
	}{
		{"another hash", func(store.User) string { return hash("guess") }},
		{"no hash", func(store.User) string { return "" }},
		{"the hash before a rehash", func(alice store.User) string { return hash("alice") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			require.NoError(t, f.s.ReplacePasswordHash(f.ctx, alice.ID, alice.HashedPassword, hash("rehashed")))
			a1 := f.login(makeToken(alice, "A", "a1", at(0)))
			reset := f.createCode(makeCode(alice, store.CodePasswordReset, "reset", at(0)))
			alice = f.user(alice.ID)

			err := f.s.SetPassword(f.ctx, alice.ID, tt.oldHash(alice), hash("new"), at(time.Hour), "")
			require.ErrorIs(t, err, store.ErrStale)
			requireUser(t, alice, f.user(alice.ID))
			f.requireSessions(alice.ID, at(time.Hour), sessionOf(a1, a1))
			f.requireCodeFresh(reset, at(time.Minute))
			f.requireRotates(a1, at(time.Hour))
		})
	}
	t.Run("a second change with the same old hash", func(t *testing.T) {
		f := mk(t)
		alice := f.newUser("alice")
		require.NoError(t, f.s.SetPassword(f.ctx, alice.ID, alice.HashedPassword, hash("first"), at(time.Hour), ""))
		want := f.user(alice.ID)
		err := f.s.SetPassword(f.ctx, alice.ID, alice.HashedPassword, hash("second"), at(2*time.Hour), "")
		require.ErrorIs(t, err, store.ErrStale)
		requireUser(t, want, f.user(alice.ID))
	})
	t.Run("a user without a password", func(t *testing.T) {
		f := mk(t)
		carol := makeUser("carol")
		carol.HashedPassword = ""
		f.createUser(carol)
		require.ErrorIs(t, f.s.SetPassword(f.ctx, carol.ID, hash("carol"), hash("new"), at(time.Hour), ""), store.ErrStale)
		requireUser(t, carol, f.user(carol.ID))
		require.NoError(t, f.s.SetPassword(f.ctx, carol.ID, "", hash("new"), at(time.Hour), ""), "setting a first password")
		carol.HashedPassword, carol.UpdatedAt, carol.TokensValidAfter = hash("new"), at(time.Hour), at(time.Hour)
		requireUser(t, carol, f.user(carol.ID))
	})
}

// testSetActive: disabling ends every session and moves TokensValidAfter in
// the same step; enabling again brings nothing back.
func testSetActive(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Minute)), at(time.Minute))
	b1 := f.login(makeToken(alice, "B", "b1", at(0)))
	v1 := f.login(makeToken(bob, "V", "v1", at(0)))
	want, wantBob := f.user(alice.ID), f.user(bob.ID)

	first := at(time.Hour)
	require.NoError(t, f.s.SetActive(f.ctx, alice.ID, false, first))
	want.IsActive, want.UpdatedAt, want.TokensValidAfter = false, first, first
	requireUser(t, want, f.user(alice.ID))
	f.requireSessions(alice.ID, first)
	_, err := f.s.UserWithSession(f.ctx, alice.ID, a2.FamilyID, first)
	require.ErrorIs(t, err, store.ErrSessionEnded)

	// Disabling again, in the same second, is a second revocation.
	require.NoError(t, f.s.SetActive(f.ctx, alice.ID, false, first))
	want.TokensValidAfter = first.Add(time.Second)
	requireUser(t, want, f.user(alice.ID))

	second := at(2 * time.Hour)
	require.NoError(t, f.s.SetActive(f.ctx, alice.ID, true, second))
	want.IsActive, want.UpdatedAt = true, second // TokensValidAfter stays
	requireUser(t, want, f.user(alice.ID))
	f.requireSessions(alice.ID, second)
	f.requireEnded(a2, second)
	f.requireEnded(b1, second)

	third := at(3 * time.Hour)
	require.NoError(t, f.s.SetActive(f.ctx, alice.ID, true, third), "enabling an enabled user")
	want.UpdatedAt = third
	requireUser(t, want, f.user(alice.ID))

	requireUser(t, wantBob, f.user(bob.ID))
	f.requireSessions(bob.ID, third, sessionOf(v1, v1))
}

func testDeleteUser(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.login(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Minute)), at(time.Minute))
	aliceCode := f.createCode(makeCode(alice, store.CodeEmailVerification, "alice-verify", at(0)))
	b1 := f.login(makeToken(bob, "B", "b1", at(0)))
	bobCode := f.createCode(makeCode(bob, store.CodeEmailVerification, "bob-verify", at(0)))
	bob = f.user(bob.ID)

	require.NoError(t, f.s.DeleteUser(f.ctx, alice.ID))

	f.requireNoUser(alice.ID)
	_, err := f.s.UserByUsername(f.ctx, alice.Username)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.s.UserByEmail(f.ctx, alice.Email)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.s.UserWithSession(f.ctx, alice.ID, a2.FamilyID, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	f.requireAbsent(a2, at(time.Minute))
	f.requireAbsent(a1, at(time.Minute))
	f.requireCodeGone(aliceCode, at(time.Minute))
	f.requireSessions(alice.ID, at(time.Minute))
	require.ErrorIs(t, f.s.DeleteUser(f.ctx, alice.ID), store.ErrNotFound, "a second delete")

	requireUser(t, bob, f.user(bob.ID))
	f.requireSessions(bob.ID, at(time.Minute), sessionOf(b1, b1))
	f.requireCodeFresh(bobCode, at(time.Minute))
	f.requireRotates(b1, at(time.Minute))

	again := makeUser("alice") // the ID, username and email are free again
	f.createUser(again)
	requireUser(t, again, f.user(again.ID))
	f.requireSessions(again.ID, at(time.Minute))
	f.requireCodeGone(aliceCode, at(time.Minute))
}

func testUnknownUser(t *testing.T, mk maker) {
	nobody := id("user", "nobody")
	tests := []struct {
		name string
		call func(f *fixture) error
	}{
		{"RecordLogin", func(f *fixture) error { return f.s.RecordLogin(f.ctx, nobody, at(time.Hour)) }},
		{"ReplacePasswordHash", func(f *fixture) error {
			return f.s.ReplacePasswordHash(f.ctx, nobody, hash("alice"), hash("x"))
		}},
		{"SetPassword", func(f *fixture) error {
			return f.s.SetPassword(f.ctx, nobody, hash("alice"), hash("x"), at(time.Hour), "")
		}},
		{"SetActive", func(f *fixture) error { return f.s.SetActive(f.ctx, nobody, false, at(time.Hour)) }},
		{"DeleteUser", func(f *fixture) error { return f.s.DeleteUser(f.ctx, nobody) }},
		{"CreateSession", func(f *fixture) error {
			return f.s.CreateSession(f.ctx, makeToken(store.User{ID: nobody}, "N", "n1", at(0)), hash("alice"))
		}},
		{"RevokeAllSessions", func(f *fixture) error { return f.s.RevokeAllSessions(f.ctx, nobody, at(time.Hour)) }},
		{"RevokeFamily", func(f *fixture) error {
			return f.s.RevokeFamily(f.ctx, nobody, familyID(makeUser("alice"), "A"), at(time.Hour))
		}},
		{"CreateCode", func(f *fixture) error {
			return f.s.CreateCode(f.ctx, makeCode(store.User{ID: nobody}, store.CodeEmailVerification, "n1", at(0)))
		}},
		{"CheckCode", func(f *fixture) error {
			return f.s.CheckCode(f.ctx, nobody, store.CodeEmailVerification, digest("code:alice"), 5, at(time.Minute))
		}},
		{"VerifyEmailWithCode", func(f *fixture) error {
			_, err := f.s.VerifyEmailWithCode(f.ctx, nobody, digest("code:alice"), 5, at(time.Minute))
			return err
		}},
		{"ResetPasswordWithCode", func(f *fixture) error {
			return f.s.ResetPasswordWithCode(f.ctx, nobody, digest("code:alice"), 5, hash("x"), at(time.Minute))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			a1 := f.login(makeToken(alice, "A", "a1", at(0)))
			code := f.createCode(makeCode(alice, store.CodeEmailVerification, "alice", at(0)))
			alice = f.user(alice.ID)

			require.ErrorIs(t, tt.call(f), store.ErrNotFound)

			requireUser(t, alice, f.user(alice.ID))
			f.requireSessions(alice.ID, at(time.Minute), sessionOf(a1, a1))
			f.requireCodeFresh(code, at(time.Minute))
			f.requireRotates(a1, at(time.Minute))
		})
	}
	t.Run("Sessions", func(t *testing.T) {
		f := mk(t)
		f.requireSessions(nobody, at(0))
	})
}
