package fakeauthn_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/forgeauth/forgeauth/internal/fakeauthn"
)

const origin = "http://localhost:8080"

// user is the smallest webauthn.User: an ID and the credentials the relying
// party has stored for it.
type user struct {
	id    []byte
	name  string
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.id }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// store replaces the stored credential with the same ID, as a relying party
// does after a login to keep the counter, or adds it.
func (u *user) store(c *webauthn.Credential) {
	for i := range u.creds {
		if bytes.Equal(u.creds[i].ID, c.ID) {
			u.creds[i] = *c
			return
		}
	}
	u.creds = append(u.creds, *c)
}

func newRP(t *testing.T) *webauthn.WebAuthn {
	t.Helper()
	rp, err := webauthn.New(&webauthn.Config{
		RPID:          "localhost",
		RPDisplayName: "t",
		RPOrigins:     []string{origin},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func newUser(name string) *user {
	return &user{id: []byte("user-" + name), name: name}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reason is what the library says about a refusal, for the test's messages
// and for checking that it refused for the expected reason.
func reason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Details + ": " + pe.DevInfo
	}
	return err.Error()
}

// finishRegistration runs the relying party's side of a registration on the
// authenticator's response.
func finishRegistration(rp *webauthn.WebAuthn, u *user, session *webauthn.SessionData, resp []byte) (*webauthn.Credential, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		return nil, err
	}
	return rp.CreateCredential(u, *session, parsed)
}

// register runs a whole registration that must succeed, and stores the
// credential for u.
func register(t *testing.T, rp *webauthn.WebAuthn, a *fakeauthn.Authenticator, u *user, opts ...webauthn.RegistrationOption) (*webauthn.Credential, *fakeauthn.Credential) {
	t.Helper()
	creation, session, err := rp.BeginRegistration(u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	resp, fc, err := a.Create(mustJSON(t, creation))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	cred, err := finishRegistration(rp, u, session, resp)
	if err != nil {
		t.Fatalf("CreateCredential: %s", reason(err))
	}
	u.store(cred)
	return cred, fc
}

// login runs a login for u through BeginLogin, passing opts to the
// authenticator, and stores the updated credential when the relying party
// accepts it.
func login(t *testing.T, rp *webauthn.WebAuthn, a *fakeauthn.Authenticator, u *user, loginOpts []webauthn.LoginOption, opts ...fakeauthn.Option) (*webauthn.Credential, error) {
	t.Helper()
	assertion, session, err := rp.BeginLogin(u, loginOpts...)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(mustJSON(t, assertion), opts...)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		return nil, err
	}
	cred, err := rp.ValidateLogin(u, *session, parsed)
	if err == nil {
		u.store(cred)
	}
	return cred, err
}

// passkeyLogin runs a discoverable login, the relying party finding the user
// among users by the user handle.
func passkeyLogin(t *testing.T, rp *webauthn.WebAuthn, a *fakeauthn.Authenticator, users []*user, opts ...fakeauthn.Option) (webauthn.User, *webauthn.Credential, error) {
	t.Helper()
	assertion, session, err := rp.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(mustJSON(t, assertion), opts...)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		return nil, nil, err
	}
	return rp.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
		for _, u := range users {
			if bytes.Equal(u.id, handle) {
				return u, nil
			}
		}
		return nil, fmt.Errorf("no user with handle %x", handle)
	}, *session, parsed)
}

