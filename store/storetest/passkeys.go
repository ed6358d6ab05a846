package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
)

func passkeyCases() []testCase {
	return []testCase{
		{"CreateAndList", testPasskeyCreateAndList},
		{"CredentialIsUnique", testPasskeyCredentialUnique},
		{"IDIsUnique", testPasskeyIDUnique},
		{"UnknownUser", testPasskeyUnknownUser},
		{"InvalidText", testPasskeyInvalidText},
		{"Rename", testPasskeyRename},
		{"SignCounter", testPasskeySignCounter},
		{"UseFlags", testPasskeyUseFlags},
		{"ConcurrentUse", testPasskeyConcurrentUse},
		{"UserHandle", testUserHandle},
		{"UserHandleConcurrent", testUserHandleConcurrent},
		{"Delete", testDeletePasskey},
		{"DeleteWithIdentity", testDeletePasskeyWithIdentity},
		{"DeleteLastConcurrently", testDeleteLastPasskeyConcurrently},
		{"DeleteUser", testPasskeysDeleteUser},
		{"CreateUserWithPasskey", testCreateUserWithPasskey},
		{"CreateUserWithPasskeyConflicts", testCreateUserWithPasskeyConflicts},
		{"ReplacesOnlyUnverified", testPasskeyReplaceUnverified},
		{"DeleteUnverified", testPasskeysDeleteUnverified},
		{"Canceled", testPasskeysCanceled},
		{"Times", testPasskeyTimes},
	}
}

// passkeyFixture is a fixture whose store keeps passkeys.
func passkeyFixture(t *testing.T, mk maker) (*fixture, store.Passkeys) {
	f := mk(t)
	return f, f.s.(store.Passkeys)
}

// credential returns a stable credential id for a label: bytes a text
// column could not hold (a NUL byte, invalid UTF-8).
func credential(label string) []byte {
	sum := sha256.Sum256([]byte("credential:" + label))
	return append([]byte{0, 0xff}, sum[:]...)
}

// userHandle returns a stable 32-byte WebAuthn user handle for a label,
// starting with a NUL byte.
func userHandle(label string) []byte {
	sum := sha256.Sum256([]byte("handle:" + label))
	sum[0] = 0
	return sum[:]
}

// makePasskey returns the passkey labelled label of u, registered at
// created and never used.
func makePasskey(u store.User, label string, created time.Time) store.Passkey {
	key := sha256.Sum256([]byte("public key:" + label))
	aaguid := sha256.Sum256([]byte("aaguid:" + label))
	return store.Passkey{
		ID:                id("passkey", label),
		UserID:            u.ID,
		CredentialID:      credential(label),
		PublicKey:         append([]byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x00}, key[:]...),
		AAGUID:            aaguid[:16],
		Transports:        []string{"internal", "hybrid"},
		BackupEligible:    true,
		AttestationType:   "none",
		AttestationFormat: "none",
		Name:              "passkey " + label,
		CreatedAt:         created,
	}
}

// normPasskey reduces p to what a store must keep: times at microsecond
// precision in UTC, and an empty byte slice or list alike whether nil or
// not.
func normPasskey(p store.Passkey) store.Passkey {
	p.CreatedAt, p.LastUsedAt = norm(p.CreatedAt), norm(p.LastUsedAt)
	for _, b := range []*[]byte{&p.CredentialID, &p.PublicKey, &p.AAGUID} {
		if len(*b) == 0 {
			*b = nil
		}
	}
	if len(p.Transports) == 0 {
		p.Transports = nil
	}
	return p
}

func requirePasskey(tb testing.TB, want, got store.Passkey) {
	tb.Helper()
	requireUTC(tb, "Passkey", map[string]time.Time{"CreatedAt": got.CreatedAt, "LastUsedAt": got.LastUsedAt})
	require.Equal(tb, normPasskey(want), normPasskey(got), "passkey %s", want.Name)
}

func (f *fixture) createPasskey(pk store.Passkeys, p store.Passkey) store.Passkey {
	f.t.Helper()
	require.NoError(f.t, pk.CreatePasskey(f.ctx, p), "CreatePasskey(%s)", p.Name)
	return p
}

// requirePasskeys asserts the user's passkeys, in order.
func (f *fixture) requirePasskeys(pk store.Passkeys, userID string, want ...store.Passkey) {
	f.t.Helper()
	got, err := pk.Passkeys(f.ctx, userID)
	require.NoError(f.t, err, "Passkeys")
	require.NotNil(f.t, got, "Passkeys returns an empty slice, not nil")
	require.Len(f.t, got, len(want), "passkeys: %+v", got)
	for i := range want {
		requirePasskey(f.t, want[i], got[i])
	}
}

