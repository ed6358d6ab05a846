package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/internal/fakeauthn"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// testPasskeys runs the passkey flows (DESIGN §8, SECURITY 34–35) on the
// store of runFlows.
func testPasskeys(t *testing.T, newStore storeFactory) {
	if _, ok := newStore(t).(store.Passkeys); !ok {
		t.Skip("the store does not implement store.Passkeys")
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore storeFactory)
	}{
		{"RegisterAndSignIn", testPasskeyRegisterAndSignIn},
		{"Signup", testPasskeySignup},
		{"CeremonyRules", testPasskeyCeremonyRules},
		{"RefusedAssertions", testPasskeyRefusedAssertions},
		{"Counter", testPasskeyCounter},
		{"Management", testPasskeyManagement},
		{"SecondFactor", testPasskeySecondFactor},
		{"ConcurrentFinish", testPasskeyConcurrentFinish},
		{"ConcurrentCounter", testPasskeyConcurrentCounter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore) })
	}
}

const passkeyOrigin = "http://localhost:8080"

func passkeysOn(c *auth.Config) {
	c.Passkeys = auth.PasskeyConfig{RPID: "localhost", Origins: []string{passkeyOrigin}}
}

// addPasskey registers a passkey of the signed-in identity with a.
func (f *fixture) addPasskey(tb testing.TB, a *fakeauthn.Authenticator, id auth.Identity, opts ...fakeauthn.Option) (store.Passkey, *fakeauthn.Credential) {
	tb.Helper()
	ctx := context.Background()
	c, err := f.svc.BeginPasskeyRegistration(ctx, id, auth.Client{})
	require.NoError(tb, err)
	cred, held, err := a.Create(c.Options, opts...)
	require.NoError(tb, err)
	p, err := f.svc.FinishPasskeyRegistration(ctx, id, c.ID, cred, "", auth.Client{})
	require.NoError(tb, err)
	return p, held
}

// passkeyLogin signs in with a through a ceremony begun for username (or
// discoverable, or the second step of mfaToken).
func (f *fixture) passkeyLogin(tb testing.TB, a *fakeauthn.Authenticator, username, mfaToken string, opts ...fakeauthn.Option) (auth.Tokens, error) {
	tb.Helper()
	ctx := context.Background()
	c, err := f.svc.BeginPasskeyLogin(ctx, username, mfaToken, auth.Client{})
	require.NoError(tb, err)
	cred, err := a.Get(c.Options, opts...)
	require.NoError(tb, err)
	return f.svc.FinishPasskeyLogin(ctx, c.ID, cred, auth.Client{IP: "192.0.2.1", UserAgent: "test", DeviceName: "phone"})
}

// options decodes the options of a ceremony.
func options(tb testing.TB, c auth.PasskeyCeremony) map[string]any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal(c.Options, &m))
	return m
}

func (f *fixture) claims(tb testing.TB, t auth.Tokens) token.Claims {
	tb.Helper()
	return f.identity(tb, t).Claims
}

func (f *fixture) passkeys(tb testing.TB, userID string) []store.Passkey {
	tb.Helper()
	list, err := f.store.(store.Passkeys).Passkeys(context.Background(), userID)
	require.NoError(tb, err)
	return list
}

func testPasskeyRegisterAndSignIn(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn, func(c *auth.Config) { c.AppName = "Example" })
	ctx := context.Background()
	alice := f.verifiedUser(t, "alice")
	id := f.identity(t, f.login(t, "alice", strongPassword))
	a := fakeauthn.New(passkeyOrigin)

	c, err := f.svc.BeginPasskeyRegistration(ctx, id, auth.Client{})
	require.NoError(t, err)
	o := options(t, c)
	assert.Equal(t, map[string]any{"id": "localhost", "name": "Example"}, o["rp"])
	user := o["user"].(map[string]any)
	handle, err := base64.RawURLEncoding.DecodeString(user["id"].(string))
	require.NoError(t, err)
	assert.Len(t, handle, 32, "a random user handle, never the user id")
	assert.Equal(t, "alice@example.com", user["name"])
	sel := o["authenticatorSelection"].(map[string]any)
	assert.Equal(t, "preferred", sel["residentKey"])
	assert.Equal(t, "preferred", sel["userVerification"])
	assert.Empty(t, o["excludeCredentials"])
	assert.WithinDuration(t, f.clock.Now().Add(5*time.Minute), c.ExpiresAt, time.Second)

	cred, _, err := a.Create(c.Options)
	require.NoError(t, err)
	p, err := f.svc.FinishPasskeyRegistration(ctx, id, c.ID, cred, "  Laptop  ", auth.Client{})
	require.NoError(t, err)
	assert.Equal(t, "Laptop", p.Name)
	assert.Equal(t, alice.ID, p.UserID)
	assert.True(t, p.UserVerified)
	assert.True(t, p.LastUsedAt.IsZero())
	assert.Equal(t, []auth.EventKind{auth.EventPasskeyAdded}, f.kindsOf(auth.EventPasskeyAdded))

	// The handle is stable; the next registration excludes the passkey,
	// and the authenticator that holds it refuses to make another.
	c2, err := f.svc.BeginPasskeyRegistration(ctx, id, auth.Client{})
	require.NoError(t, err)
	o2 := options(t, c2)
	assert.Equal(t, user["id"], o2["user"].(map[string]any)["id"])
	require.Len(t, o2["excludeCredentials"], 1)
	_, _, err = a.Create(c2.Options)
	require.Error(t, err, "excludeCredentials names the authenticator's passkey")

	// Discoverable sign-in, by username, by email.
	for _, name := range []string{"", "alice", "ALICE@example.com"} {
		tok, err := f.passkeyLogin(t, a, name, "")
		require.NoError(t, err, "sign-in for %q", name)
		cl := f.claims(t, tok)
		assert.Equal(t, alice.ID, cl.UserID)
		assert.Equal(t, []string{auth.AMRHardwareKey, auth.AMRUser, auth.AMRMFA}, cl.AMR)
		assert.True(t, auth.HasSecondFactor(cl), "a user-verified passkey is two factors")
		assert.NotEmpty(t, tok.RefreshToken)
		assert.NotEmpty(t, tok.DeviceToken)
	}
	c3, err := f.svc.BeginPasskeyLogin(ctx, "alice", "", auth.Client{})
	require.NoError(t, err)
	allow := options(t, c3)["allowCredentials"].([]any)
	require.Len(t, allow, 1)
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(p.CredentialID), allow[0].(map[string]any)["id"])

	list := f.passkeys(t, alice.ID)
	require.Len(t, list, 1)
	assert.Equal(t, f.clock.Now().UTC().Truncate(time.Microsecond), list[0].LastUsedAt.Truncate(time.Microsecond))
	assert.Equal(t, uint32(3), list[0].SignCount)
}

