package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func emailChangeCases() []testCase {
	return []testCase{
		{"ChangeEmail", testChangeEmail},
		{"ChangeEmailWrongCode", testChangeEmailWrongCode},
		{"ChangeEmailTaken", testChangeEmailTaken},
		{"ChangeEmailNewerCode", testChangeEmailNewerCode},
		{"ChangeEmailDeletedUser", testChangeEmailDeletedUser},
	}
}

func adminCases() []testCase {
	return []testCase{
		{"ListUsersPages", testListUsersPages},
		{"ListUsersPrefixIsText", testListUsersPrefixIsText},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserDisableRevokes", testUpdateUserDisableRevokes},
		{"LastSuperuser", testLastSuperuser},
		{"LastSuperuserConcurrent", testLastSuperuserConcurrent},
		{"RemoveUserRacingRefresh", testRemoveUserRacingRefresh},
		{"UnknownUserAdmin", testUnknownUserAdmin},
	}
}

func emailCode(u store.User, label string, created time.Time) store.VerificationCode {
	return makeCode(u, store.CodeEmailChange, label, created)
}

// testChangeEmail: the code changes the email to the address it is bound
// to; the old address finds no one and is free, the new one finds the user.
func testChangeEmail(t *testing.T, mk maker) {
	f := mk(t)
	ec := f.s.(store.EmailChanges)
	alice := f.newUser("alice")
	c := emailCode(alice, "ec1", at(0))
	require.NoError(t, ec.CreateEmailChangeCode(f.ctx, c, "Alice.New@Example.com"))

	pending, err := ec.PendingEmail(f.ctx, alice.ID, 5, at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "Alice.New@Example.com", pending)

	u, err := ec.ChangeEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "Alice.New@Example.com", u.Email)
	require.True(t, u.UpdatedAt.Equal(at(time.Minute)))
	requireUser(t, u, f.user(alice.ID))

	_, err = f.s.UserByEmail(f.ctx, alice.Email)
	require.ErrorIs(t, err, store.ErrNotFound, "the old address")
	got, err := f.s.UserByEmail(f.ctx, "alice.new@example.com")
	require.NoError(t, err)
	require.Equal(t, alice.ID, got.ID)
	f.newUser("alice2") // unrelated
	old := makeUser("olduser")
	old.Email = alice.Email
	f.createUser(old) // the old address is free again

	_, err = ec.PendingEmail(f.ctx, alice.ID, 5, at(2*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the code is spent")
	_, err = ec.ChangeEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(2*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "a spent code works once")
}

// testChangeEmailWrongCode: a wrong code counts an attempt and changes
// nothing; the code dies after maxAttempts; an expired code is gone.
func testChangeEmailWrongCode(t *testing.T, mk maker) {
	f := mk(t)
	ec := f.s.(store.EmailChanges)
	alice := f.newUser("alice")
	c := emailCode(alice, "ec1", at(0))
	require.NoError(t, ec.CreateEmailChangeCode(f.ctx, c, "new@example.com"))
	for range 2 {
		_, err := ec.ChangeEmailWithCode(f.ctx, alice.ID, digest("wrong"), 2, at(time.Minute))
		require.ErrorIs(t, err, store.ErrCodeMismatch)
	}
	requireUser(t, alice, f.user(alice.ID))
	_, err := ec.ChangeEmailWithCode(f.ctx, alice.ID, c.CodeHash, 2, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "out of attempts")
	_, err = ec.PendingEmail(f.ctx, alice.ID, 2, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)

	c2 := emailCode(alice, "ec2", at(0))
	require.NoError(t, ec.CreateEmailChangeCode(f.ctx, c2, "new@example.com"))
	_, err = ec.ChangeEmailWithCode(f.ctx, alice.ID, c2.CodeHash, 5, at(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")
	requireUser(t, alice, f.user(alice.ID))
}

// testChangeEmailTaken: an address taken after the code was sent is a
// conflict at confirmation, and the code stays usable.
func testChangeEmailTaken(t *testing.T, mk maker) {
	f := mk(t)
	ec := f.s.(store.EmailChanges)
	alice := f.newUser("alice")
	c := emailCode(alice, "ec1", at(0))
	require.NoError(t, ec.CreateEmailChangeCode(f.ctx, c, "wanted@example.com"))
	bob := makeUser("bob")
	bob.Email = "WANTED@example.com"
	f.createUser(bob)

	_, err := ec.ChangeEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(time.Minute))
	requireConflict(t, err, store.FieldEmail)
	requireUser(t, alice, f.user(alice.ID))
	f.requireCodeFresh(c, at(time.Minute))

	require.NoError(t, f.s.DeleteUser(f.ctx, bob.ID))
	u, err := ec.ChangeEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "wanted@example.com", u.Email)
}

// testChangeEmailNewerCode: a new code voids the older one and its
// address; the code of one user does nothing for another.
func testChangeEmailNewerCode(t *testing.T, mk maker) {
	f := mk(t)
	ec := f.s.(store.EmailChanges)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	first := emailCode(alice, "ec1", at(0))
	require.NoError(t, ec.CreateEmailChangeCode(f.ctx, first, "first@example.com"))
	second := emailCode(alice, "ec2", at(time.Second))
	require.NoError(t, ec.CreateEmailChangeCode(f.ctx, second, "second@example.com"))
	pending, err := ec.PendingEmail(f.ctx, alice.ID, 5, at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "second@example.com", pending)

	_, err = ec.ChangeEmailWithCode(f.ctx, alice.ID, first.CodeHash, 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrCodeMismatch, "the older code is void")
	_, err = ec.ChangeEmailWithCode(f.ctx, bob.ID, second.CodeHash, 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "bob has no code")
	u, err := ec.ChangeEmailWithCode(f.ctx, alice.ID, second.CodeHash, 5, at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "second@example.com", u.Email)

	err = ec.CreateEmailChangeCode(f.ctx, emailCode(store.User{ID: id("user", "nobody")}, "ec3", at(0)), "x@example.com")
	require.ErrorIs(t, err, store.ErrNotFound, "unknown user")
	err = ec.CreateEmailChangeCode(f.ctx, emailCode(alice, "ec4", at(0)), "bad\x00@example.com")
	require.ErrorIs(t, err, store.ErrInvalidInput)
}

// testChangeEmailDeletedUser: deleting the user removes the pending change.
func testChangeEmailDeletedUser(t *testing.T, mk maker) {
	f := mk(t)
	ec := f.s.(store.EmailChanges)
	alice := f.newUser("alice")
	c := emailCode(alice, "ec1", at(0))
	require.NoError(t, ec.CreateEmailChangeCode(f.ctx, c, "new@example.com"))
	require.NoError(t, f.s.DeleteUser(f.ctx, alice.ID))
	_, err := ec.PendingEmail(f.ctx, alice.ID, 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = ec.ChangeEmailWithCode(f.ctx, alice.ID, c.CodeHash, 5, at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	fresh := f.newUser("alice")
	requireUser(t, fresh, f.user(alice.ID))
}

// listAll pages through the users with the query's prefix, limit at a time.
func listAll(tb testing.TB, f *fixture, prefix string, limit int) [][]store.User {
	tb.Helper()
	a := f.s.(store.Admin)
	var pages [][]store.User
	after := ""
	for range 1000 {
		page, err := a.ListUsers(f.ctx, store.UserQuery{Prefix: prefix, After: after, Limit: limit})
		require.NoError(tb, err)
		require.NotNil(tb, page)
		require.LessOrEqual(tb, len(page), limit)
		if len(page) == 0 {
			return pages
		}
		pages = append(pages, page)
		after = page[len(page)-1].ID
	}
	tb.Fatal("ListUsers never ends")
	return nil
}

func ids(pages [][]store.User) []string {
	var out []string
	for _, p := range pages {
		for _, u := range p {
			out = append(out, u.ID)
		}
	}
	return out
}

// testListUsersPages: every user is listed once, pages in one order, and a
// user added behind the cursor does not shift the pages.
func testListUsersPages(t *testing.T, mk maker) {
	f := mk(t)
	a := f.s.(store.Admin)
	want := map[string]store.User{}
	for i := range 7 {
		u := f.newUser(fmt.Sprintf("user%02d", i))
		want[u.ID] = u
	}
	pages := listAll(t, f, "", 3)
	require.Len(t, pages, 3)
	got := ids(pages)
	require.Len(t, got, 7)
	seen := map[string]bool{}
	for _, p := range pages {
		for _, u := range p {
			require.False(t, seen[u.ID], "listed twice: %s", u.Username)
			seen[u.ID] = true
			requireUser(t, want[u.ID], u)
		}
	}
	require.Equal(t, got, ids(listAll(t, f, "", 2)), "the order does not depend on the page size")
	whole, err := a.ListUsers(f.ctx, store.UserQuery{Limit: 100})
	require.NoError(t, err)
	require.Equal(t, got, ids([][]store.User{whole}))

	none, err := a.ListUsers(f.ctx, store.UserQuery{After: got[6], Limit: 10})
	require.NoError(t, err)
	require.Empty(t, none)
	none, err = a.ListUsers(f.ctx, store.UserQuery{Limit: 0})
	require.NoError(t, err)
	require.Empty(t, none)
}

// testListUsersPrefixIsText: the prefix matches the start of the folded
// username or email, and '%', '_' and '\' match only themselves.
func testListUsersPrefixIsText(t *testing.T, mk maker) {
	f := mk(t)
	mkUser := func(name, email string) store.User {
		u := makeUser(name)
		u.Email = email
		return f.createUser(u)
	}
	ann := mkUser("ann", "ann@example.com")
	anna := mkUser("Anna_b", "zz@example.org")
	under := mkUser("a_x", "under@example.com")
	pct := mkUser("pct", "100%off@example.com")
	back := mkUser("slash", `a\b@example.com`)
	bob := mkUser("bob", "bob.annex@example.com")

	cases := []struct {
		prefix string
		want   []store.User
	}{
		{"ann", []store.User{ann, anna}},
		{"ANN", []store.User{ann, anna}},
		{"  ann ", []store.User{ann, anna}},
		{"anna_", []store.User{anna}},
		{"a_", []store.User{under}},
		{"_", nil},
		{"%", nil},
		{"100%", []store.User{pct}},
		{"1%", nil},
		{`a\`, []store.User{back}},
		{"zz@example.org", []store.User{anna}},
		{"annex", nil}, // not at the start
		{"bob.", []store.User{bob}},
		{"a", []store.User{ann, anna, under, back}},
		{"x\x00", nil},
	}
	for _, c := range cases {
		t.Run(c.prefix, func(t *testing.T) {
			var want []string
			for _, u := range c.want {
				want = append(want, u.ID)
			}
			sort.Strings(want)
			got := ids(listAll(t, f, c.prefix, 2))
			sort.Strings(got)
			require.Equal(t, want, got)
		})
	}
}

func ptr(b bool) *bool { return &b }

// testUpdateUser: each flag is set alone; nil fields stay.
func testUpdateUser(t *testing.T, mk maker) {
	f := mk(t)
	a := f.s.(store.Admin)
	alice := f.newUser("alice")
	u, err := a.UpdateUser(f.ctx, alice.ID, store.UserUpdate{IsSuperuser: ptr(true)}, at(time.Minute))
	require.NoError(t, err)
	want := alice
	want.IsSuperuser, want.UpdatedAt = true, at(time.Minute)
	requireUser(t, want, u)
	requireUser(t, want, f.user(alice.ID))

	u, err = a.UpdateUser(f.ctx, alice.ID, store.UserUpdate{IsVerified: ptr(true)}, at(2*time.Minute))
	require.NoError(t, err)
	want.IsVerified, want.UpdatedAt = true, at(2*time.Minute)
	requireUser(t, want, u)

	bob := f.newUser("bob")
	u, err = a.UpdateUser(f.ctx, bob.ID, store.UserUpdate{IsActive: ptr(true)}, at(time.Minute))
	require.NoError(t, err)
	require.True(t, u.TokensValidAfter.IsZero(), "enabling an active user revokes nothing")
}

// testUpdateUserDisableRevokes: disabling revokes every session and moves
// TokensValidAfter; enabling brings none back.
func testUpdateUserDisableRevokes(t *testing.T, mk maker) {
	f := mk(t)
	a := f.s.(store.Admin)
	alice := f.newUser("alice")
	tok := f.login(makeToken(alice, "A", "a1", at(0)))
	u, err := a.UpdateUser(f.ctx, alice.ID, store.UserUpdate{IsActive: ptr(false)}, at(time.Minute))
	require.NoError(t, err)
	require.False(t, u.IsActive)
	require.True(t, u.TokensValidAfter.Equal(at(time.Minute)))
	f.requireEnded(tok, at(2*time.Minute))
	f.requireSessions(alice.ID, at(2*time.Minute))
	_, err = f.s.UserWithSession(f.ctx, alice.ID, tok.FamilyID, at(2*time.Minute))
	require.ErrorIs(t, err, store.ErrSessionEnded)

	u, err = a.UpdateUser(f.ctx, alice.ID, store.UserUpdate{IsActive: ptr(true)}, at(3*time.Minute))
	require.NoError(t, err)
	require.True(t, u.IsActive)
	f.requireSessions(alice.ID, at(4*time.Minute))
}

// testLastSuperuser: the only active superuser cannot be demoted, disabled
// or removed; with a second one, they can; an inactive superuser does not
// count.
func testLastSuperuser(t *testing.T, mk maker) {
	f := mk(t)
	a := f.s.(store.Admin)
	root := makeUser("root")
	root.IsSuperuser = true
	f.createUser(root)
	dormant := makeUser("dormant")
	dormant.IsSuperuser, dormant.IsActive = true, false
	f.createUser(dormant)

	for name, up := range map[string]store.UserUpdate{
		"demote":  {IsSuperuser: ptr(false)},
		"disable": {IsActive: ptr(false)},
		"both":    {IsSuperuser: ptr(false), IsActive: ptr(false)},
	} {
		_, err := a.UpdateUser(f.ctx, root.ID, up, at(time.Minute))
		require.ErrorIs(t, err, store.ErrLastSuperuser, name)
	}
	require.ErrorIs(t, a.RemoveUser(f.ctx, root.ID), store.ErrLastSuperuser)
	requireUser(t, root, f.user(root.ID))
	_, err := a.UpdateUser(f.ctx, root.ID, store.UserUpdate{IsVerified: ptr(true)}, at(time.Minute))
	require.NoError(t, err, "other flags of the last superuser can change")
	require.NoError(t, a.RemoveUser(f.ctx, dormant.ID), "an inactive superuser is not the last")

	second := f.newUser("second")
	_, err = a.UpdateUser(f.ctx, second.ID, store.UserUpdate{IsSuperuser: ptr(true)}, at(time.Minute))
	require.NoError(t, err)
	_, err = a.UpdateUser(f.ctx, root.ID, store.UserUpdate{IsSuperuser: ptr(false)}, at(2*time.Minute))
	require.NoError(t, err)
	require.ErrorIs(t, a.RemoveUser(f.ctx, second.ID), store.ErrLastSuperuser)
	plain := f.newUser("plain")
	require.NoError(t, a.RemoveUser(f.ctx, plain.ID))
	f.requireNoUser(plain.ID)
}

// testLastSuperuserConcurrent: of superusers who all demote or remove
// themselves at once, exactly one stays.
func testLastSuperuserConcurrent(t *testing.T, mk maker) {
	f := mk(t)
	a := f.s.(store.Admin)
	const n = 8
	var users []store.User
	for i := range n {
		u := makeUser(fmt.Sprintf("root%d", i))
		u.IsSuperuser = true
		users = append(users, f.createUser(u))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, u := range users {
		wg.Go(func() {
			if i%2 == 0 {
				errs[i] = a.RemoveUser(f.ctx, u.ID)
				return
			}
			_, errs[i] = a.UpdateUser(f.ctx, u.ID, store.UserUpdate{IsSuperuser: ptr(false)}, at(time.Minute))
		})
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, store.ErrLastSuperuser)
			refused++
		}
	}
	require.Equal(t, 1, refused)
	left := 0
	for _, u := range listAll(t, f, "", 100) {
		for _, x := range u {
			if x.IsSuperuser && x.IsActive {
				left++
			}
		}
	}
	require.Equal(t, 1, left)
}

// testRemoveUserRacingRefresh: a removal racing rotations and logins of
// the same user leaves no token of theirs.
func testRemoveUserRacingRefresh(t *testing.T, mk maker) {
	f := mk(t)
	a := f.s.(store.Admin)
	for round := range 5 {
		u := f.newUser(fmt.Sprintf("victim%d", round))
		var toks []store.RefreshToken
		for i := range 4 {
			toks = append(toks, f.login(makeToken(u, fmt.Sprintf("F%d", i), fmt.Sprintf("r%d-%d", round, i), at(0))))
		}
		var wg sync.WaitGroup
		for i, tok := range toks {
			wg.Go(func() {
				next := makeToken(u, fmt.Sprintf("F%d", i), fmt.Sprintf("r%d-%d-next", round, i), at(time.Minute))
				_ = f.s.RotateRefreshToken(f.ctx, tok.TokenHash, next, at(time.Minute))
			})
		}
		wg.Go(func() {
			extra := makeToken(u, "X", fmt.Sprintf("r%d-extra", round), at(time.Minute))
			_ = f.s.CreateSession(f.ctx, extra, u.HashedPassword)
		})
		wg.Go(func() { require.NoError(t, a.RemoveUser(f.ctx, u.ID)) })
		wg.Wait()
		f.requireNoUser(u.ID)
		sessions, err := f.s.Sessions(f.ctx, u.ID, at(2*time.Minute))
		require.NoError(t, err)
		require.Empty(t, sessions)
		for i := range toks {
			next := makeToken(u, fmt.Sprintf("F%d", i), fmt.Sprintf("r%d-%d-next", round, i), at(time.Minute))
			probe := makeToken(u, fmt.Sprintf("F%d", i), fmt.Sprintf("r%d-%d-probe", round, i), at(2*time.Minute))
			err := f.s.RotateRefreshToken(f.ctx, next.TokenHash, probe, at(2*time.Minute))
			require.Error(t, err, "a token of a removed user rotates")
		}
	}
}

// testUnknownUserAdmin: the admin methods on an unknown user.
func testUnknownUserAdmin(t *testing.T, mk maker) {
	f := mk(t)
	a := f.s.(store.Admin)
	nobody := id("user", "nobody")
	_, err := a.UpdateUser(f.ctx, nobody, store.UserUpdate{IsActive: ptr(false)}, at(0))
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, a.RemoveUser(f.ctx, nobody), store.ErrNotFound)
	_, err = a.UpdateUser(f.ctx, "bad\x00id", store.UserUpdate{}, at(0))
	require.ErrorIs(t, err, store.ErrNotFound)
	page, err := a.ListUsers(f.ctx, store.UserQuery{Prefix: "bad\xff", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, page)
}
