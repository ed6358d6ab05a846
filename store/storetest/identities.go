package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func identityCases() []testCase {
	return []testCase{
		{"CreateUserWithIdentity", testCreateUserWithIdentity},
		{"SubjectIsUnique", testIdentitySubjectUnique},
		{"EmailOfAnotherUser", testIdentityEmailTaken},
		{"ReplacesOnlyUnverified", testIdentityReplaceUnverified},
		{"AddIdentity", testAddIdentity},
		{"DeleteIdentity", testDeleteIdentity},
		{"DeleteLastConcurrently", testDeleteLastIdentityConcurrently},
		{"DeleteUser", testIdentitiesDeleteUser},
		{"DeleteUnverified", testIdentitiesDeleteUnverified},
	}
}

func identityFixture(t *testing.T, mk maker) (*fixture, store.Identities) {
	f := mk(t)
	return f, f.s.(store.Identities)
}

func makeIdentity(u store.User, provider, subject string, created time.Time) store.Identity {
	return store.Identity{
		ID:        id("identity", provider+"/"+subject),
		UserID:    u.ID,
		Provider:  provider,
		Subject:   subject,
		Email:     u.Email,
		CreatedAt: created,
	}
}

// providerUser returns a user without a password, as a provider sign-up
// makes one.
func providerUser(name string) store.User {
	u := makeUser(name)
	u.HashedPassword = ""
	return u
}

func requireIdentity(tb testing.TB, want, got store.Identity) {
	tb.Helper()
	require.True(tb, want.CreatedAt.Equal(got.CreatedAt), "CreatedAt: want %s, got %s", want.CreatedAt, got.CreatedAt)
	require.Equal(tb, time.UTC, got.CreatedAt.Location(), "CreatedAt must come back in UTC")
	want.CreatedAt, got.CreatedAt = time.Time{}, time.Time{}
	require.Equal(tb, want, got)
}