func TestRegisterThenLogin(t *testing.T) {
	rp := newRP(t)
	a := fakeauthn.New(origin)
	a.AAGUID = [16]byte{0xfa, 0xce}
	u := newUser("alice")

	cred, fc := register(t, rp, a, u)
	if cred.AttestationFormat != "none" || !cred.Flags.UserPresent || !cred.Flags.UserVerified || cred.Flags.BackupEligible {
		t.Errorf("credential: format %q, flags %+v", cred.AttestationFormat, cred.Flags)
	}
	if !bytes.Equal(cred.Authenticator.AAGUID, a.AAGUID[:]) {
		t.Errorf("AAGUID %x, want %x", cred.Authenticator.AAGUID, a.AAGUID)
	}
	if !bytes.Equal(cred.ID, fc.ID) || len(fc.ID) != 32 || !bytes.Equal(fc.UserHandle, u.id) || fc.RPID != "localhost" {
		t.Errorf("fake credential %x for %q, handle %q; relying party's %x", fc.ID, fc.RPID, fc.UserHandle, cred.ID)
	}
	if got := cred.Attestation.PublicKeyAlgorithm; got != -7 {
		t.Errorf("publicKeyAlgorithm %d, want -7", got)
	}
	if got := cred.Transport; len(got) != 2 || got[0] != "hybrid" || got[1] != "internal" {
		t.Errorf("transports %v", got)
	}

	for want := uint32(1); want <= 3; want++ {
		got, err := login(t, rp, a, u, nil)
		if err != nil {
			t.Fatalf("login %d: %s", want, reason(err))
		}
		if got.Authenticator.SignCount != want || got.Authenticator.CloneWarning {
			t.Errorf("login %d: counter %d, clone warning %v", want, got.Authenticator.SignCount, got.Authenticator.CloneWarning)
		}
	}
	if fc.Counter != 3 {
		t.Errorf("the fake credential's counter is %d, want 3", fc.Counter)
	}
}

func TestPasskeyLogin(t *testing.T) {
	rp := newRP(t)
	a := fakeauthn.New(origin)
	alice, bob := newUser("alice"), newUser("bob")
	register(t, rp, a, alice, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	register(t, rp, a, bob, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))

	// With no allowCredentials the most recent credential for the RP ID
	// answers: bob's.
	got, cred, err := passkeyLogin(t, rp, a, []*user{alice, bob})
	if err != nil {
		t.Fatalf("passkey login: %s", reason(err))
	}
	if got.WebAuthnName() != "bob" || cred.Authenticator.SignCount != 1 {
		t.Errorf("signed in %q with counter %d", got.WebAuthnName(), cred.Authenticator.SignCount)
	}

	// A login for alice names her credential, so hers answers.
	if _, err := login(t, rp, a, alice, nil); err != nil {
		t.Fatalf("alice's login: %s", reason(err))
	}
}