// requireByCredential asserts that the passkey with p's credential id is p.
func (f *fixture) requireByCredential(pk store.Passkeys, p store.Passkey) {
	f.t.Helper()
	got, err := pk.PasskeyByCredentialID(f.ctx, p.CredentialID)
	require.NoError(f.t, err, "PasskeyByCredentialID")
	requirePasskey(f.t, p, got)
}

// requireNoCredential asserts that no passkey has the credential id.
func (f *fixture) requireNoCredential(pk store.Passkeys, credentialID []byte) {
	f.t.Helper()
	_, err := pk.PasskeyByCredentialID(f.ctx, credentialID)
	require.ErrorIs(f.t, err, store.ErrNotFound, "PasskeyByCredentialID of a credential that must not exist")
}

// requireNoHandle asserts that no user has the handle.
func (f *fixture) requireNoHandle(pk store.Passkeys, handle []byte) {
	f.t.Helper()
	_, err := pk.UserByHandle(f.ctx, handle)
	require.ErrorIs(f.t, err, store.ErrNotFound, "UserByHandle of a handle that must not exist")
}

// used is p after a successful UsePasskey with these arguments.
func used(p store.Passkey, signCount uint32, backupState, userVerified bool, when time.Time) store.Passkey {
	p.SignCount, p.BackupState, p.LastUsedAt = signCount, backupState, when
	p.UserVerified = p.UserVerified || userVerified
	return p
}

func testPasskeyCreateAndList(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	// Created newest first, to show the list is ordered by CreatedAt.
	newer := makePasskey(alice, "newer", at(time.Hour))
	newer.Transports = []string{"usb", "nfc", "ble"} // kept in this order
	newer.SignCount, newer.UserVerified, newer.BackupState = 7, true, true
	newer.AttestationType, newer.AttestationFormat = "basic", "packed"
	newer.LastUsedAt = at(2 * time.Hour)
	older := makePasskey(alice, "older", at(0))
	older.AAGUID = make([]byte, 16) // an authenticator that does not say
	older.Transports, older.BackupEligible, older.Name = nil, false, ""
	f.createPasskey(pk, newer)
	f.createPasskey(pk, older)

	f.requirePasskeys(pk, alice.ID, older, newer)
	f.requirePasskeys(pk, bob.ID)
	f.requirePasskeys(pk, id("user", "nobody"))
	f.requirePasskeys(pk, "bad\x00")
	f.requireByCredential(pk, older)
	f.requireByCredential(pk, newer)
	f.requireNoCredential(pk, credential("nothing"))
	f.requireNoCredential(pk, nil)
	f.requireNoCredential(pk, newer.CredentialID[:len(newer.CredentialID)-1])

	// What the caller holds is not what the store keeps: changing either
	// side's bytes changes nothing stored.
	third := makePasskey(bob, "third", at(0))
	cred := bytes.Clone(third.CredentialID)
	f.createPasskey(pk, third)
	third.CredentialID[2] ^= 0xff
	third.PublicKey[0] ^= 0xff
	third.Transports[0] = "changed"
	got, err := pk.PasskeyByCredentialID(f.ctx, cred)
	require.NoError(t, err)
	requirePasskey(t, makePasskey(bob, "third", at(0)), got)
	got.PublicKey[0] ^= 0xff
	got.Transports[0] = "changed"
	f.requirePasskeys(pk, bob.ID, makePasskey(bob, "third", at(0)))
}

func testPasskeyCredentialUnique(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.createPasskey(pk, makePasskey(alice, "a1", at(0)))

	// The same credential id for another user, or again for alice.
	for _, u := range []store.User{bob, alice} {
		again := makePasskey(u, "again-"+u.Username, at(time.Minute))
		again.CredentialID = bytes.Clone(a1.CredentialID)
		requireConflict(t, pk.CreatePasskey(f.ctx, again), store.FieldCredential)
		_, err := pk.RenamePasskey(f.ctx, u.ID, again.ID, "x")
		require.ErrorIs(t, err, store.ErrNotFound, "the refused passkey was not stored")
	}
	f.requirePasskeys(pk, bob.ID)
	f.requirePasskeys(pk, alice.ID, a1)
	f.requireByCredential(pk, a1)
}

func testPasskeyIDUnique(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.createPasskey(pk, makePasskey(alice, "a1", at(0)))
	sameID := makePasskey(bob, "b1", at(time.Minute))
	sameID.ID = a1.ID
	requireConflict(t, pk.CreatePasskey(f.ctx, sameID), store.FieldID)
	f.requireNoCredential(pk, sameID.CredentialID)
	f.requirePasskeys(pk, bob.ID)
	f.requirePasskeys(pk, alice.ID, a1)
}