func testCreateUserWithIdentity(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	u := providerUser("alice")
	g := makeIdentity(u, "google", "sub-1", at(0))
	require.NoError(t, is.CreateUserWithIdentity(f.ctx, u, g, false))

	got := f.user(u.ID)
	require.Empty(t, got.HashedPassword)
	found, err := is.IdentityBySubject(f.ctx, "google", "sub-1")
	require.NoError(t, err)
	requireIdentity(t, g, found)

	// Found by (provider, subject) only: neither half alone finds it.
	_, err = is.IdentityBySubject(f.ctx, "github", "sub-1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = is.IdentityBySubject(f.ctx, "google", "alice@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = is.IdentityBySubject(f.ctx, "google", "bad\x00")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := is.Identities(f.ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	requireIdentity(t, g, list[0])
	list, err = is.Identities(f.ctx, id("user", "nobody"))
	require.NoError(t, err)
	require.NotNil(t, list)
	require.Empty(t, list)

	bad := providerUser("bob")
	require.ErrorIs(t, is.CreateUserWithIdentity(f.ctx, bad, store.Identity{
		ID: id("identity", "bad"), UserID: bad.ID, Provider: "google", Subject: "sub\x00",
	}, false), store.ErrInvalidInput)
	f.requireNoUser(bad.ID)
}

func testIdentitySubjectUnique(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	alice := providerUser("alice")
	require.NoError(t, is.CreateUserWithIdentity(f.ctx, alice, makeIdentity(alice, "google", "sub-1", at(0)), false))

	bob := providerUser("bob")
	again := makeIdentity(bob, "google", "sub-1", at(time.Minute))
	again.ID = id("identity", "other")
	requireConflict(t, is.CreateUserWithIdentity(f.ctx, bob, again, true), store.FieldIdentity)
	f.requireNoUser(bob.ID)

	f.newUser("carol")
	carol := f.user(id("user", "carol"))
	link := makeIdentity(carol, "google", "sub-1", at(time.Minute))
	link.ID = id("identity", "carol")
	requireConflict(t, is.AddIdentity(f.ctx, link), store.FieldIdentity)

	// The same subject at another provider is another account.
	require.NoError(t, is.AddIdentity(f.ctx, makeIdentity(carol, "github", "sub-1", at(time.Minute))))
}

func testIdentityEmailTaken(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	holder := makeUser("alice")
	holder.IsVerified = true
	f.createUser(holder)
	for _, replace := range []bool{false, true} {
		u := providerUser("alice2")
		u.Email = "ALICE@example.com"
		requireConflict(t, is.CreateUserWithIdentity(f.ctx, u, makeIdentity(u, "google", "sub-1", at(0)), replace), store.FieldEmail)
		f.requireNoUser(u.ID)
		_, err := is.IdentityBySubject(f.ctx, "google", "sub-1")
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	u := providerUser("alice")
	u.ID, u.Email = id("user", "alice-again"), "new@example.com"
	requireConflict(t, is.CreateUserWithIdentity(f.ctx, u, makeIdentity(u, "google", "sub-2", at(0)), false), store.FieldUsername)
}

func testIdentityReplaceUnverified(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	pending := f.newUser("squatter")
	u := providerUser("owner")
	u.Email, u.IsVerified = pending.Email, true

	// Without replacement an unverified holder is a conflict too.
	requireConflict(t, is.CreateUserWithIdentity(f.ctx, u, makeIdentity(u, "google", "sub-1", at(0)), false), store.FieldEmail)
	f.user(pending.ID)

	require.NoError(t, is.CreateUserWithIdentity(f.ctx, u, makeIdentity(u, "google", "sub-1", at(0)), true))
	f.requireNoUser(pending.ID)
	got, err := f.s.UserByEmail(f.ctx, pending.Email)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
}

func testAddIdentity(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	alice := f.newUser("alice")
	gh := makeIdentity(alice, "github", "42", at(time.Hour))
	g := makeIdentity(alice, "google", "sub-1", at(0))
	require.NoError(t, is.AddIdentity(f.ctx, gh))
	require.NoError(t, is.AddIdentity(f.ctx, g))
	list, err := is.Identities(f.ctx, alice.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	requireIdentity(t, g, list[0]) // oldest first
	requireIdentity(t, gh, list[1])

	sameID := makeIdentity(alice, "gitlab", "7", at(0))
	sameID.ID = g.ID
	requireConflict(t, is.AddIdentity(f.ctx, sameID), store.FieldID)

	ghost := makeIdentity(makeUser("ghost"), "google", "sub-9", at(0))
	require.ErrorIs(t, is.AddIdentity(f.ctx, ghost), store.ErrNotFound)
	_, err = is.IdentityBySubject(f.ctx, "google", "sub-9")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDeleteIdentity(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	alice := providerUser("alice")
	g := makeIdentity(alice, "google", "sub-1", at(0))
	require.NoError(t, is.CreateUserWithIdentity(f.ctx, alice, g, false))
	bob := f.newUser("bob")
	bg := makeIdentity(bob, "google", "sub-2", at(0))
	require.NoError(t, is.AddIdentity(f.ctx, bg))

	// Alice has no password: her only identity is her last way in.
	require.ErrorIs(t, is.DeleteIdentity(f.ctx, alice.ID, g.ID), store.ErrLastLoginMethod)
	// Someone else's identity, or an unknown one, is not found.
	require.ErrorIs(t, is.DeleteIdentity(f.ctx, alice.ID, bg.ID), store.ErrNotFound)
	require.ErrorIs(t, is.DeleteIdentity(f.ctx, alice.ID, id("identity", "none")), store.ErrNotFound)
	require.ErrorIs(t, is.DeleteIdentity(f.ctx, alice.ID, "bad\x00"), store.ErrNotFound)

	gh := makeIdentity(alice, "github", "42", at(time.Minute))
	require.NoError(t, is.AddIdentity(f.ctx, gh))
	require.NoError(t, is.DeleteIdentity(f.ctx, alice.ID, g.ID))
	require.ErrorIs(t, is.DeleteIdentity(f.ctx, alice.ID, gh.ID), store.ErrLastLoginMethod)
	_, err := is.IdentityBySubject(f.ctx, "google", "sub-1")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Bob has a password: his identity may go, and the subject is free.
	require.NoError(t, is.DeleteIdentity(f.ctx, bob.ID, bg.ID))
	list, err := is.Identities(f.ctx, bob.ID)
	require.NoError(t, err)
	require.Empty(t, list)
	require.NoError(t, is.AddIdentity(f.ctx, makeIdentity(bob, "google", "sub-1", at(time.Hour))))
}

// testDeleteLastIdentityConcurrently: of two concurrent deletions of the
// two identities of a user without a password, exactly one succeeds.
func testDeleteLastIdentityConcurrently(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	for round := range 5 {
		u := providerUser("user" + string(rune('a'+round)))
		a := makeIdentity(u, "google", u.Username, at(0))
		b := makeIdentity(u, "github", u.Username, at(0))
		require.NoError(t, is.CreateUserWithIdentity(f.ctx, u, a, false))
		require.NoError(t, is.AddIdentity(f.ctx, b))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, ident := range []store.Identity{a, b} {
			wg.Go(func() { errs[i] = is.DeleteIdentity(f.ctx, u.ID, ident.ID) })
		}
		wg.Wait()
		ok, last := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrLastLoginMethod):
				last++
			default:
				t.Fatalf("DeleteIdentity: %v", err)
			}
		}
		require.Equal(t, [2]int{1, 1}, [2]int{ok, last})
		list, err := is.Identities(f.ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, list, 1)
	}
}

func testIdentitiesDeleteUser(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	alice := providerUser("alice")
	g := makeIdentity(alice, "google", "sub-1", at(0))
	require.NoError(t, is.CreateUserWithIdentity(f.ctx, alice, g, false))
	require.NoError(t, f.s.DeleteUser(f.ctx, alice.ID))
	_, err := is.IdentityBySubject(f.ctx, "google", "sub-1")
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err := is.Identities(f.ctx, alice.ID)
	require.NoError(t, err)
	require.Empty(t, list)
	// The subject and the identity ID are free again.
	require.NoError(t, is.CreateUserWithIdentity(f.ctx, alice, g, false))
}

func testIdentitiesDeleteUnverified(t *testing.T, mk maker) {
	f, is := identityFixture(t, mk)
	c, ok := f.s.(store.Cleaner)
	if !ok {
		t.Skip("the store does not implement store.Cleaner")
	}
	u := providerUser("alice") // unverified: the provider did not vouch for the email
	require.NoError(t, is.CreateUserWithIdentity(f.ctx, u, makeIdentity(u, "google", "sub-1", at(0)), false))
	n, err := c.DeleteExpired(f.ctx, at(time.Hour), at(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "the user and the identity")
	_, err = is.IdentityBySubject(f.ctx, "google", "sub-1")
	require.ErrorIs(t, err, store.ErrNotFound)
}
