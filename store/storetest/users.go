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
		{"LookAlikesAreDistinct", testLookAlikes},
		{"UsernameAndEmailAreSeparate", testUsernameEmailSeparate},
		{"DuplicateID", testDuplicateUserID},
		{"RecordLogin", testRecordLogin},
		{"ReplacePasswordHash", testReplacePasswordHash},
		{"SetPassword", testSetPassword},
		{"MarkVerified", testMarkVerified},
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

	for _, want := range []store.User{alice, bob} {
		got, err := f.s.UserByID(f.ctx, want.ID)
		require.NoError(t, err, "UserByID")
		requireUser(t, want, got)
		got, err = f.s.UserByUsername(f.ctx, want.Username)
		require.NoError(t, err, "UserByUsername")
		requireUser(t, want, got)
		got, err = f.s.UserByEmail(f.ctx, want.Email)
		require.NoError(t, err, "UserByEmail")
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

			_, err = f.s.UserByID(f.ctx, dup.ID)
			require.ErrorIs(t, err, store.ErrNotFound, "the refused user must not exist")
			requireUser(t, existing, f.user(existing.ID))
		})
	}
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

func testDuplicateUserID(t *testing.T, mk maker) {
	f := mk(t)
	alice := f.newUser("alice")
	other := makeUser("other")
	other.ID = alice.ID
	require.Error(t, f.s.CreateUser(f.ctx, other), "a second user with an existing ID")
	requireUser(t, alice, f.user(alice.ID))
	_, err := f.s.UserByUsername(f.ctx, "other")
	require.ErrorIs(t, err, store.ErrNotFound)
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
	second := "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$" + digest("second")[:43]
	third := "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$" + digest("third")[:43]

	require.NoError(t, f.s.ReplacePasswordHash(f.ctx, want.ID, first, second))
	want.HashedPassword = second // and nothing else changes
	requireUser(t, want, f.user(want.ID))

	err := f.s.ReplacePasswordHash(f.ctx, want.ID, first, third)
	require.ErrorIs(t, err, store.ErrNotFound, "a stale old hash")
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
			a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
			a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Minute)), at(time.Minute))
			b1 := f.createToken(makeToken(alice, "B", "b1", at(0)))
			c1 := f.createToken(makeToken(alice, "C", "c1", at(0)))
			v1 := f.createToken(makeToken(bob, "V", "v1", at(0)))
			aliceReset := f.createCode(makeCode(alice, store.CodePasswordReset, "alice-reset", at(0)))
			aliceVerify := f.createCode(makeCode(alice, store.CodeEmailVerification, "alice-verify", at(0)))
			bobReset := f.createCode(makeCode(bob, store.CodePasswordReset, "bob-reset", at(0)))

			keep := ""
			switch tt.keep {
			case "":
			case "bob":
				keep = v1.FamilyID
			default:
				keep = familyID(alice, tt.keep)
			}
			before := map[string]store.RefreshToken{}
			for _, tok := range []store.RefreshToken{a1, a2, b1, c1, v1} {
				before[tok.ID] = f.token(tok.TokenHash)
			}
			newHash := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$" + digest("new")[:43]
			when := at(30 * time.Minute)
			require.NoError(t, f.s.SetPassword(f.ctx, alice.ID, newHash, when, keep))

			want := alice
			want.HashedPassword, want.UpdatedAt, want.TokensValidAfter = newHash, when, when
			requireUser(t, want, f.user(alice.ID))
			requireUser(t, bob, f.user(bob.ID))

			var wantSessions []store.Session
			for _, tok := range []store.RefreshToken{a1, a2, b1, c1} {
				w := before[tok.ID]
				if tok.FamilyID == keep {
					wantSessions = append(wantSessions, sessionOf(tok, tok))
				} else {
					w.IsRevoked = true
				}
				requireToken(t, w, f.token(tok.TokenHash))
			}
			requireToken(t, before[v1.ID], f.token(v1.TokenHash))
			got, err := f.s.Sessions(f.ctx, alice.ID, when)
			require.NoError(t, err)
			requireSessions(t, wantSessions, got)

			_, err = f.s.ConsumeCode(f.ctx, alice.ID, store.CodePasswordReset, aliceReset.CodeHash, 5, when)
			require.ErrorIs(t, err, store.ErrNotFound, "the reset code must be void")
			f.consume(aliceVerify, 0, when)
			f.consume(bobReset, 0, when)
		})
	}
}