func testPasskeyUnknownUser(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	ghost := makePasskey(makeUser("ghost"), "g1", at(0))
	require.ErrorIs(t, pk.CreatePasskey(f.ctx, ghost), store.ErrNotFound)
	f.requireNoCredential(pk, ghost.CredentialID)
	f.requirePasskeys(pk, ghost.UserID)
}

// testPasskeyInvalidText: text a text column cannot hold is refused in
// every text field of a passkey, and changes nothing; byte fields hold
// any bytes.
func testPasskeyInvalidText(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice := f.newUser("alice")
	for name, spoil := range map[string]func(p *store.Passkey){
		"ID":                func(p *store.Passkey) { p.ID = "bad\x00" },
		"Name":              func(p *store.Passkey) { p.Name = "bad\x00" },
		"Transports":        func(p *store.Passkey) { p.Transports = []string{"internal", "bad\xff"} },
		"AttestationType":   func(p *store.Passkey) { p.AttestationType = "bad\xff" },
		"AttestationFormat": func(p *store.Passkey) { p.AttestationFormat = "bad\x00" },
	} {
		p := makePasskey(alice, "bad "+name, at(0))
		spoil(&p)
		require.ErrorIs(t, pk.CreatePasskey(f.ctx, p), store.ErrInvalidInput, name)
		f.requireNoCredential(pk, p.CredentialID)

		u := providerUser("bob")
		p.UserID = u.ID
		require.ErrorIs(t, pk.CreateUserWithPasskey(f.ctx, u, userHandle("bob"), p, false), store.ErrInvalidInput, name)
		f.requireNoUser(u.ID)
		f.requireNoCredential(pk, p.CredentialID)
		f.requireNoHandle(pk, userHandle("bob"))
	}
	f.requirePasskeys(pk, alice.ID)

	a1 := f.createPasskey(pk, makePasskey(alice, "a1", at(0)))
	_, err := pk.RenamePasskey(f.ctx, alice.ID, a1.ID, "bad\xff")
	require.ErrorIs(t, err, store.ErrInvalidInput)
	f.requirePasskeys(pk, alice.ID, a1)
}

func testPasskeyRename(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.createPasskey(pk, makePasskey(alice, "a1", at(0)))
	b1 := f.createPasskey(pk, makePasskey(bob, "b1", at(0)))

	got, err := pk.RenamePasskey(f.ctx, alice.ID, a1.ID, "Work laptop ✓")
	require.NoError(t, err)
	a1.Name = "Work laptop ✓"
	requirePasskey(t, a1, got)
	f.requirePasskeys(pk, alice.ID, a1)

	// Another user's passkey, an unknown one, or text no ID can be, is
	// not found; nothing changes.
	for _, args := range [][2]string{
		{alice.ID, b1.ID}, {bob.ID, a1.ID}, {alice.ID, id("passkey", "none")},
		{id("user", "nobody"), a1.ID}, {alice.ID, "bad\x00"}, {"bad\xff", a1.ID},
	} {
		_, err := pk.RenamePasskey(f.ctx, args[0], args[1], "stolen")
		require.ErrorIs(t, err, store.ErrNotFound, "RenamePasskey(%q, %q)", args[0], args[1])
	}
	f.requirePasskeys(pk, alice.ID, a1)
	f.requirePasskeys(pk, bob.ID, b1)
}

// testPasskeySignCounter: the counter is a compare-and-set; a step that
// fails changes nothing.
func testPasskeySignCounter(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice := f.newUser("alice")

	// An authenticator that does not count: 0 after 0, again and again.
	synced := f.createPasskey(pk, makePasskey(alice, "synced", at(0)))
	for i := range 3 {
		when := at(time.Duration(i+1) * time.Minute)
		require.NoError(t, pk.UsePasskey(f.ctx, alice.ID, synced.ID, 0, true, false, when), "use %d", i)
		synced = used(synced, 0, true, false, when)
	}
	f.requireByCredential(pk, synced)

	// One that counts.
	counting := makePasskey(alice, "counting", at(0))
	counting.SignCount = 5
	f.createPasskey(pk, counting)
	for _, tt := range []struct {
		count uint32
		err   error
	}{
		{0, store.ErrStale}, // 0 after a counting authenticator: a clone that does not count
		{5, store.ErrStale}, // stood still
		{4, store.ErrStale}, // went backwards
		{6, nil},
		{6, store.ErrStale}, // the same ceremony replayed
		{1 << 31, nil},
		{1<<31 - 1, store.ErrStale},
		{1<<32 - 1, nil}, // the counter's whole range
		{0, store.ErrStale},
	} {
		when := at(time.Hour + time.Duration(tt.count)*time.Microsecond)
		err := pk.UsePasskey(f.ctx, alice.ID, counting.ID, tt.count, false, false, when)
		if tt.err != nil {
			require.ErrorIs(t, err, tt.err, "count %d after %d", tt.count, counting.SignCount)
		} else {
			require.NoError(t, err, "count %d after %d", tt.count, counting.SignCount)
			counting = used(counting, tt.count, false, false, when)
		}
		f.requireByCredential(pk, counting)
	}
	f.requireByCredential(pk, synced)
}