// TestBareOptions passes the inner options object, as a server that sends
// PublicKeyCredentialCreationOptionsJSON without the wrapper would.
func TestBareOptions(t *testing.T) {
	rp := newRP(t)
	a := fakeauthn.New(origin)
	u := newUser("alice")

	creation, session, err := rp.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := a.Create(mustJSON(t, creation.Response))
	if err != nil {
		t.Fatal(err)
	}
	cred, err := finishRegistration(rp, u, session, resp)
	if err != nil {
		t.Fatalf("registration: %s", reason(err))
	}
	u.store(cred)

	assertion, lsession, err := rp.BeginLogin(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = a.Get(mustJSON(t, assertion.Response))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.ValidateLogin(u, *lsession, parsed); err != nil {
		t.Fatalf("login: %s", reason(err))
	}
}

// TestResponseJSON checks the shape of the responses against what a
// browser's toJSON() gives, member by member.
func TestResponseJSON(t *testing.T) {
	rp := newRP(t)
	a := fakeauthn.New(origin)
	u := newUser("alice")
	creation, _, err := rp.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, fc, err := a.Create(mustJSON(t, creation))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(resp, '=') {
		t.Errorf("padding in %s", resp)
	}
	var reg struct {
		ID, RawID, Type, AuthenticatorAttachment string
		Response                                 map[string]json.RawMessage
		ClientExtensionResults                   map[string]any
	}
	if err := json.Unmarshal(resp, &reg); err != nil {
		t.Fatal(err)
	}
	id := base64.RawURLEncoding.EncodeToString(fc.ID)
	if reg.ID != id || reg.RawID != id || reg.Type != "public-key" || reg.AuthenticatorAttachment != "platform" || reg.ClientExtensionResults == nil || len(reg.ClientExtensionResults) != 0 {
		t.Errorf("registration response %s", resp)
	}
	for _, m := range []string{"clientDataJSON", "attestationObject", "authenticatorData", "transports", "publicKey", "publicKeyAlgorithm"} {
		if _, ok := reg.Response[m]; !ok {
			t.Errorf("response has no %s: %s", m, resp)
		}
	}
	var s string
	_ = json.Unmarshal(reg.Response["clientDataJSON"], &s)
	cdj, _ := base64.RawURLEncoding.DecodeString(s)
	want := `{"type":"webauthn.create","challenge":"` + creation.Response.Challenge.String() + `","origin":"` + origin + `","crossOrigin":false}`
	if string(cdj) != want {
		t.Errorf("clientDataJSON\n%s\nwant\n%s", cdj, want)
	}
	_ = json.Unmarshal(reg.Response["attestationObject"], &s)
	raw, _ := base64.RawURLEncoding.DecodeString(s)
	var att struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}
	if err := webauthncbor.Unmarshal(raw, &att); err != nil {
		t.Fatal(err)
	}
	rpIDHash := sha256.Sum256([]byte("localhost"))
	if att.Fmt != "none" || len(att.AttStmt) != 0 || !bytes.Equal(att.AuthData[:32], rpIDHash[:]) || att.AuthData[32] != 0x45 {
		t.Errorf("attestation object: fmt %q, attStmt %v, authData %x", att.Fmt, att.AttStmt, att.AuthData)
	}

	assertion, _, err := rp.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err = a.Get(mustJSON(t, assertion))
	if err != nil {
		t.Fatal(err)
	}
	var get struct {
		ID, RawID, Type        string
		Response               map[string]string
		ClientExtensionResults map[string]any
	}
	if err := json.Unmarshal(resp, &get); err != nil {
		t.Fatal(err)
	}
	if get.ID != id || get.RawID != id || get.Type != "public-key" || get.ClientExtensionResults == nil {
		t.Errorf("assertion response %s", resp)
	}
	if get.Response["userHandle"] != base64.RawURLEncoding.EncodeToString(u.id) {
		t.Errorf("userHandle %q, want the user.id of the creation options", get.Response["userHandle"])
	}
	authData, _ := base64.RawURLEncoding.DecodeString(get.Response["authenticatorData"])
	if len(authData) != 37 || authData[32] != 0x05 || !bytes.Equal(authData[33:], []byte{0, 0, 0, 1}) {
		t.Errorf("authenticatorData %x", authData)
	}
}

// TestLoginRefused shows that each way of tampering with an assertion makes
// the relying party refuse it, and for the expected reason.
func TestLoginRefused(t *testing.T) {
	otherHash := sha256.Sum256([]byte("evil.example"))
	otherChallenge := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	cases := []struct {
		name   string
		setup  func(a *fakeauthn.Authenticator)
		login  []webauthn.LoginOption
		opts   []fakeauthn.Option
		reason string
	}{
		{name: "origin", opts: []fakeauthn.Option{fakeauthn.WithOrigin("https://evil.example")}, reason: "origin"},
		{name: "rpIdHash", opts: []fakeauthn.Option{fakeauthn.WithRPIDHash(otherHash[:])}, reason: "RP Hash mismatch"},
		{name: "signature", opts: []fakeauthn.Option{fakeauthn.WithBadSignature()}, reason: "signature"},
		{name: "challenge", opts: []fakeauthn.Option{fakeauthn.WithChallenge(otherChallenge)}, reason: "challenge"},
		{name: "type", opts: []fakeauthn.Option{fakeauthn.WithType("webauthn.create")}, reason: "ceremony type"},
		{
			name:   "no UV when required",
			setup:  func(a *fakeauthn.Authenticator) { a.UserVerified = false },
			login:  []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationRequired)},
			reason: "User verification required",
		},
		{name: "no UP", setup: func(a *fakeauthn.Authenticator) { a.NoUserPresence = true }, reason: "User presence required"},
		{name: "other user handle", opts: []fakeauthn.Option{fakeauthn.WithUserHandle([]byte("user-mallory"))}, reason: "User handle and User ID do not match"},
		{name: "BE changed", setup: func(a *fakeauthn.Authenticator) { a.BackupEligible = true }, reason: "Backup Eligible"},
		{name: "unsolicited extension", opts: []fakeauthn.Option{fakeauthn.WithExtensionResults(json.RawMessage(`{"appid":true}`))}, reason: "not requested"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rp := newRP(t)
			a := fakeauthn.New(origin)
			u := newUser("alice")
			register(t, rp, a, u)
			if tc.setup != nil {
				tc.setup(a)
			}
			_, err := login(t, rp, a, u, tc.login, tc.opts...)
			if err == nil {
				t.Fatal("the relying party accepted the assertion")
			}
			if !strings.Contains(reason(err), tc.reason) {
				t.Errorf("refused for %q, want a reason with %q", reason(err), tc.reason)
			}
		})
	}
}