func (f *fixture) kindsOf(kinds ...auth.EventKind) []auth.EventKind {
	var out []auth.EventKind
	for _, k := range f.eventKinds() {
		for _, want := range kinds {
			if k == want {
				out = append(out, k)
			}
		}
	}
	return out
}

func testPasskeySignup(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn)
	ctx := context.Background()
	f.verifiedUser(t, "taken")
	a := fakeauthn.New(passkeyOrigin)

	_, err := f.svc.BeginPasskeySignup(ctx, "ab", "not an email", auth.Client{})
	var verr *auth.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Errors, 2)
	var exists *auth.ExistsError
	_, err = f.svc.BeginPasskeySignup(ctx, "taken", "new@example.com", auth.Client{})
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, "username", exists.Field)
	_, err = f.svc.BeginPasskeySignup(ctx, "newbie", "TAKEN@example.com", auth.Client{})
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, "email", exists.Field)

	c, err := f.svc.BeginPasskeySignup(ctx, "Kate", "Kate@Example.com", auth.Client{})
	require.NoError(t, err)
	sel := options(t, c)["authenticatorSelection"].(map[string]any)
	assert.Equal(t, "required", sel["residentKey"], "the only way in must be discoverable")
	cred, _, err := a.Create(c.Options)
	require.NoError(t, err)
	u, err := f.svc.FinishPasskeySignup(ctx, c.ID, cred, "", auth.Client{})
	require.NoError(t, err)
	assert.Equal(t, "Kate", u.Username, "as typed, as Register keeps it")
	assert.Equal(t, "Kate@Example.com", u.Email)
	assert.False(t, u.IsVerified)
	stored, err := f.store.UserByID(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, stored.HashedPassword, "no password")

	_, err = f.passkeyLogin(t, a, "", "")
	require.ErrorIs(t, err, auth.ErrEmailNotVerified, "the address is verified first, as after register")
	_, err = f.svc.VerifyEmail(ctx, "kate@example.com", f.nextCode(t, "Kate@Example.com"), auth.Client{})
	require.NoError(t, err)
	tok, err := f.passkeyLogin(t, a, "", "")
	require.NoError(t, err)
	assert.Equal(t, u.ID, f.claims(t, tok).UserID)

	// The only passkey of an account without a password stays.
	id := f.identity(t, tok)
	list := f.passkeys(t, u.ID)
	require.Len(t, list, 1)
	require.ErrorIs(t, f.svc.DeletePasskey(ctx, id, list[0].ID, auth.Client{}), auth.ErrLastLoginMethod)
	assert.Len(t, f.passkeys(t, u.ID), 1)
	_, err = f.svc.Login(ctx, "kate", "", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "no password signs in")

	// A sign-up finished after its username was taken meanwhile.
	c, err = f.svc.BeginPasskeySignup(ctx, "late", "late@example.com", auth.Client{})
	require.NoError(t, err)
	_, err = f.svc.Register(ctx, "late", "other@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	cred, _, err = fakeauthn.New(passkeyOrigin).Create(c.Options)
	require.NoError(t, err)
	_, err = f.svc.FinishPasskeySignup(ctx, c.ID, cred, "", auth.Client{})
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, "username", exists.Field)
}