func testPasskeyUseFlags(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	a1 := f.createPasskey(pk, makePasskey(alice, "a1", at(0)))
	b1 := f.createPasskey(pk, makePasskey(bob, "b1", at(0)))

	steps := []struct {
		backupState, userVerified bool
	}{
		{true, false},  // synced now; not verified yet
		{true, true},   // verified
		{false, false}, // no longer synced; verified stays set
		{true, false},
	}
	for i, st := range steps {
		count, when := uint32(i+1), at(time.Duration(i+1)*time.Minute)
		require.NoError(t, pk.UsePasskey(f.ctx, alice.ID, a1.ID, count, st.backupState, st.userVerified, when), "step %d", i)
		a1 = used(a1, count, st.backupState, st.userVerified, when)
		f.requireByCredential(pk, a1)
		require.Equal(t, i >= 1, a1.UserVerified, "step %d", i)
	}

	// Another user's passkey, an unknown one, or text no ID can be, is
	// not found; nothing changes.
	for _, args := range [][2]string{
		{alice.ID, b1.ID}, {bob.ID, a1.ID}, {alice.ID, id("passkey", "none")},
		{id("user", "nobody"), a1.ID}, {alice.ID, "bad\x00"}, {"bad\xff", a1.ID},
	} {
		err := pk.UsePasskey(f.ctx, args[0], args[1], 100, false, true, at(time.Hour))
		require.ErrorIs(t, err, store.ErrNotFound, "UsePasskey(%q, %q)", args[0], args[1])
	}
	f.requirePasskeys(pk, alice.ID, a1)
	f.requirePasskeys(pk, bob.ID, b1)
}

// testPasskeyConcurrentUse: of concurrent sign-ins showing one counter
// value (a replay racing the real one), exactly one is taken; of
// sign-ins showing distinct values, the greatest always is.
func testPasskeyConcurrentUse(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice := f.newUser("alice")
	p := makePasskey(alice, "a1", at(0))
	p.SignCount = 10
	f.createPasskey(pk, p)
	const n = 50
	errs := parallel(n, func(i int) error {
		return pk.UsePasskey(f.ctx, alice.ID, p.ID, 11, false, false, at(time.Duration(i+1)*time.Second))
	})
	require.NoError(t, firstOther(errs, store.ErrStale))
	require.Equal(t, map[string]int{"ok": 1, store.ErrStale.Error(): n - 1}, tally(errs, store.ErrStale))
	for i, err := range errs {
		if err == nil {
			p = used(p, 11, false, false, at(time.Duration(i+1)*time.Second))
		}
	}
	f.requireByCredential(pk, p)

	errs = parallel(n, func(i int) error {
		return pk.UsePasskey(f.ctx, alice.ID, p.ID, uint32(12+i), false, false, at(time.Hour))
	})
	require.NoError(t, firstOther(errs, store.ErrStale))
	require.NoError(t, errs[n-1], "the greatest counter")
	got, err := pk.PasskeyByCredentialID(f.ctx, p.CredentialID)
	require.NoError(t, err)
	require.Equal(t, uint32(12+n-1), got.SignCount)
}

func testUserHandle(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice, bob := f.newUser("alice"), f.newUser("bob")
	f.requireNoHandle(pk, userHandle("alice"))

	got, err := pk.UserHandle(f.ctx, alice.ID, userHandle("alice"))
	require.NoError(t, err)
	require.Equal(t, userHandle("alice"), got, "the first handle is stored")
	got[1] ^= 0xff // the caller's copy
	got, err = pk.UserHandle(f.ctx, alice.ID, userHandle("alice-later"))
	require.NoError(t, err)
	require.Equal(t, userHandle("alice"), got, "a later call gets the stored handle")
	f.requireNoHandle(pk, userHandle("alice-later"))
	found, err := pk.UserByHandle(f.ctx, userHandle("alice"))
	require.NoError(t, err)
	requireUser(t, alice, found)

	// Alice's handle is hers: bob, who has none, cannot take it.
	_, err = pk.UserHandle(f.ctx, bob.ID, userHandle("alice"))
	requireConflict(t, err, store.FieldID)
	found, err = pk.UserByHandle(f.ctx, userHandle("alice"))
	require.NoError(t, err)
	requireUser(t, alice, found)
	got, err = pk.UserHandle(f.ctx, bob.ID, userHandle("bob"))
	require.NoError(t, err)
	require.Equal(t, userHandle("bob"), got, "bob still had none")
	found, err = pk.UserByHandle(f.ctx, userHandle("bob"))
	require.NoError(t, err)
	requireUser(t, bob, found)

	for _, userID := range []string{id("user", "nobody"), "bad\x00"} {
		_, err = pk.UserHandle(f.ctx, userID, userHandle("nobody"))
		require.ErrorIs(t, err, store.ErrNotFound, "UserHandle(%q)", userID)
	}
	f.requireNoHandle(pk, userHandle("nobody"))
	f.requireNoHandle(pk, nil)
	f.requireNoHandle(pk, userHandle("alice")[:31])
}