// TestRegistrationRefused does the same for registrations.
func TestRegistrationRefused(t *testing.T) {
	otherHash := sha256.Sum256([]byte("evil.example"))
	cases := []struct {
		name   string
		setup  func(a *fakeauthn.Authenticator)
		reg    []webauthn.RegistrationOption
		opts   []fakeauthn.Option
		reason string
	}{
		{name: "origin", opts: []fakeauthn.Option{fakeauthn.WithOrigin("https://evil.example")}, reason: "origin"},
		{name: "rpIdHash", opts: []fakeauthn.Option{fakeauthn.WithRPIDHash(otherHash[:])}, reason: "RP Hash mismatch"},
		{name: "RPID field", setup: func(a *fakeauthn.Authenticator) { a.RPID = "evil.example" }, reason: "RP Hash mismatch"},
		{name: "challenge", opts: []fakeauthn.Option{fakeauthn.WithChallenge("AAAAAAAAAAAAAAAAAAAAAA")}, reason: "challenge"},
		{name: "type", opts: []fakeauthn.Option{fakeauthn.WithType("webauthn.get")}, reason: "ceremony type"},
		{
			name:  "no UV when required",
			setup: func(a *fakeauthn.Authenticator) { a.UserVerified = false },
			reg: []webauthn.RegistrationOption{webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
				UserVerification: protocol.VerificationRequired,
			})},
			reason: "User verification required",
		},
		{name: "BS without BE", setup: func(a *fakeauthn.Authenticator) { a.BackupState = true }, reason: "Backup State"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rp := newRP(t)
			a := fakeauthn.New(origin)
			if tc.setup != nil {
				tc.setup(a)
			}
			u := newUser("alice")
			creation, session, err := rp.BeginRegistration(u, tc.reg...)
			if err != nil {
				t.Fatal(err)
			}
			resp, _, err := a.Create(mustJSON(t, creation), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = finishRegistration(rp, u, session, resp)
			if err == nil {
				t.Fatal("the relying party accepted the registration")
			}
			if !strings.Contains(reason(err), tc.reason) {
				t.Errorf("refused for %q, want a reason with %q", reason(err), tc.reason)
			}
		})
	}
}