func testPasskeyCeremonyRules(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn)
	ctx := context.Background()
	alice := f.verifiedUser(t, "alice")
	bob := f.verifiedUser(t, "bob")
	aliceID := f.identity(t, f.login(t, "alice", strongPassword))
	bobID := f.identity(t, f.login(t, "bob", strongPassword))
	a := fakeauthn.New(passkeyOrigin)

	t.Run("a ceremony is used once", func(t *testing.T) {
		c, err := f.svc.BeginPasskeyRegistration(ctx, aliceID, auth.Client{})
		require.NoError(t, err)
		cred, _, err := a.Create(c.Options)
		require.NoError(t, err)
		_, err = f.svc.FinishPasskeyRegistration(ctx, aliceID, c.ID, cred, "", auth.Client{})
		require.NoError(t, err)
		_, err = f.svc.FinishPasskeyRegistration(ctx, aliceID, c.ID, cred, "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode)
	})
	t.Run("a ceremony expires after 5 minutes", func(t *testing.T) {
		c, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
		require.NoError(t, err)
		cred, err := a.Get(c.Options)
		require.NoError(t, err)
		f.clock.Advance(5*time.Minute + time.Second)
		_, err = f.svc.FinishPasskeyLogin(ctx, c.ID, cred, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode)
	})
	t.Run("an unknown ceremony", func(t *testing.T) {
		for _, id := range []string{"", "nope", string(make([]byte, 100))} {
			_, err := f.svc.FinishPasskeyLogin(ctx, id, json.RawMessage(`{}`), auth.Client{})
			require.ErrorIs(t, err, auth.ErrInvalidCode)
		}
	})
	t.Run("a ceremony of another kind", func(t *testing.T) {
		c, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
		require.NoError(t, err)
		_, err = f.svc.FinishPasskeyRegistration(ctx, aliceID, c.ID, json.RawMessage(`{}`), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode)
	})
	t.Run("begun for one user, finished for another", func(t *testing.T) {
		before := len(f.passkeys(t, bob.ID))
		c, err := f.svc.BeginPasskeyRegistration(ctx, aliceID, auth.Client{})
		require.NoError(t, err)
		cred, _, err := fakeauthn.New(passkeyOrigin).Create(c.Options)
		require.NoError(t, err)
		_, err = f.svc.FinishPasskeyRegistration(ctx, bobID, c.ID, cred, "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode)
		assert.Len(t, f.passkeys(t, bob.ID), before)
		_, err = f.svc.FinishPasskeyRegistration(ctx, aliceID, c.ID, cred, "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode, "and the ceremony is spent")
	})
	t.Run("registration refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			opts   []fakeauthn.Option
			cred   json.RawMessage
			reason string
		}{
			{"wrong origin", []fakeauthn.Option{fakeauthn.WithOrigin("https://evil.example")}, nil, auth.CredentialRejected},
			{"wrong relying party", []fakeauthn.Option{fakeauthn.WithRPIDHash(make([]byte, 32))}, nil, auth.CredentialRejected},
			{"wrong challenge", []fakeauthn.Option{fakeauthn.WithChallenge("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}, nil, auth.CredentialRejected},
			{"a get where a create belongs", []fakeauthn.Option{fakeauthn.WithType("webauthn.get")}, nil, auth.CredentialRejected},
			{"not JSON of a credential", nil, json.RawMessage(`{"id":"x"}`), auth.CredentialMalformed},
			{"bad base64url", nil, json.RawMessage(`{"id":"!!","rawId":"!!","type":"public-key","response":{"clientDataJSON":"!!","attestationObject":"!!"}}`), auth.CredentialMalformed},
			{"wrong type", nil, json.RawMessage(`{"id":"AAAA","rawId":"AAAA","type":"password","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`), auth.CredentialMalformed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(f.passkeys(t, alice.ID))
				c, err := f.svc.BeginPasskeyRegistration(ctx, aliceID, auth.Client{})
				require.NoError(t, err)
				cred := tc.cred
				if cred == nil {
					cred, _, err = fakeauthn.New(passkeyOrigin).Create(c.Options, tc.opts...)
					require.NoError(t, err)
				}
				_, err = f.svc.FinishPasskeyRegistration(ctx, aliceID, c.ID, cred, "", auth.Client{})
				var ce *auth.CredentialError
				require.ErrorAs(t, err, &ce)
				require.ErrorIs(t, err, auth.ErrBadCredential)
				assert.Equal(t, tc.reason, ce.Reason)
				assert.Len(t, f.passkeys(t, alice.ID), before, "nothing stored")
			})
		}
	})
	t.Run("a credential registered already", func(t *testing.T) {
		_, held := f.addPasskey(t, fakeauthn.New(passkeyOrigin), aliceID)
		c, err := f.svc.BeginPasskeyRegistration(ctx, bobID, auth.Client{})
		require.NoError(t, err)
		cred, _, err := fakeauthn.New(passkeyOrigin).Create(c.Options, fakeauthn.WithCredentialID(held.ID))
		require.NoError(t, err)
		before := len(f.passkeys(t, bob.ID))
		_, err = f.svc.FinishPasskeyRegistration(ctx, bobID, c.ID, cred, "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrPasskeyExists)
		assert.Len(t, f.passkeys(t, bob.ID), before)
	})
	t.Run("a bad name", func(t *testing.T) {
		_, err := f.svc.FinishPasskeyRegistration(ctx, aliceID, "any", json.RawMessage(`{}`), string(make([]byte, 65)), auth.Client{})
		var verr *auth.ValidationError
		require.ErrorAs(t, err, &verr)
		assert.Equal(t, "name", verr.Errors[0].Field)
	})
}

func testPasskeyRefusedAssertions(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn)
	ctx := context.Background()
	alice := f.verifiedUser(t, "alice")
	bob := f.verifiedUser(t, "bob")
	aliceKey := fakeauthn.New(passkeyOrigin)
	bobKey := fakeauthn.New(passkeyOrigin)
	f.addPasskey(t, aliceKey, f.identity(t, f.login(t, "alice", strongPassword)))
	f.addPasskey(t, bobKey, f.identity(t, f.login(t, "bob", strongPassword)))
	sessions := func() int { return f.sessions(t, alice.ID) + f.sessions(t, bob.ID) }
	before := sessions()

	for _, tc := range []struct {
		name     string
		username string
		key      *fakeauthn.Authenticator
		opts     []fakeauthn.Option
	}{
		{"wrong origin", "", aliceKey, []fakeauthn.Option{fakeauthn.WithOrigin("https://evil.example")}},
		{"wrong relying party", "", aliceKey, []fakeauthn.Option{fakeauthn.WithRPIDHash(make([]byte, 32))}},
		{"wrong challenge", "", aliceKey, []fakeauthn.Option{fakeauthn.WithChallenge("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}},
		{"a create where a get belongs", "", aliceKey, []fakeauthn.Option{fakeauthn.WithType("webauthn.create")}},
		{"a bad signature", "", aliceKey, []fakeauthn.Option{fakeauthn.WithBadSignature()}},
		{"another user's handle", "", aliceKey, []fakeauthn.Option{fakeauthn.WithUserHandle(make([]byte, 32))}},
		{"begun for alice, answered by bob's passkey", "alice", bobKey, nil},
		{"begun for a name without an account", "nobody", aliceKey, nil},
		{"an unknown credential", "", fakeauthn.New(passkeyOrigin), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			if len(key.Credentials()) == 0 {
				// A passkey for this relying party that the server never saw.
				c, err := f.svc.BeginPasskeySignup(ctx, "ghost", "ghost@example.com", auth.Client{})
				require.NoError(t, err)
				_, _, err = key.Create(c.Options)
				require.NoError(t, err)
			}
			c, err := f.svc.BeginPasskeyLogin(ctx, tc.username, "", auth.Client{})
			require.NoError(t, err)
			var cred json.RawMessage
			if tc.username != "" { // an authenticator would refuse: it holds none of the allowed
				cred, err = key.GetWith(key.Credentials()[0], c.Options, tc.opts...)
			} else {
				cred, err = key.Get(c.Options, tc.opts...)
			}
			require.NoError(t, err)
			_, err = f.svc.FinishPasskeyLogin(ctx, c.ID, cred, auth.Client{})
			require.ErrorIs(t, err, auth.ErrInvalidCredentials)
			assert.Equal(t, before, sessions(), "nothing issued")
		})
	}
	t.Run("a malformed assertion", func(t *testing.T) {
		c, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
		require.NoError(t, err)
		_, err = f.svc.FinishPasskeyLogin(ctx, c.ID, json.RawMessage(`{"id":"x","type":"public-key"}`), auth.Client{})
		var ce *auth.CredentialError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, auth.CredentialMalformed, ce.Reason)
	})
	t.Run("a name without an account gets options like a real one", func(t *testing.T) {
		allowed := func(name string) []any {
			c, err := f.svc.BeginPasskeyLogin(ctx, name, "", auth.Client{})
			require.NoError(t, err)
			o := options(t, c)
			assert.Equal(t, "localhost", o["rpId"])
			assert.NotEmpty(t, o["challenge"])
			return o["allowCredentials"].([]any)
		}
		real := allowed("alice")
		nobody := allowed("nobody")
		require.Len(t, real, 1)
		require.Len(t, nobody, 1, "a stand-in credential, as a real account lists one")
		assert.Equal(t, nobody, allowed("NOBODY"), "the same stand-in every time")
		assert.NotEqual(t, nobody, allowed("someone-else"))
		assert.Equal(t, len(real[0].(map[string]any)["id"].(string)), len(nobody[0].(map[string]any)["id"].(string)),
			"a stand-in id as long as a real one")
		f.verifiedUser(t, "carol") // an account without a passkey looks alike
		require.Len(t, allowed("carol"), 1)
	})
}

func testPasskeyCounter(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn)
	alice := f.verifiedUser(t, "alice")
	a := fakeauthn.New(passkeyOrigin)
	_, held := f.addPasskey(t, a, f.identity(t, f.login(t, "alice", strongPassword)))

	_, err := f.passkeyLogin(t, a, "", "", fakeauthn.WithCounter(5))
	require.NoError(t, err)
	before := f.sessions(t, alice.ID)
	for _, n := range []uint32{5, 4, 0} {
		_, err = f.passkeyLogin(t, a, "", "", fakeauthn.WithCounter(n))
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, "counter %d after 5", n)
	}
	assert.Equal(t, before, f.sessions(t, alice.ID), "nothing issued")
	e := f.waitEvent(t, alice.ID, auth.EventPasskeyLogin)
	for e.Outcome != auth.OutcomeFailure {
		e = f.waitEvent(t, alice.ID, auth.EventPasskeyLogin)
	}
	assert.Equal(t, "counter_regressed", e.Reason)
	assert.Contains(t, f.logs.String(), "signature counter went backwards")
	_, err = f.passkeyLogin(t, a, "", "", fakeauthn.WithCounter(6))
	require.NoError(t, err, "the real authenticator goes on")
	assert.Equal(t, uint32(6), held.Counter)

	// A synced passkey that always reports 0 signs in every time.
	bob := f.verifiedUser(t, "bob")
	synced := fakeauthn.New(passkeyOrigin)
	synced.ZeroCounter, synced.BackupEligible, synced.BackupState = true, true, true
	f.addPasskey(t, synced, f.identity(t, f.login(t, "bob", strongPassword)))
	for range 3 {
		_, err := f.passkeyLogin(t, synced, "bob", "")
		require.NoError(t, err)
	}
	list := f.passkeys(t, bob.ID)
	require.Len(t, list, 1)
	assert.True(t, list[0].BackupEligible)
	assert.True(t, list[0].BackupState)
	assert.Zero(t, list[0].SignCount)
}

func testPasskeyManagement(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn, mfaOn, func(c *auth.Config) {
		c.Lifecycle.NoticesOff = nil
		c.Lifecycle.Admin = true
	})
	ctx := context.Background()
	alice := f.verifiedUser(t, "alice")
	f.verifiedUser(t, "bob")
	aliceID := f.identity(t, f.login(t, "alice", strongPassword))
	bobID := f.identity(t, f.login(t, "bob", strongPassword))
	p1, _ := f.addPasskey(t, fakeauthn.New(passkeyOrigin), aliceID)
	assert.Contains(t, f.nextMail(t, "alice@example.com").Text, "A passkey was added")
	f.clock.Advance(time.Second)
	p2, _ := f.addPasskey(t, fakeauthn.New(passkeyOrigin), aliceID)
	f.nextMail(t, "alice@example.com")

	list, err := f.svc.Passkeys(ctx, aliceID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, p1.ID, list[0].ID, "oldest first")
	st, err := f.svc.MFAStatus(ctx, aliceID)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Passkeys)

	renamed, err := f.svc.RenamePasskey(ctx, aliceID, p1.ID, "Work laptop", auth.Client{})
	require.NoError(t, err)
	assert.Equal(t, "Work laptop", renamed.Name)
	for _, bad := range []string{"", "   ", "a\x00b", string(make([]rune, 65))} {
		_, err = f.svc.RenamePasskey(ctx, aliceID, p1.ID, bad, auth.Client{})
		require.ErrorIs(t, err, auth.ErrValidation, "name %q", bad)
	}

	// Another user's passkey is not found, for every verb.
	_, err = f.svc.RenamePasskey(ctx, bobID, p1.ID, "mine", auth.Client{})
	require.ErrorIs(t, err, auth.ErrNotFound)
	require.ErrorIs(t, f.svc.DeletePasskey(ctx, bobID, p1.ID, auth.Client{}), auth.ErrNotFound)
	require.ErrorIs(t, f.svc.DeletePasskey(ctx, aliceID, "no-such-id", auth.Client{}), auth.ErrNotFound)
	assert.Len(t, f.passkeys(t, alice.ID), 2)

	// A password user may remove every passkey; each removal is told.
	require.NoError(t, f.svc.DeletePasskey(ctx, aliceID, p1.ID, auth.Client{}))
	assert.Contains(t, f.nextMail(t, "alice@example.com").Text, "A passkey was removed")
	require.NoError(t, f.svc.DeletePasskey(ctx, aliceID, p2.ID, auth.Client{}))
	assert.Empty(t, f.passkeys(t, alice.ID))
}