// testUserHandleConcurrent: of concurrent first calls for one user, each
// offering its own handle, one handle is stored and every caller gets it.
func testUserHandleConcurrent(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice := f.newUser("alice")
	const n = 50
	got := make([][]byte, n)
	errs := parallel(n, func(i int) error {
		h, err := pk.UserHandle(f.ctx, alice.ID, userHandle(fmt.Sprint(i)))
		got[i] = h
		return err
	})
	for i, err := range errs {
		require.NoError(t, err, "call %d", i)
	}
	winner := -1
	for i := range n {
		if bytes.Equal(got[0], userHandle(fmt.Sprint(i))) {
			winner = i
		}
	}
	require.NotEqual(t, -1, winner, "the stored handle is one of those offered")
	for i := range n {
		require.Equal(t, got[0], got[i], "call %d", i)
		if i != winner {
			f.requireNoHandle(pk, userHandle(fmt.Sprint(i)))
		}
	}
	found, err := pk.UserByHandle(f.ctx, got[0])
	require.NoError(t, err)
	require.Equal(t, alice.ID, found.ID)
}

func testDeletePasskey(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice := providerUser("alice") // no password
	a1 := makePasskey(alice, "a1", at(0))
	require.NoError(t, pk.CreateUserWithPasskey(f.ctx, alice, userHandle("alice"), a1, false))
	bob := f.newUser("bob") // a password
	b1 := f.createPasskey(pk, makePasskey(bob, "b1", at(0)))

	// Alice's only passkey is her last way in.
	require.ErrorIs(t, pk.DeletePasskey(f.ctx, alice.ID, a1.ID), store.ErrLastLoginMethod)
	f.requirePasskeys(pk, alice.ID, a1)
	// Someone else's passkey, an unknown one, or text no ID can be, is
	// not found.
	for _, args := range [][2]string{
		{alice.ID, b1.ID}, {bob.ID, a1.ID}, {alice.ID, id("passkey", "none")},
		{id("user", "nobody"), a1.ID}, {alice.ID, "bad\x00"}, {"bad\xff", a1.ID},
	} {
		require.ErrorIs(t, pk.DeletePasskey(f.ctx, args[0], args[1]), store.ErrNotFound,
			"DeletePasskey(%q, %q)", args[0], args[1])
	}

	// With a second passkey either may go, but not both.
	a2 := f.createPasskey(pk, makePasskey(alice, "a2", at(time.Minute)))
	require.NoError(t, pk.DeletePasskey(f.ctx, alice.ID, a1.ID))
	f.requireNoCredential(pk, a1.CredentialID)
	require.ErrorIs(t, pk.DeletePasskey(f.ctx, alice.ID, a2.ID), store.ErrLastLoginMethod)
	f.requirePasskeys(pk, alice.ID, a2)
	// The handle stays: it is the account's, not the passkey's.
	found, err := pk.UserByHandle(f.ctx, userHandle("alice"))
	require.NoError(t, err)
	require.Equal(t, alice.ID, found.ID)

	// Bob has a password: his only passkey may go, and its credential id
	// is free again.
	require.NoError(t, pk.DeletePasskey(f.ctx, bob.ID, b1.ID))
	f.requirePasskeys(pk, bob.ID)
	f.requireNoCredential(pk, b1.CredentialID)
	require.ErrorIs(t, pk.DeletePasskey(f.ctx, bob.ID, b1.ID), store.ErrNotFound, "deleted already")
	f.createPasskey(pk, b1)
}