func TestCounter(t *testing.T) {
	t.Run("backwards", func(t *testing.T) {
		rp := newRP(t)
		a := fakeauthn.New(origin)
		u := newUser("alice")
		_, fc := register(t, rp, a, u)
		for range 3 {
			if _, err := login(t, rp, a, u, nil); err != nil {
				t.Fatal(reason(err))
			}
		}
		fc.Counter = 1 // the next assertion reports 2, below the stored 3
		cred, err := login(t, rp, a, u, nil)
		if err != nil {
			t.Fatal(reason(err))
		}
		if !cred.Authenticator.CloneWarning {
			t.Errorf("no clone warning for a counter of 2 after 3")
		}
	})
	t.Run("explicit", func(t *testing.T) {
		rp := newRP(t)
		a := fakeauthn.New(origin)
		u := newUser("alice")
		_, fc := register(t, rp, a, u)
		cred, err := login(t, rp, a, u, nil, fakeauthn.WithCounter(41))
		if err != nil {
			t.Fatal(reason(err))
		}
		if cred.Authenticator.SignCount != 41 || fc.Counter != 41 {
			t.Errorf("counter %d, stored %d; want 41", cred.Authenticator.SignCount, fc.Counter)
		}
		cred, err = login(t, rp, a, u, nil, fakeauthn.WithCounter(41))
		if err != nil {
			t.Fatal(reason(err))
		}
		if !cred.Authenticator.CloneWarning {
			t.Errorf("no clone warning for the same counter twice")
		}
	})
	t.Run("zero for synced passkeys", func(t *testing.T) {
		rp := newRP(t)
		a := fakeauthn.New(origin)
		a.ZeroCounter, a.BackupEligible, a.BackupState = true, true, true
		u := newUser("alice")
		reg, _ := register(t, rp, a, u)
		if !reg.Flags.BackupEligible || !reg.Flags.BackupState {
			t.Errorf("flags %+v, want BE and BS", reg.Flags)
		}
		for range 2 {
			cred, err := login(t, rp, a, u, nil)
			if err != nil {
				t.Fatal(reason(err))
			}
			if cred.Authenticator.SignCount != 0 || cred.Authenticator.CloneWarning {
				t.Errorf("counter %d, clone warning %v", cred.Authenticator.SignCount, cred.Authenticator.CloneWarning)
			}
		}
	})
}

// TestGetWith signs with a credential the request does not allow: another
// user's, and one that carries alice's credential ID but another key.
func TestGetWith(t *testing.T) {
	rp := newRP(t)
	a := fakeauthn.New(origin)
	alice, bob := newUser("alice"), newUser("bob")
	_, aliceCred := register(t, rp, a, alice)
	_, bobCred := register(t, rp, a, bob)

	try := func(c *fakeauthn.Credential) error {
		t.Helper()
		assertion, session, err := rp.BeginLogin(alice)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.GetWith(c, mustJSON(t, assertion))
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rp.ValidateLogin(alice, *session, parsed)
		return err
	}
	if err := try(aliceCred); err != nil {
		t.Fatalf("alice's own credential: %s", reason(err))
	}
	if err := try(bobCred); err == nil {
		t.Error("bob's credential signed alice in")
	}
	forged := *aliceCred
	forged.Key = bobCred.Key
	if err := try(&forged); err == nil || !strings.Contains(reason(err), "signature") {
		t.Errorf("a credential with another key: %v", err)
	}
}

func TestPasskeyLoginWithoutUserHandle(t *testing.T) {
	rp := newRP(t)
	a := fakeauthn.New(origin)
	u := newUser("alice")
	register(t, rp, a, u)
	_, _, err := passkeyLogin(t, rp, a, []*user{u}, fakeauthn.WithUserHandle(nil))
	if err == nil || !strings.Contains(reason(err), "blank User Handle") {
		t.Errorf("a discoverable login without a user handle: %v", err)
	}
}