func testPasskeySecondFactor(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	a := fakeauthn.New(passkeyOrigin)
	f.addPasskey(t, a, f.identity(t, e.tokens))

	t.Run("a passkey answers the challenge of a password", func(t *testing.T) {
		_, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
		var req *auth.MFARequiredError
		require.ErrorAs(t, err, &req)
		assert.Equal(t, []string{auth.MethodTOTP, auth.MethodRecoveryCode, auth.MethodPasskey}, req.Methods)
		c, err := f.svc.BeginPasskeyLogin(ctx, "", req.Token, auth.Client{})
		require.NoError(t, err)
		assert.Len(t, options(t, c)["allowCredentials"], 1, "the challenged user's passkeys")
		cred, err := a.Get(c.Options)
		require.NoError(t, err)
		tok, err := f.svc.FinishPasskeyLogin(ctx, c.ID, cred, auth.Client{})
		require.NoError(t, err)
		assert.Equal(t, []string{auth.AMRPassword, auth.AMRHardwareKey, auth.AMRUser, auth.AMRMFA}, f.claims(t, tok).AMR)
		_, err = f.svc.VerifyMFA(ctx, req.Token, f.code(t, e.secret), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken, "the challenge is spent")
	})
	t.Run("an mfa_token that is unknown", func(t *testing.T) {
		_, err := f.svc.BeginPasskeyLogin(ctx, "", "nope", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken)
	})
	t.Run("another user's passkey does not answer alice's challenge", func(t *testing.T) {
		f.verifiedUser(t, "bob")
		bobKey := fakeauthn.New(passkeyOrigin)
		f.addPasskey(t, bobKey, f.identity(t, f.login(t, "bob", strongPassword)))
		req := f.challenge(t, "alice")
		c, err := f.svc.BeginPasskeyLogin(ctx, "", req, auth.Client{})
		require.NoError(t, err)
		cred, err := bobKey.GetWith(bobKey.Credentials()[0], c.Options)
		require.NoError(t, err)
		_, err = f.svc.FinishPasskeyLogin(ctx, c.ID, cred, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	})
	t.Run("a passkey without user verification is one factor", func(t *testing.T) {
		weak := fakeauthn.New(passkeyOrigin)
		weak.UserVerified = false
		f.addPasskey(t, weak, f.identity(t, e.tokens))
		_, err := f.passkeyLogin(t, weak, "", "")
		var req *auth.MFARequiredError
		require.ErrorAs(t, err, &req, "a user with a second factor is challenged")
		assert.Equal(t, []string{auth.MethodTOTP, auth.MethodRecoveryCode}, req.Methods)
		f.clock.Advance(30 * time.Second)
		tok, err := f.svc.VerifyMFA(ctx, req.Token, f.code(t, e.secret), "", auth.Client{})
		require.NoError(t, err)
		assert.Equal(t, []string{auth.AMRHardwareKey, auth.AMROTP, auth.AMRMFA}, f.claims(t, tok).AMR)

		// For a user without a second factor it signs in, as one factor.
		f.verifiedUser(t, "carol")
		carolKey := fakeauthn.New(passkeyOrigin)
		carolKey.UserVerified = false
		f.addPasskey(t, carolKey, f.identity(t, f.login(t, "carol", strongPassword)))
		tok, err = f.passkeyLogin(t, carolKey, "carol", "")
		require.NoError(t, err)
		cl := f.claims(t, tok)
		assert.Equal(t, []string{auth.AMRHardwareKey}, cl.AMR)
		assert.False(t, auth.HasSecondFactor(cl))
	})
}

// testPasskeyConcurrentFinish finishes one ceremony 50 times at once: one
// sign-in, the others find the ceremony spent.
func testPasskeyConcurrentFinish(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn)
	ctx := context.Background()
	alice := f.verifiedUser(t, "alice")
	a := fakeauthn.New(passkeyOrigin)
	a.ZeroCounter = true // so that only the ceremony can refuse
	f.addPasskey(t, a, f.identity(t, f.login(t, "alice", strongPassword)))
	before := f.sessions(t, alice.ID)
	c, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
	require.NoError(t, err)
	cred, err := a.Get(c.Options)
	require.NoError(t, err)
	var wins, spent atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, err := f.svc.FinishPasskeyLogin(ctx, c.ID, cred, auth.Client{})
			switch {
			case err == nil:
				wins.Add(1)
			case assert.ErrorIs(t, err, auth.ErrInvalidCode):
				spent.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	assert.Equal(t, int32(49), spent.Load())
	assert.Equal(t, before+1, f.sessions(t, alice.ID))
}

// testPasskeyConcurrentCounter sends 50 assertions with one counter value,
// each in its own ceremony, at once: the counter's compare-and-set lets one
// through.
func testPasskeyConcurrentCounter(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, passkeysOn)
	ctx := context.Background()
	alice := f.verifiedUser(t, "alice")
	a := fakeauthn.New(passkeyOrigin)
	f.addPasskey(t, a, f.identity(t, f.login(t, "alice", strongPassword)))
	before := f.sessions(t, alice.ID)
	type attempt struct {
		id   string
		cred json.RawMessage
	}
	attempts := make([]attempt, 50)
	for i := range attempts {
		c, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
		require.NoError(t, err)
		cred, err := a.Get(c.Options, fakeauthn.WithCounter(7))
		require.NoError(t, err)
		attempts[i] = attempt{c.ID, cred}
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for _, at := range attempts {
		wg.Go(func() {
			_, err := f.svc.FinishPasskeyLogin(ctx, at.id, at.cred, auth.Client{})
			if err == nil {
				wins.Add(1)
			} else {
				assert.ErrorIs(t, err, auth.ErrInvalidCredentials)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	assert.Equal(t, before+1, f.sessions(t, alice.ID))
}

func TestPasskeysOff(t *testing.T) {
	f := newFixture(t, newMemStore)
	ctx := context.Background()
	assert.False(t, f.svc.PasskeysEnabled())
	_, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
	require.ErrorIs(t, err, auth.ErrPasskeysOff)
	_, err = f.svc.BeginPasskeySignup(ctx, "a", "b", auth.Client{})
	require.ErrorIs(t, err, auth.ErrPasskeysOff)
	_, err = f.svc.FinishPasskeyLogin(ctx, "x", nil, auth.Client{})
	require.ErrorIs(t, err, auth.ErrPasskeysOff)
	_, err = f.svc.Passkeys(ctx, auth.Identity{})
	require.ErrorIs(t, err, auth.ErrPasskeysOff)
	require.ErrorIs(t, f.svc.DeletePasskey(ctx, auth.Identity{}, "x", auth.Client{}), auth.ErrPasskeysOff)
}

func TestPasskeysNeedTheirCapabilities(t *testing.T) {
	cfg := auth.Config{Store: coreStore{newMemStore(t)}, Token: token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, Mode: auth.ModeBasic}
	passkeysOn(&cfg)
	_, err := auth.New(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "store.Passkeys and store.Tickets")

	cfg.Store = newMemStore(t)
	cfg.Passkeys.Origins = []string{"https://example.org"}
	_, err = auth.New(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not belong to the relying party id")
}

// passkeyUser signs up name with a passkey only, verifies the address and
// signs in; it returns the user, the authenticator and the tokens.
func (f *fixture) passkeyUser(tb testing.TB, name string) (store.User, *fakeauthn.Authenticator, auth.Tokens) {
	tb.Helper()
	ctx := context.Background()
	a := fakeauthn.New(passkeyOrigin)
	email := name + "@example.com"
	c, err := f.svc.BeginPasskeySignup(ctx, name, email, auth.Client{})
	require.NoError(tb, err)
	cred, _, err := a.Create(c.Options)
	require.NoError(tb, err)
	_, err = f.svc.FinishPasskeySignup(ctx, c.ID, cred, "", auth.Client{})
	require.NoError(tb, err)
	u, err := f.svc.VerifyEmail(ctx, email, f.codeSkippingNotices(tb, email), auth.Client{})
	require.NoError(tb, err)
	f.nextMail(tb, email) // the welcome mail
	tok, err := f.passkeyLogin(tb, a, name, "")
	require.NoError(tb, err)
	return u, a, tok
}

// An account without a password confirms its deletion with a mailed code
// (DESIGN §11); an account with one, with the password.
func TestDeleteAccountWithCode(t *testing.T) {
	f := newFixture(t, newMemStore, passkeysOn, withLifecycle)
	ctx := context.Background()
	kate, a, tok := f.passkeyUser(t, "kate")
	id := f.identity(t, tok)

	require.ErrorIs(t, f.svc.DeleteAccountWithCode(ctx, id, "123456", auth.Client{}), auth.ErrInvalidCode, "no code asked for yet")
	require.ErrorIs(t, f.svc.DeleteAccount(ctx, id, "", auth.Client{}), auth.ErrNoPassword, "no password to confirm with")
	require.ErrorIs(t, f.svc.DeleteAccount(ctx, id, "forgeauth dummy password", auth.Client{}), auth.ErrNoPassword)
	require.NoError(t, f.svc.RequestDeletionCode(ctx, id, auth.Client{}))
	code := f.codeSkippingNotices(t, "kate@example.com")
	var mail mailer.Message
	for _, m := range f.mail.Messages() {
		if m.Kind == mailer.AccountDeletion {
			mail = m
		}
	}
	assert.Contains(t, mail.Subject, "deletion")
	for _, bad := range []string{"", "12345", "abcdef", wrongCode(code)} {
		require.ErrorIs(t, f.svc.DeleteAccountWithCode(ctx, id, bad, auth.Client{}), auth.ErrInvalidCode, "code %q", bad)
	}
	_, err := f.store.UserByID(ctx, kate.ID)
	require.NoError(t, err, "a wrong code deletes nothing")

	require.NoError(t, f.svc.DeleteAccountWithCode(ctx, id, code, auth.Client{}))
	_, err = f.store.UserByID(ctx, kate.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = f.store.(store.Passkeys).PasskeyByCredentialID(ctx, a.Credentials()[0].ID)
	require.ErrorIs(t, err, store.ErrNotFound, "the passkeys go with the account")
	_, err = f.passkeyLogin(t, a, "", "")
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)

	// The account of a password confirms with it.
	f.verifiedUser(t, "alice")
	alice := f.identity(t, f.login(t, "alice", strongPassword))
	require.ErrorIs(t, f.svc.RequestDeletionCode(ctx, alice, auth.Client{}), auth.ErrHasPassword)
	require.ErrorIs(t, f.svc.DeleteAccountWithCode(ctx, alice, "123456", auth.Client{}), auth.ErrHasPassword)

	// Five wrong guesses end the code.
	_, _, tok = f.passkeyUser(t, "lena")
	lena := f.identity(t, tok)
	require.NoError(t, f.svc.RequestDeletionCode(ctx, lena, auth.Client{}))
	code = f.codeSkippingNotices(t, "lena@example.com")
	for range 5 {
		require.ErrorIs(t, f.svc.DeleteAccountWithCode(ctx, lena, wrongCode(code), auth.Client{}), auth.ErrInvalidCode)
	}
	require.ErrorIs(t, f.svc.DeleteAccountWithCode(ctx, lena, code, auth.Client{}), auth.ErrInvalidCode)

	off := newFixture(t, newMemStore, passkeysOn)
	require.ErrorIs(t, off.svc.RequestDeletionCode(ctx, lena, auth.Client{}), auth.ErrNotEnabled)
	require.ErrorIs(t, off.svc.DeleteAccountWithCode(ctx, lena, code, auth.Client{}), auth.ErrNotEnabled)
}

// wrongCode is another well-formed code than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// A ceremony begun on one instance finishes on another: the ceremony is
// a ticket in the shared store, not state of the process. Run on SQLite,
// and on PostgreSQL when FORGEAUTH_TEST_POSTGRES_URL is set, with two
// services on one database.
func TestPasskeyCeremonyAcrossInstances(t *testing.T) {
	for name, newStore := range map[string]storeFactory{"memory": newMemStore, "sqlite": newSQLiteStore, "postgres": newPostgresStore} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t)
			same := func(c *auth.Config) {
				c.Store = st
				c.Token = token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")}
				passkeysOn(c)
			}
			a, b := authtest.New(t, same), authtest.New(t, same)
			u := a.CreateUser(t, "alice", "alice@example.com")
			tok := a.SignIn(t, u)
			id, err := b.Service.Authenticate(ctx, tok.AccessToken)
			require.NoError(t, err)
			key := fakeauthn.New(passkeyOrigin)

			c, err := a.Service.BeginPasskeyRegistration(ctx, id, auth.Client{})
			require.NoError(t, err)
			cred, _, err := key.Create(c.Options)
			require.NoError(t, err)
			_, err = b.Service.FinishPasskeyRegistration(ctx, id, c.ID, cred, "", auth.Client{})
			require.NoError(t, err, "registration begun on a, finished on b")

			c, err = b.Service.BeginPasskeyLogin(ctx, "alice", "", auth.Client{})
			require.NoError(t, err)
			assertion, err := key.Get(c.Options)
			require.NoError(t, err)
			_, err = a.Service.FinishPasskeyLogin(ctx, c.ID, assertion, auth.Client{})
			require.NoError(t, err, "sign-in begun on b, finished on a")
			_, err = b.Service.FinishPasskeyLogin(ctx, c.ID, assertion, auth.Client{})
			require.ErrorIs(t, err, auth.ErrInvalidCode, "and spent for both")
		})
	}
}

// The error paths of the passkey flows that the cases above do not reach.
func TestPasskeyErrorPaths(t *testing.T) {
	ctx := context.Background()

	t.Run("a credential over 64 KiB", func(t *testing.T) {
		f := newFixture(t, newMemStore, passkeysOn)
		c, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
		require.NoError(t, err)
		big := json.RawMessage(`{"id":"` + strings.Repeat("A", 65<<10) + `"}`)
		_, err = f.svc.FinishPasskeyLogin(ctx, c.ID, big, auth.Client{})
		var ce *auth.CredentialError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, auth.CredentialMalformed, ce.Reason)
	})

	t.Run("a disabled user's passkey", func(t *testing.T) {
		f := newFixture(t, newMemStore, passkeysOn)
		u := f.verifiedUser(t, "alice")
		a := fakeauthn.New(passkeyOrigin)
		f.addPasskey(t, a, f.identity(t, f.login(t, "alice", strongPassword)))
		require.NoError(t, f.store.SetActive(ctx, u.ID, false, f.clock.Now()))
		before := f.sessions(t, u.ID)
		_, err := f.passkeyLogin(t, a, "", "")
		require.ErrorIs(t, err, auth.ErrInactiveUser)
		assert.Equal(t, before, f.sessions(t, u.ID))
	})

	t.Run("a password changed between the two steps", func(t *testing.T) {
		f := newFixture(t, newMemStore, passkeysOn, mfaOn)
		e := f.enrol(t, "alice")
		a := fakeauthn.New(passkeyOrigin)
		id := f.identity(t, e.tokens)
		f.addPasskey(t, a, id)
		mfaToken := f.challenge(t, "alice")
		c, err := f.svc.BeginPasskeyLogin(ctx, "", mfaToken, auth.Client{})
		require.NoError(t, err)
		require.NoError(t, f.svc.ChangePassword(ctx, id, strongPassword, otherPassword, auth.Client{}))
		cred, err := a.Get(c.Options)
		require.NoError(t, err)
		_, err = f.svc.FinishPasskeyLogin(ctx, c.ID, cred, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken, "the first step's password is no longer the account's")
	})

	t.Run("the second step of a user deleted meanwhile", func(t *testing.T) {
		f := newFixture(t, newMemStore, passkeysOn, mfaOn)
		e := f.enrol(t, "alice")
		f.addPasskey(t, fakeauthn.New(passkeyOrigin), f.identity(t, e.tokens))
		mfaToken := f.challenge(t, "alice")
		require.NoError(t, f.store.DeleteUser(ctx, e.user.ID))
		_, err := f.svc.BeginPasskeyLogin(ctx, "", mfaToken, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken)
	})

	t.Run("a taken address under uniform registration", func(t *testing.T) {
		f := newFixture(t, newMemStore, passkeysOn, func(c *auth.Config) {
			c.Lifecycle.UniformRegistration = true
			c.Lifecycle.NoticesOff = nil
		})
		owner := f.verifiedUser(t, "owner")
		c, err := f.svc.BeginPasskeySignup(ctx, "newbie", "owner@example.com", auth.Client{})
		require.NoError(t, err, "no early answer that would tell the address is taken")
		cred, _, err := fakeauthn.New(passkeyOrigin).Create(c.Options)
		require.NoError(t, err)
		u, err := f.svc.FinishPasskeySignup(ctx, c.ID, cred, "", auth.Client{})
		require.NoError(t, err)
		assert.Zero(t, u, "the answer of a new address, with no user")
		assert.Empty(t, f.passkeys(t, owner.ID), "nothing added to the owner's account")
		_, err = f.store.UserByUsername(ctx, "newbie")
		require.ErrorIs(t, err, store.ErrNotFound)
		assert.Equal(t, []mailer.Kind{mailer.NoticeSignupAttempt}, f.notices(t, f.svc, "owner@example.com"))
	})
}