// testDeletePasskeyWithIdentity: an identity is another way to sign in
// for DeletePasskey, and a passkey one for DeleteIdentity.
func testDeletePasskeyWithIdentity(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	is, ok := f.s.(store.Identities)
	if !ok {
		t.Skip("the store does not implement store.Identities")
	}
	alice := providerUser("alice")
	g := makeIdentity(alice, "google", "sub-1", at(0))
	require.NoError(t, is.CreateUserWithIdentity(f.ctx, alice, g, false))
	a1 := f.createPasskey(pk, makePasskey(alice, "a1", at(0)))

	require.NoError(t, is.DeleteIdentity(f.ctx, alice.ID, g.ID), "a passkey remains")
	require.ErrorIs(t, pk.DeletePasskey(f.ctx, alice.ID, a1.ID), store.ErrLastLoginMethod)
	require.NoError(t, is.AddIdentity(f.ctx, g))
	require.NoError(t, pk.DeletePasskey(f.ctx, alice.ID, a1.ID), "an identity remains")
	require.ErrorIs(t, is.DeleteIdentity(f.ctx, alice.ID, g.ID), store.ErrLastLoginMethod)
	f.requirePasskeys(pk, alice.ID)
}

// testDeleteLastPasskeyConcurrently: of two concurrent deletions of the
// two ways a user without a password signs in, exactly one succeeds,
// whether both are passkeys or (when the store keeps identities) one is an
// identity.
func testDeleteLastPasskeyConcurrently(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	is, hasIdentities := f.s.(store.Identities)
	for round := range 10 {
		withIdentity := round%2 == 1 && hasIdentities
		u := providerUser(fmt.Sprintf("user%d", round))
		a := makePasskey(u, u.Username+"-a", at(0))
		require.NoError(t, pk.CreateUserWithPasskey(f.ctx, u, userHandle(u.Username), a, false))
		b := makePasskey(u, u.Username+"-b", at(0))
		g := makeIdentity(u, "google", u.Username, at(0))
		if withIdentity {
			require.NoError(t, is.AddIdentity(f.ctx, g))
		} else {
			f.createPasskey(pk, b)
		}
		errs := parallel(2, func(i int) error {
			switch {
			case i == 0:
				return pk.DeletePasskey(f.ctx, u.ID, a.ID)
			case withIdentity:
				return is.DeleteIdentity(f.ctx, u.ID, g.ID)
			}
			return pk.DeletePasskey(f.ctx, u.ID, b.ID)
		})
		require.NoError(t, firstOther(errs, store.ErrLastLoginMethod), "round %d", round)
		require.Equal(t, map[string]int{"ok": 1, store.ErrLastLoginMethod.Error(): 1},
			tally(errs, store.ErrLastLoginMethod), "round %d", round)
		list, err := pk.Passkeys(f.ctx, u.ID)
		require.NoError(t, err)
		left := len(list)
		if withIdentity {
			ids, err := is.Identities(f.ctx, u.ID)
			require.NoError(t, err)
			left += len(ids)
		}
		require.Equal(t, 1, left, "round %d: ways to sign in left", round)
	}
}

func testPasskeysDeleteUser(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice := providerUser("alice")
	a1 := makePasskey(alice, "a1", at(0))
	require.NoError(t, pk.CreateUserWithPasskey(f.ctx, alice, userHandle("alice"), a1, false))
	a2 := f.createPasskey(pk, makePasskey(alice, "a2", at(time.Minute)))
	bob := f.newUser("bob")
	b1 := f.createPasskey(pk, makePasskey(bob, "b1", at(0)))
	_, err := pk.UserHandle(f.ctx, bob.ID, userHandle("bob"))
	require.NoError(t, err)

	require.NoError(t, f.s.DeleteUser(f.ctx, alice.ID))
	f.requireNoHandle(pk, userHandle("alice"))
	f.requireNoCredential(pk, a1.CredentialID)
	f.requireNoCredential(pk, a2.CredentialID)
	f.requirePasskeys(pk, alice.ID)
	require.ErrorIs(t, pk.DeletePasskey(f.ctx, alice.ID, a1.ID), store.ErrNotFound)
	f.requirePasskeys(pk, bob.ID, b1)
	found, err := pk.UserByHandle(f.ctx, userHandle("bob"))
	require.NoError(t, err)
	require.Equal(t, bob.ID, found.ID)

	// Alice's handle, credential ids and passkey IDs are free again.
	reused := a1
	reused.UserID = bob.ID
	f.createPasskey(pk, reused)
	carol := f.newUser("carol")
	got, err := pk.UserHandle(f.ctx, carol.ID, userHandle("alice"))
	require.NoError(t, err)
	require.Equal(t, userHandle("alice"), got)
	require.NoError(t, pk.CreateUserWithPasskey(f.ctx, alice, userHandle("alice-again"), a2, false))
}