// TestBrowserChecks covers what the browser refuses before the relying party
// sees anything.
func TestBrowserChecks(t *testing.T) {
	rp := newRP(t)
	u := newUser("alice")

	t.Run("excludeCredentials", func(t *testing.T) {
		a := fakeauthn.New(origin)
		register(t, rp, a, u)
		descs := make([]protocol.CredentialDescriptor, len(u.creds))
		for i := range u.creds {
			descs[i] = u.creds[i].Descriptor()
		}
		creation, _, err := rp.BeginRegistration(u, webauthn.WithExclusions(descs))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Create(mustJSON(t, creation)); !errors.Is(err, fakeauthn.ErrInvalidState) {
			t.Errorf("Create with an excluded credential held: %v", err)
		}
		// Another authenticator holds none of them and may register.
		if _, _, err := fakeauthn.New(origin).Create(mustJSON(t, creation)); err != nil {
			t.Errorf("Create on another authenticator: %v", err)
		}
	})
	t.Run("RP ID not of the origin", func(t *testing.T) {
		a := fakeauthn.New("https://evil.example")
		creation, _, err := rp.BeginRegistration(u)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Create(mustJSON(t, creation)); !errors.Is(err, fakeauthn.ErrSecurity) {
			t.Errorf("Create for localhost from evil.example: %v", err)
		}
		sub := fakeauthn.New("https://login.localhost")
		if _, _, err := sub.Create(mustJSON(t, creation)); err != nil {
			t.Errorf("Create for localhost from a subdomain: %v", err)
		}
	})
	t.Run("no ES256", func(t *testing.T) {
		a := fakeauthn.New(origin)
		creation, _, err := rp.BeginRegistration(u, webauthn.WithCredentialParameters([]protocol.CredentialParameter{
			{Type: protocol.PublicKeyCredentialType, Algorithm: -257},
		}))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Create(mustJSON(t, creation)); !errors.Is(err, fakeauthn.ErrNotSupported) {
			t.Errorf("Create without ES256: %v", err)
		}
	})
	t.Run("no credential", func(t *testing.T) {
		a := fakeauthn.New(origin)
		assertion, _, err := rp.BeginDiscoverableLogin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Get(mustJSON(t, assertion)); !errors.Is(err, fakeauthn.ErrNotAllowed) {
			t.Errorf("Get with no credential: %v", err)
		}
	})
	t.Run("malformed options", func(t *testing.T) {
		a := fakeauthn.New(origin)
		for _, opts := range []string{`[]`, `{"publicKey":{"challenge":""}}`, `{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","user":{"id":""},"rp":{"id":"localhost"}}`} {
			if _, _, err := a.Create([]byte(opts)); !errors.Is(err, fakeauthn.ErrType) {
				t.Errorf("Create(%s): %v", opts, err)
			}
		}
	})
	t.Run("records the selection", func(t *testing.T) {
		a := fakeauthn.New(origin)
		creation, _, err := rp.BeginRegistration(u, webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationDiscouraged,
		}), webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
		if err != nil {
			t.Fatal(err)
		}
		resp, fc, err := a.Create(mustJSON(t, creation))
		if err != nil {
			t.Fatal(err)
		}
		if fc.ResidentKey != "preferred" || fc.UserVerification != "discouraged" {
			t.Errorf("recorded residentKey %q, userVerification %q", fc.ResidentKey, fc.UserVerification)
		}
		if !bytes.Contains(resp, []byte(`"clientExtensionResults":{"credProps":{"rk":true}}`)) {
			t.Errorf("no credProps output in %s", resp)
		}
		if got := a.Credentials(); len(got) != 1 || got[0] != fc {
			t.Errorf("Credentials() = %v", got)
		}
	})
}

// TestCredPropsAccepted checks that the relying party takes the credProps
// output when it asked for it.
func TestCredPropsAccepted(t *testing.T) {
	rp := newRP(t)
	a := fakeauthn.New(origin)
	u := newUser("alice")
	cred, _ := register(t, rp, a, u, webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if cred.Extensions.RK == nil || !*cred.Extensions.RK {
		t.Errorf("credential extensions %+v, want rk true", cred.Extensions)
	}
}

// TestConcurrentLogins runs logins in parallel for the race detector: every
// assertion gets its own counter value.
func TestConcurrentLogins(t *testing.T) {
	rp := newRP(t)
	a := fakeauthn.New(origin)
	u := newUser("alice")
	register(t, rp, a, u)
	const n = 16
	counters := make(chan uint32, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			assertion, session, err := rp.BeginLogin(u)
			if err != nil {
				t.Error(err)
				return
			}
			opts, err := json.Marshal(assertion)
			if err != nil {
				t.Error(err)
				return
			}
			resp, err := a.Get(opts)
			if err != nil {
				t.Error(err)
				return
			}
			parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := rp.ValidateLogin(u, *session, parsed); err != nil {
				t.Error(reason(err))
				return
			}
			counters <- parsed.Response.AuthenticatorData.Counter
		})
	}
	wg.Wait()
	close(counters)
	seen := map[uint32]bool{}
	for c := range counters {
		if seen[c] || c < 1 || c > n {
			t.Errorf("counter %d repeated or out of 1..%d", c, n)
		}
		seen[c] = true
	}
}