func testMarkVerified(t *testing.T, mk maker) {
	f := mk(t)
	want := f.newUser("alice")
	require.False(t, want.IsVerified)
	for _, d := range []time.Duration{time.Hour, 2 * time.Hour} { // a second call is harmless
		require.NoError(t, f.s.MarkVerified(f.ctx, want.ID, at(d)))
		want.IsVerified, want.UpdatedAt = true, at(d)
		requireUser(t, want, f.user(want.ID))
	}
}

func testSetActive(t *testing.T, mk maker) {
	f := mk(t)
	want := f.newUser("alice")
	for i, active := range []bool{false, false, true} {
		when := at(time.Duration(i+1) * time.Hour)
		require.NoError(t, f.s.SetActive(f.ctx, want.ID, active, when))
		want.IsActive, want.UpdatedAt = active, when
		requireUser(t, want, f.user(want.ID))
	}
}

func testDeleteUser(t *testing.T, mk maker) {
	f := mk(t)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
	a2 := f.rotate(a1, makeToken(alice, "A", "a2", at(time.Minute)), at(time.Minute))
	aliceCode := f.createCode(makeCode(alice, store.CodeEmailVerification, "alice-verify", at(0)))
	b1 := f.createToken(makeToken(bob, "B", "b1", at(0)))
	bobCode := f.createCode(makeCode(bob, store.CodeEmailVerification, "bob-verify", at(0)))

	require.NoError(t, f.s.DeleteUser(f.ctx, alice.ID))

	_, err := f.s.UserByID(f.ctx, alice.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.s.UserByUsername(f.ctx, alice.Username)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.s.UserByEmail(f.ctx, alice.Email)
	require.ErrorIs(t, err, store.ErrNotFound)
	f.requireAbsentToken(a1.TokenHash)
	f.requireAbsentToken(a2.TokenHash)
	_, err = f.s.ConsumeCode(f.ctx, alice.ID, aliceCode.Type, aliceCode.CodeHash, 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	sessions, err := f.s.Sessions(f.ctx, alice.ID, at(time.Minute))
	require.NoError(t, err)
	require.Empty(t, sessions)
	require.ErrorIs(t, f.s.DeleteUser(f.ctx, alice.ID), store.ErrNotFound, "a second delete")

	requireUser(t, bob, f.user(bob.ID))
	requireToken(t, b1, f.token(b1.TokenHash))
	f.consume(bobCode, 0, at(time.Minute))

	again := makeUser("alice")
	again.ID = id("user", "alice-again")
	f.createUser(again) // the username and email are free again
	requireUser(t, again, f.user(again.ID))
}

func testUnknownUser(t *testing.T, mk maker) {
	nobody := id("user", "nobody")
	tests := []struct {
		name string
		call func(f *fixture) error
	}{
		{"RecordLogin", func(f *fixture) error { return f.s.RecordLogin(f.ctx, nobody, at(time.Hour)) }},
		{"ReplacePasswordHash", func(f *fixture) error {
			return f.s.ReplacePasswordHash(f.ctx, nobody, makeUser("alice").HashedPassword, "x")
		}},
		{"SetPassword", func(f *fixture) error { return f.s.SetPassword(f.ctx, nobody, "x", at(time.Hour), "") }},
		{"MarkVerified", func(f *fixture) error { return f.s.MarkVerified(f.ctx, nobody, at(time.Hour)) }},
		{"SetActive", func(f *fixture) error { return f.s.SetActive(f.ctx, nobody, false, at(time.Hour)) }},
		{"DeleteUser", func(f *fixture) error { return f.s.DeleteUser(f.ctx, nobody) }},
		{"RevokeAllSessions", func(f *fixture) error { return f.s.RevokeAllSessions(f.ctx, nobody, at(time.Hour)) }},
		{"RevokeFamily", func(f *fixture) error {
			return f.s.RevokeFamily(f.ctx, nobody, familyID(makeUser("alice"), "A"), at(time.Hour))
		}},
		{"ConsumeCode", func(f *fixture) error {
			_, err := f.s.ConsumeCode(f.ctx, nobody, store.CodeEmailVerification, digest("code:alice"), 5, at(time.Minute))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mk(t)
			alice := f.newUser("alice")
			a1 := f.createToken(makeToken(alice, "A", "a1", at(0)))
			code := f.createCode(makeCode(alice, store.CodeEmailVerification, "alice", at(0)))

			err := tt.call(f)
			require.ErrorIs(t, err, store.ErrNotFound)

			requireUser(t, alice, f.user(alice.ID))
			requireToken(t, a1, f.token(a1.TokenHash))
			f.consume(code, 0, at(time.Minute))
		})
	}
	t.Run("Sessions", func(t *testing.T) {
		f := mk(t)
		got, err := f.s.Sessions(f.ctx, nobody, at(0))
		require.NoError(t, err)
		require.Empty(t, got)
	})
}