func testCreateUserWithPasskey(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice := providerUser("alice")
	a1 := makePasskey(alice, "a1", at(0))
	a1.SignCount, a1.UserVerified = 3, true
	require.NoError(t, pk.CreateUserWithPasskey(f.ctx, alice, userHandle("alice"), a1, false))

	requireUser(t, alice, f.user(alice.ID))
	found, err := pk.UserByHandle(f.ctx, userHandle("alice"))
	require.NoError(t, err)
	requireUser(t, alice, found)
	got, err := pk.UserHandle(f.ctx, alice.ID, userHandle("other"))
	require.NoError(t, err)
	require.Equal(t, userHandle("alice"), got, "the handle was stored with the user")
	f.requirePasskeys(pk, alice.ID, a1)
	f.requireByCredential(pk, a1)
}

// testCreateUserWithPasskeyConflicts: whichever key is taken, the sign-up
// is one step that changes nothing.
func testCreateUserWithPasskeyConflicts(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	holder := makeUser("holder")
	holder.IsVerified = true
	f.createUser(holder)
	h1 := f.createPasskey(pk, makePasskey(holder, "h1", at(0)))
	_, err := pk.UserHandle(f.ctx, holder.ID, userHandle("holder"))
	require.NoError(t, err)

	for _, tt := range []struct {
		name  string
		spoil func(u *store.User, handle *[]byte, p *store.Passkey)
		field string
	}{
		{"email", func(u *store.User, _ *[]byte, _ *store.Passkey) { u.Email = "HOLDER@example.com" }, store.FieldEmail},
		{"username", func(u *store.User, _ *[]byte, _ *store.Passkey) { u.Username = "Holder" }, store.FieldUsername},
		{"user ID", func(u *store.User, _ *[]byte, p *store.Passkey) { u.ID, p.UserID = holder.ID, holder.ID }, store.FieldID},
		{"credential", func(_ *store.User, _ *[]byte, p *store.Passkey) { p.CredentialID = bytes.Clone(h1.CredentialID) }, store.FieldCredential},
		{"passkey ID", func(_ *store.User, _ *[]byte, p *store.Passkey) { p.ID = h1.ID }, store.FieldID},
		{"handle", func(_ *store.User, handle *[]byte, _ *store.Passkey) { *handle = userHandle("holder") }, store.FieldID},
	} {
		for _, replace := range []bool{false, true} {
			u := providerUser("newcomer")
			handle := userHandle("newcomer")
			p := makePasskey(u, "n1", at(time.Minute))
			tt.spoil(&u, &handle, &p)
			err := pk.CreateUserWithPasskey(f.ctx, u, handle, p, replace)
			requireConflict(t, err, tt.field)
			if u.ID != holder.ID {
				f.requireNoUser(u.ID)
			}
			if !bytes.Equal(handle, userHandle("holder")) {
				f.requireNoHandle(pk, handle)
			}
			if !bytes.Equal(p.CredentialID, h1.CredentialID) {
				f.requireNoCredential(pk, p.CredentialID)
			}
		}
	}
	requireUser(t, holder, f.user(holder.ID))
	f.requirePasskeys(pk, holder.ID, h1)
	found, err := pk.UserByHandle(f.ctx, userHandle("holder"))
	require.NoError(t, err)
	require.Equal(t, holder.ID, found.ID)
}

func testPasskeyReplaceUnverified(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	squatter := providerUser("squatter")
	s1 := makePasskey(squatter, "s1", at(0))
	require.NoError(t, pk.CreateUserWithPasskey(f.ctx, squatter, userHandle("squatter"), s1, false))

	owner := providerUser("owner")
	owner.Email, owner.IsVerified = squatter.Email, true
	o1 := makePasskey(owner, "o1", at(time.Minute))
	// Without replacement an unverified holder is a conflict too.
	requireConflict(t, pk.CreateUserWithPasskey(f.ctx, owner, userHandle("owner"), o1, false), store.FieldEmail)
	f.user(squatter.ID)
	f.requireNoUser(owner.ID)
	f.requireNoCredential(pk, o1.CredentialID)

	// The squatter goes first with every record of theirs, so even their
	// handle and credential id are no conflict.
	o1.CredentialID = bytes.Clone(s1.CredentialID)
	require.NoError(t, pk.CreateUserWithPasskey(f.ctx, owner, userHandle("squatter"), o1, true))
	f.requireNoUser(squatter.ID)
	f.requirePasskeys(pk, squatter.ID)
	got, err := f.s.UserByEmail(f.ctx, squatter.Email)
	require.NoError(t, err)
	require.Equal(t, owner.ID, got.ID)
	found, err := pk.UserByHandle(f.ctx, userHandle("squatter"))
	require.NoError(t, err)
	require.Equal(t, owner.ID, found.ID)
	f.requireByCredential(pk, o1)

	// The owner is verified: a later sign-up for the address is refused.
	late := providerUser("late")
	late.Email = owner.Email
	requireConflict(t, pk.CreateUserWithPasskey(f.ctx, late, userHandle("late"), makePasskey(late, "l1", at(0)), true),
		store.FieldEmail)
	f.requireNoUser(late.ID)
	f.requirePasskeys(pk, owner.ID, o1)
}

func testPasskeysDeleteUnverified(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	c, ok := f.s.(store.Cleaner)
	if !ok {
		t.Skip("the store does not implement store.Cleaner")
	}
	u := providerUser("alice") // unverified: nobody vouched for the email
	p := makePasskey(u, "a1", at(0))
	require.NoError(t, pk.CreateUserWithPasskey(f.ctx, u, userHandle("alice"), p, false))
	n, err := c.DeleteExpired(f.ctx, at(time.Hour), at(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(3), n, "the user, the handle and the passkey")
	f.requireNoUser(u.ID)
	f.requireNoCredential(pk, p.CredentialID)
	f.requireNoHandle(pk, userHandle("alice"))
}

// testPasskeysCanceled calls every method of store.Passkeys with a
// canceled context: each must fail with an error matching
// context.Canceled and change nothing.
func testPasskeysCanceled(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	alice := providerUser("alice")
	a1 := makePasskey(alice, "a1", at(0))
	require.NoError(t, pk.CreateUserWithPasskey(f.ctx, alice, userHandle("alice"), a1, false))
	a2 := f.createPasskey(pk, makePasskey(alice, "a2", at(time.Minute)))
	bob := f.newUser("bob")
	carol := providerUser("carol")
	c1 := makePasskey(carol, "c1", at(0))
	b1 := makePasskey(bob, "b1", at(0))

	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	calls := map[string]func() error{
		"UserHandle": func() error { _, err := pk.UserHandle(ctx, bob.ID, userHandle("bob")); return err },
		"UserByHandle": func() error {
			_, err := pk.UserByHandle(ctx, userHandle("alice"))
			return err
		},
		"CreatePasskey": func() error { return pk.CreatePasskey(ctx, b1) },
		"CreateUserWithPasskey": func() error {
			return pk.CreateUserWithPasskey(ctx, carol, userHandle("carol"), c1, true)
		},
		"Passkeys": func() error { _, err := pk.Passkeys(ctx, alice.ID); return err },
		"PasskeyByCredentialID": func() error {
			_, err := pk.PasskeyByCredentialID(ctx, a1.CredentialID)
			return err
		},
		"RenamePasskey": func() error { _, err := pk.RenamePasskey(ctx, alice.ID, a1.ID, "renamed"); return err },
		"UsePasskey":    func() error { return pk.UsePasskey(ctx, alice.ID, a1.ID, 9, true, true, at(time.Hour)) },
		"DeletePasskey": func() error { return pk.DeletePasskey(ctx, alice.ID, a2.ID) },
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			err := calls[name]()
			require.ErrorIs(t, err, context.Canceled)
			require.False(t, errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict), "%v", err)
		})
	}

	// Nothing changed.
	f.requirePasskeys(pk, alice.ID, a1, a2)
	f.requirePasskeys(pk, bob.ID)
	f.requireNoHandle(pk, userHandle("bob"))
	f.requireNoUser(carol.ID)
	f.requireNoHandle(pk, userHandle("carol"))
	f.requireNoCredential(pk, c1.CredentialID)
}

// testPasskeyTimes: a passkey's times come back in UTC, at microsecond
// precision, whatever zone they were given in.
func testPasskeyTimes(t *testing.T, mk maker) {
	f, pk := passkeyFixture(t, mk)
	west := time.FixedZone("UTC-09:30", -(9*3600 + 30*60))
	east := time.FixedZone("UTC+14", 14*3600)
	alice := f.newUser("alice")
	first := makePasskey(alice, "first", at(time.Microsecond).In(west))
	second := makePasskey(alice, "second", at(2*time.Microsecond).In(east))
	second.LastUsedAt = at(3 * time.Microsecond).In(west)
	f.createPasskey(pk, second)
	f.createPasskey(pk, first)
	f.requirePasskeys(pk, alice.ID, first, second) // one microsecond apart, in order

	require.NoError(t, pk.UsePasskey(f.ctx, alice.ID, first.ID, 1, false, false, at(time.Hour+time.Microsecond).In(east)))
	got, err := pk.PasskeyByCredentialID(f.ctx, first.CredentialID)
	require.NoError(t, err)
	requireUTC(t, "Passkey", map[string]time.Time{"CreatedAt": got.CreatedAt, "LastUsedAt": got.LastUsedAt})
	require.True(t, got.LastUsedAt.Equal(time.Date(2026, 1, 2, 4, 4, 5, 123457000, time.UTC)), "LastUsedAt = %v", got.LastUsedAt)
	require.True(t, got.CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 123457000, time.UTC)), "CreatedAt = %v", got.CreatedAt)
}
