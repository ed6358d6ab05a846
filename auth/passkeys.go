package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// Passkeys (DESIGN §8) are WebAuthn credentials, verified with
// github.com/go-webauthn/webauthn. A ceremony (register, sign up, sign in)
// is begun by one call, which hands out a ceremony id and the options for
// the browser, and finished by another, which takes the ceremony id and the
// browser's PublicKeyCredential. Between the two the ceremony is a
// store.Ticket: single-use, 5 minutes, finished on any instance.

// The errors of the passkey flows.
var (
	// ErrPasskeyExists: the credential is registered already (to this
	// user or another).
	ErrPasskeyExists = errors.New("auth: passkey already registered")
	// ErrPasskeysOff: Config.Passkeys is not set.
	ErrPasskeysOff = errors.New("auth: passkeys are not configured")
	// ErrBadCredential is matched by every *[CredentialError].
	ErrBadCredential = errors.New("auth: credential refused")
)

// The reasons of a *[CredentialError].
const (
	// CredentialMalformed: the credential is not a PublicKeyCredential in
	// WebAuthn JSON (bad JSON, wrong type, bad base64url, bad CBOR).
	CredentialMalformed = "malformed"
	// CredentialRejected: the credential is well formed but its
	// verification failed (wrong origin or relying party, wrong challenge,
	// an attestation the library refuses, a ceremony of the wrong kind).
	CredentialRejected = "rejected"
)

// CredentialError is a registration or sign-up refused for the credential
// the browser sent, with a Reason ([CredentialMalformed] or
// [CredentialRejected]) a client can act on. It matches
// [ErrBadCredential]. (A sign-in refused for its credential is
// [ErrInvalidCredentials] instead, one answer for every cause.)
type CredentialError struct {
	Reason string
	Err    error // the library's cause, for logs only
}

func (e *CredentialError) Error() string {
	return "auth: credential " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns [ErrBadCredential].
func (e *CredentialError) Unwrap() error { return ErrBadCredential }

// The sign-in methods of a passkey in the amr claim (RFC 8176).
const (
	AMRHardwareKey = "hwk"  // proof of possession of a key in an authenticator
	AMRUser        = "user" // the authenticator verified the user (PIN, biometrics)
	// MethodPasskey is the second factor of an mfa_required challenge
	// that a passkey answers.
	MethodPasskey = "passkey"
)

// The audit events of passkeys.
const (
	EventPasskeyAdded   EventKind = "passkey_added"
	EventPasskeyRemoved EventKind = "passkey_removed"
	EventPasskeyRenamed EventKind = "passkey_renamed"
	// EventPasskeyLogin: a sign-in with a passkey; Outcome failure with
	// Reason "unknown_credential", "verification_failed", or
	// "counter_regressed" (a signature counter that went backwards: a
	// cloned authenticator, or a replay).
	EventPasskeyLogin EventKind = "passkey_login"
)

// PasskeyConfig is the relying party of passkeys. The zero value turns
// passkeys off.
type PasskeyConfig struct {
	// RPID is the relying party id: the registrable domain the passkeys
	// belong to, such as "example.com" ("localhost" for development).
	RPID string
	// RPName is the name authenticators show; default Config.AppName.
	RPName string
	// Origins are the web origins that may run a ceremony, such as
	// "https://example.com" and "https://app.example.com". Each host must
	// be RPID or a subdomain of it, and the scheme https (http only for
	// localhost); New refuses any other.
	Origins []string
}

// PasskeyConfigFromEnv reads the relying party from the environment,
// through getenv (nil means os.Getenv):
//
//	WEBAUTHN_RP_ID     the relying party id; unset turns passkeys off
//	WEBAUTHN_RP_NAME   the name authenticators show; default EMAIL_FROM_NAME, then "forgeauth"
//	WEBAUTHN_ORIGINS   comma-separated origins; required with WEBAUTHN_RP_ID
//
// It returns an *[EnvError] for an origin that is not a URL, or that does
// not belong to the relying party id, and for origins without an id.
// With WEBAUTHN_RP_ID unset, the result is off (no RPID) and carries
// only WEBAUTHN_RP_NAME.
func PasskeyConfigFromEnv(getenv func(string) string) (PasskeyConfig, error) {
	e := env{getenv: getenv}
	if e.getenv == nil {
		e.getenv = os.Getenv
	}
	cfg := PasskeyConfig{RPID: e.str("WEBAUTHN_RP_ID"), RPName: e.str("WEBAUTHN_RP_NAME")}
	cfg.Origins = splitList(e.str("WEBAUTHN_ORIGINS"), ",")
	if cfg.RPID == "" {
		if len(cfg.Origins) > 0 {
			return PasskeyConfig{}, &EnvError{Name: "WEBAUTHN_RP_ID", Reason: "required with WEBAUTHN_ORIGINS: the domain the origins belong to"}
		}
		// Off; the name is kept for a caller that fills in a default
		// relying party.
		return PasskeyConfig{RPName: cfg.RPName}, nil
	}
	if err := cfg.check(); err != nil {
		name := "WEBAUTHN_ORIGINS"
		if errors.Is(err, errRPID) {
			name = "WEBAUTHN_RP_ID"
		}
		return PasskeyConfig{}, &EnvError{Name: name, Reason: err.Error()}
	}
	return cfg, nil
}

var errRPID = errors.New("the relying party id must be a domain name, such as example.com or localhost")

// check refuses a relying party whose origins do not belong to its id:
// browsers would refuse every ceremony, so it is a start-up error.
func (c PasskeyConfig) check() error {
	// Browsers take no IP address as a relying party id.
	if c.RPID == "" || strings.ContainsAny(c.RPID, ":/ ") || net.ParseIP(c.RPID) != nil ||
		protocol.ValidateRPID(c.RPID) != nil {
		return errRPID
	}
	if len(c.Origins) == 0 {
		return errors.New("at least one origin is required")
	}
	for _, o := range c.Origins {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("origin %q is not scheme://host[:port]", o)
		}
		host := strings.ToLower(u.Hostname())
		if host != c.RPID && !strings.HasSuffix(host, "."+c.RPID) {
			return fmt.Errorf("origin %q does not belong to the relying party id %q (its host must be %s or a subdomain)", o, c.RPID, c.RPID)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && (host == "localhost" || strings.HasSuffix(host, ".localhost"))) {
			return fmt.Errorf("origin %q must be https (http only for localhost)", o)
		}
	}
	return nil
}

// The rules of passkey ceremonies.
const (
	ceremonyTTL          = 5 * time.Minute
	ceremonyBytes        = 32
	maxCeremonyIDLen     = 64
	userHandleBytes      = 32
	maxPasskeyNameLen    = 64
	maxCredentialJSONLen = 64 << 10
	ticketPasskeyCreate  = "passkey_register"
	ticketPasskeySignup  = "passkey_signup"
	ticketPasskeyLogin   = "passkey_login"
	defaultPasskeyName   = "Passkey"
)

// passkeyState is what the service needs for passkeys.
type passkeyState struct {
	rp      *webauthn.WebAuthn
	keys    store.Passkeys
	tickets store.Tickets
	// decoyKey makes the stand-in credential of a name without passkeys:
	// the same for a name on every call (and, derived from the code key,
	// on every instance).
	decoyKey []byte
}

// newPasskeys checks cfg.Passkeys; nil when passkeys are off. codeKey, when
// set, keys the decoy credentials; otherwise a random key does.
func newPasskeys(cfg Config, st store.Store, codeKey []byte, random io.Reader) (*passkeyState, error) {
	pc := cfg.Passkeys
	if pc.RPID == "" && len(pc.Origins) == 0 {
		return nil, nil
	}
	if err := pc.check(); err != nil {
		return nil, fmt.Errorf("auth: Config.Passkeys: %w", err)
	}
	p := &passkeyState{}
	var missing []string
	var ok bool
	if p.keys, ok = st.(store.Passkeys); !ok {
		missing = append(missing, "store.Passkeys")
	}
	if p.tickets, ok = st.(store.Tickets); !ok {
		missing = append(missing, "store.Tickets")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("auth: Config.Passkeys needs a store that implements %s; %T does not", strings.Join(missing, " and "), st)
	}
	name := pc.RPName
	if name == "" {
		name = cfg.AppName
	}
	if name == "" {
		name = "forgeauth"
	}
	rp, err := webauthn.New(&webauthn.Config{
		RPID:                  pc.RPID,
		RPDisplayName:         name,
		RPOrigins:             pc.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: Config.Passkeys: %w", err)
	}
	p.rp = rp
	if len(codeKey) > 0 {
		p.decoyKey = derive(codeKey, "forgeauth passkey decoy key v1")
	} else {
		p.decoyKey = make([]byte, 32)
		if _, err := io.ReadFull(random, p.decoyKey); err != nil {
			return nil, fmt.Errorf("auth: reading randomness: %w", err)
		}
	}
	return p, nil
}

// decoy is the stand-in user of a sign-in begun for a name that has no
// account, or no passkey: one credential id derived from the name, so
// that the options list a credential as a real account's do, and list
// the same one every time.
func (p *passkeyState) decoy(name string) *rpUser {
	id := derive(p.decoyKey, "credential|"+store.Fold(name))
	return &rpUser{handle: derive(p.decoyKey, "handle|"+store.Fold(name)), creds: []webauthn.Credential{{
		ID:        id,
		Transport: []protocol.AuthenticatorTransport{protocol.Internal, protocol.Hybrid},
	}}}
}

// PasskeysEnabled reports whether Config.Passkeys is set.
func (s *Service) PasskeysEnabled() bool { return s.passkeys != nil }

// PasskeyCeremony is the first half of a ceremony: the id to finish it
// with, and the options for navigator.credentials (the inner
// PublicKeyCredentialCreationOptions or PublicKeyCredentialRequestOptions,
// in WebAuthn JSON).
type PasskeyCeremony struct {
	ID        string
	Options   json.RawMessage
	ExpiresAt time.Time
}

// ceremony is the state of a ceremony, kept in a store.Ticket.
type ceremony struct {
	Session webauthn.SessionData `json:"session"`
	// Unknown marks a sign-in begun for a username that has no account
	// (or no passkey): it can only fail, as late as a real one would.
	Unknown bool `json:"unknown,omitempty"`
	// MFA is the digest of the mfa_token a second-step sign-in answers.
	MFA string `json:"mfa,omitempty"`
	// Signup is the account a sign-up ceremony creates.
	Signup *signup `json:"signup,omitempty"`
}

type signup struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Handle   []byte `json:"handle"`
}

// rpUser is a user as go-webauthn sees them.
type rpUser struct {
	handle      []byte
	name        string
	displayName string
	creds       []webauthn.Credential
}

func (u *rpUser) WebAuthnID() []byte                         { return u.handle }
func (u *rpUser) WebAuthnName() string                       { return u.name }
func (u *rpUser) WebAuthnDisplayName() string                { return u.displayName }
func (u *rpUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// credential is a stored passkey as go-webauthn sees it.
func credential(p store.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                p.CredentialID,
		PublicKey:         p.PublicKey,
		AttestationType:   p.AttestationType,
		AttestationFormat: p.AttestationFormat,
		Transport:         transports,
		Flags: webauthn.CredentialFlags{
			UserPresent:    true,
			UserVerified:   p.UserVerified,
			BackupEligible: p.BackupEligible,
			BackupState:    p.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// rpUserOf loads what go-webauthn needs of u: the handle (made on first
// use) and the passkeys.
func (s *Service) rpUserOf(ctx context.Context, u store.User) (*rpUser, []store.Passkey, error) {
	handle, err := s.newHandle()
	if err != nil {
		return nil, nil, err
	}
	if handle, err = s.passkeys.keys.UserHandle(ctx, u.ID, handle); err != nil {
		return nil, nil, storeErr("user handle", err)
	}
	list, err := s.passkeys.keys.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, nil, storeErr("passkeys", err)
	}
	ru := &rpUser{handle: handle, name: u.Email, displayName: u.Username}
	for _, p := range list {
		ru.creds = append(ru.creds, credential(p))
	}
	return ru, list, nil
}

func (s *Service) newHandle() ([]byte, error) {
	h := make([]byte, userHandleBytes)
	if _, err := io.ReadFull(s.rand, h); err != nil {
		return nil, fmt.Errorf("auth: reading randomness: %w", err)
	}
	return h, nil
}

// putCeremony stores st as a ticket of kind for userID and returns its id.
func (s *Service) putCeremony(ctx context.Context, kind, userID string, st ceremony, options any) (PasskeyCeremony, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: %w", err)
	}
	// Expiry is the ticket's, on the service's clock; the library's own
	// check runs on the wall clock and is left out.
	st.Session.Expires = time.Time{}
	data, err := json.Marshal(st)
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: %w", err)
	}
	raw := make([]byte, ceremonyBytes)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: reading randomness: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now().UTC()
	expires := now.Add(ceremonyTTL)
	err = s.passkeys.tickets.PutTicket(ctx, store.Ticket{
		Kind: kind, Digest: token.Digest(id), UserID: userID, Data: data, ExpiresAt: expires, CreatedAt: now,
	})
	if err != nil {
		return PasskeyCeremony{}, storeErr("store ceremony", err)
	}
	return PasskeyCeremony{ID: id, Options: opts, ExpiresAt: expires}, nil
}

// takeCeremony takes the ceremony of kind with the id: once, before it
// expires. It returns [ErrInvalidCode] otherwise.
func (s *Service) takeCeremony(ctx context.Context, kind, id string) (store.Ticket, ceremony, error) {
	if id == "" || len(id) > maxCeremonyIDLen {
		return store.Ticket{}, ceremony{}, ErrInvalidCode
	}
	t, err := s.passkeys.tickets.TakeTicket(ctx, kind, token.Digest(id), s.now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Ticket{}, ceremony{}, ErrInvalidCode
	case err != nil:
		return store.Ticket{}, ceremony{}, storeErr("take ceremony", err)
	}
	var st ceremony
	if err := json.Unmarshal(t.Data, &st); err != nil {
		return store.Ticket{}, ceremony{}, ErrInvalidCode
	}
	return t, st, nil
}

// checkPasskeyName returns the name to store: trimmed, the default when
// empty, and a *ValidationError when too long or not text.
func checkPasskeyName(name string, fallback string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return fallback, nil
	}
	if utf8.RuneCountInString(name) > maxPasskeyNameLen || !utf8.ValidString(name) || strings.ContainsFunc(name, isControl) {
		return "", &ValidationError{Errors: []FieldError{{Field: "name", Code: "name_invalid",
			Message: fmt.Sprintf("A passkey name has at most %d characters and no control characters.", maxPasskeyNameLen)}}}
	}
	return name, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// BeginPasskeyRegistration begins adding a passkey to the signed-in user.
// The options exclude the user's passkeys (an authenticator that holds one
// refuses to make another), prefer a discoverable credential and user
// verification, and ask for no attestation.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, id Identity, c Client) (PasskeyCeremony, error) {
	if s.passkeys == nil {
		return PasskeyCeremony{}, ErrPasskeysOff
	}
	u, err := s.store.UserByID(ctx, id.Claims.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return PasskeyCeremony{}, ErrInvalidToken
	case err != nil:
		return PasskeyCeremony{}, storeErr("find user", err)
	}
	ru, _, err := s.rpUserOf(ctx, u)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	exclude := webauthn.Credentials(ru.creds).CredentialDescriptors()
	creation, session, err := s.passkeys.rp.BeginRegistration(ru, webauthn.WithExclusions(exclude))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: begin passkey registration: %w", err)
	}
	return s.putCeremony(ctx, ticketPasskeyCreate, u.ID, ceremony{Session: *session}, creation.Response)
}

// FinishPasskeyRegistration verifies the browser's credential against the
// ceremony and stores it as a passkey of the signed-in user, named name
// (default "Passkey"). The ceremony must have been begun by the same user.
//
// It returns [ErrInvalidCode] for a ceremony that is unknown, used,
// expired or another user's; a *[CredentialError] for a credential that is
// malformed or fails verification; [ErrPasskeyExists] for a credential
// registered already; and a *ValidationError for a bad name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, id Identity, ceremonyID string, cred json.RawMessage, name string, c Client) (store.Passkey, error) {
	if s.passkeys == nil {
		return store.Passkey{}, ErrPasskeysOff
	}
	name, err := checkPasskeyName(name, defaultPasskeyName)
	if err != nil {
		return store.Passkey{}, err
	}
	t, st, err := s.takeCeremony(ctx, ticketPasskeyCreate, ceremonyID)
	if err != nil {
		return store.Passkey{}, err
	}
	if t.UserID != id.Claims.UserID {
		s.emit(ctx, EventPasskeyAdded, OutcomeFailure, id.Claims.UserID, id.Claims.SessionID, c, "other_users_ceremony")
		return store.Passkey{}, ErrInvalidCode
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Passkey{}, ErrInvalidToken
	case err != nil:
		return store.Passkey{}, storeErr("find user", err)
	}
	ru, _, err := s.rpUserOf(ctx, u)
	if err != nil {
		return store.Passkey{}, err
	}
	p, err := s.verifyCreation(ru, st.Session, cred, u.ID, name)
	if err != nil {
		s.emit(ctx, EventPasskeyAdded, OutcomeFailure, u.ID, id.Claims.SessionID, c, credentialReason(err))
		return store.Passkey{}, err
	}
	if err := s.passkeys.keys.CreatePasskey(ctx, p); err != nil {
		if isConflict(err, store.FieldCredential) {
			s.emit(ctx, EventPasskeyAdded, OutcomeFailure, u.ID, id.Claims.SessionID, c, "credential_exists")
			return store.Passkey{}, ErrPasskeyExists
		}
		return store.Passkey{}, storeErr("create passkey", err)
	}
	s.emit(ctx, EventPasskeyAdded, OutcomeSuccess, u.ID, id.Claims.SessionID, c, "")
	s.notify(ctx, u, NoticePasskeyAdded, mailer.Notice{})
	return p, nil
}

// verifyCreation checks a registration's credential and returns the
// passkey to store.
func (s *Service) verifyCreation(ru *rpUser, session webauthn.SessionData, cred json.RawMessage, userID, name string) (store.Passkey, error) {
	if len(cred) > maxCredentialJSONLen {
		return store.Passkey{}, &CredentialError{Reason: CredentialMalformed, Err: errors.New("too large")}
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(cred)
	if err != nil {
		return store.Passkey{}, &CredentialError{Reason: CredentialMalformed, Err: err}
	}
	wc, err := s.passkeys.rp.CreateCredential(ru, session, parsed)
	if err != nil {
		return store.Passkey{}, &CredentialError{Reason: CredentialRejected, Err: err}
	}
	pid, err := s.newID()
	if err != nil {
		return store.Passkey{}, err
	}
	transports := make([]string, 0, len(wc.Transport))
	for _, t := range wc.Transport {
		transports = append(transports, string(t))
	}
	return store.Passkey{
		ID:                pid,
		UserID:            userID,
		CredentialID:      wc.ID,
		PublicKey:         wc.PublicKey,
		AAGUID:            wc.Authenticator.AAGUID,
		SignCount:         wc.Authenticator.SignCount,
		Transports:        transports,
		UserVerified:      wc.Flags.UserVerified,
		BackupEligible:    wc.Flags.BackupEligible,
		BackupState:       wc.Flags.BackupState,
		AttestationType:   wc.AttestationType,
		AttestationFormat: wc.AttestationFormat,
		Name:              name,
		CreatedAt:         s.now().UTC(),
	}, nil
}

func credentialReason(err error) string {
	var ce *CredentialError
	if errors.As(err, &ce) {
		return "credential_" + ce.Reason
	}
	return "error"
}

func isConflict(err error, field string) bool {
	var ce *store.ConflictError
	return errors.As(err, &ce) && ce.Field == field
}

// BeginPasskeySignup begins a sign-up without a password: an account whose
// only way to sign in is the passkey made in this ceremony (a provider or
// a password, through forgot-password, may be added later). username and
// email are checked as [Service.Register] checks them, and a taken
// username (or, unless uniform registration is on, email) is an
// *[ExistsError] now, before the authenticator is asked. Nothing is stored
// but the ceremony until [Service.FinishPasskeySignup].
func (s *Service) BeginPasskeySignup(ctx context.Context, username, email string, c Client) (PasskeyCeremony, error) {
	if s.passkeys == nil {
		return PasskeyCeremony{}, ErrPasskeysOff
	}
	username, email = normalize(username), normalize(email)
	var verr ValidationError
	verr.Errors = append(verr.Errors, checkUsername(username)...)
	verr.Errors = append(verr.Errors, checkEmail(email)...)
	if len(verr.Errors) > 0 {
		return PasskeyCeremony{}, &verr
	}
	if _, err := s.store.UserByUsername(ctx, username); err == nil {
		return PasskeyCeremony{}, &ExistsError{Field: store.FieldUsername}
	} else if !errors.Is(err, store.ErrNotFound) {
		return PasskeyCeremony{}, storeErr("find user", err)
	}
	if !s.life.uniform {
		owner, ok, err := s.findByEmail(ctx, email)
		if err != nil {
			return PasskeyCeremony{}, storeErr("find user", err)
		}
		// An unverified holder is replaced at the finish, as Register does.
		if ok && (owner.IsVerified || !(s.mode == ModeComplete && s.requireVerified)) {
			return PasskeyCeremony{}, &ExistsError{Field: store.FieldEmail}
		}
	}
	uid, err := s.newID()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	handle, err := s.newHandle()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	ru := &rpUser{handle: handle, name: email, displayName: username}
	creation, session, err := s.passkeys.rp.BeginRegistration(ru,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: begin passkey sign-up: %w", err)
	}
	st := ceremony{Session: *session, Signup: &signup{UserID: uid, Username: username, Email: email, Handle: handle}}
	return s.putCeremony(ctx, ticketPasskeySignup, "", st, creation.Response)
}

// FinishPasskeySignup verifies the browser's credential and creates the
// account and its passkey in one step, then mails the verification code as
// [Service.Register] does. It returns the new user (without a password),
// or the errors of Register (an *[ExistsError] when the username or email
// was taken meanwhile; with uniform registration on, a taken email is the
// zero user and no error, and its owner is told) and of
// [Service.FinishPasskeyRegistration].
func (s *Service) FinishPasskeySignup(ctx context.Context, ceremonyID string, cred json.RawMessage, name string, c Client) (store.User, error) {
	if s.passkeys == nil {
		return store.User{}, ErrPasskeysOff
	}
	name, err := checkPasskeyName(name, defaultPasskeyName)
	if err != nil {
		return store.User{}, err
	}
	_, st, err := s.takeCeremony(ctx, ticketPasskeySignup, ceremonyID)
	if err != nil {
		return store.User{}, err
	}
	if st.Signup == nil {
		return store.User{}, ErrInvalidCode
	}
	su := st.Signup
	ru := &rpUser{handle: su.Handle, name: su.Email, displayName: su.Username}
	p, err := s.verifyCreation(ru, st.Session, cred, su.UserID, name)
	if err != nil {
		s.emit(ctx, EventRegistered, OutcomeFailure, "", "", c, credentialReason(err))
		return store.User{}, err
	}
	now := s.now().UTC()
	u := store.User{ID: su.UserID, Username: su.Username, Email: su.Email, IsActive: true, CreatedAt: now, UpdatedAt: now}
	replace := s.mode == ModeComplete && s.requireVerified
	if err := s.passkeys.keys.CreateUserWithPasskey(ctx, u, su.Handle, p, replace); err != nil {
		if isConflict(err, store.FieldCredential) {
			return store.User{}, ErrPasskeyExists
		}
		return s.createFailed(ctx, u, err, c)
	}
	s.registered(ctx, u, c)
	return public(u), nil
}

// BeginPasskeyLogin begins a sign-in with a passkey. With neither argument
// it is a discoverable sign-in (the authenticator offers the passkeys it
// holds for the relying party; conditional UI). With a username (or
// email) the options list that user's passkeys; a name that has no
// account, or none with a passkey, gets options of the same shape (a
// stand-in credential id derived from the name, the same on every call),
// and its ceremony can only fail, at the finish, with the same answer as a
// wrong passkey. With an mfaToken (from an *[MFARequiredError]) it is the second
// step of a sign-in: the options list the challenged user's passkeys and
// the finish consumes the mfa_token; it returns [ErrInvalidMFAToken] for a
// token that is unknown, used or expired.
func (s *Service) BeginPasskeyLogin(ctx context.Context, username, mfaToken string, c Client) (PasskeyCeremony, error) {
	if s.passkeys == nil {
		return PasskeyCeremony{}, ErrPasskeysOff
	}
	var st ceremony
	var userID string
	switch {
	case mfaToken != "":
		uid, err := s.peekChallenge(ctx, mfaToken)
		if err != nil {
			return PasskeyCeremony{}, err
		}
		userID, st.MFA = uid, token.Digest(mfaToken)
	case username != "":
		login := normalize(username)
		var u store.User
		var err error
		if strings.Contains(login, "@") {
			u, err = s.store.UserByEmail(ctx, login)
		} else {
			u, err = s.store.UserByUsername(ctx, login)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			return s.decoyCeremony(ctx, login, "")
		case err != nil:
			return PasskeyCeremony{}, storeErr("find user", err)
		default:
			userID = u.ID
		}
	}
	if userID == "" {
		assertion, session, err := s.passkeys.rp.BeginDiscoverableLogin()
		if err != nil {
			return PasskeyCeremony{}, fmt.Errorf("auth: begin passkey sign-in: %w", err)
		}
		st.Session = *session
		return s.putCeremony(ctx, ticketPasskeyLogin, "", st, assertion.Response)
	}
	u, err := s.store.UserByID(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return PasskeyCeremony{}, ErrInvalidMFAToken
	case err != nil:
		return PasskeyCeremony{}, storeErr("find user", err)
	}
	ru, _, err := s.rpUserOf(ctx, u)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(ru.creds) == 0 {
		// Shaped like a sign-in of an account with a passkey, as a name
		// without an account is; the finish refuses every credential.
		name := username
		if name == "" {
			name = u.ID
		}
		return s.decoyCeremony(ctx, normalize(name), u.ID)
	}
	assertion, session, err := s.passkeys.rp.BeginLogin(ru)
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: begin passkey sign-in: %w", err)
	}
	st.Session = *session
	return s.putCeremony(ctx, ticketPasskeyLogin, u.ID, st, assertion.Response)
}

// decoyCeremony begins a sign-in that can only fail, for a name without an
// account or a user without a passkey, with options shaped like a real
// one's.
func (s *Service) decoyCeremony(ctx context.Context, name, userID string) (PasskeyCeremony, error) {
	assertion, session, err := s.passkeys.rp.BeginLogin(s.passkeys.decoy(name))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: begin passkey sign-in: %w", err)
	}
	return s.putCeremony(ctx, ticketPasskeyLogin, userID, ceremony{Session: *session, Unknown: true}, assertion.Response)
}

// FinishPasskeyLogin verifies the browser's assertion against the ceremony
// and signs the passkey's user in, as Login does once a password is right
// (the same checks of a disabled or unverified account, the same session
// and device token, the same second-factor rule).
//
// A user-verified passkey is a complete sign-in: amr ["hwk","user","mfa"],
// which satisfies [HasSecondFactor]. A passkey without user verification
// is one factor: amr ["hwk"], and for a user with a second factor an
// *[MFARequiredError] instead of tokens. As the second step of a password
// sign-in (begun with an mfa_token) the amr is ["pwd","hwk","mfa"] (with
// "user" where the authenticator verified the user).
//
// The signature counter is kept: a counter that does not go up (unless the
// authenticator always reports 0, as synced passkeys do) is refused and
// audited as "counter_regressed". Every refusal of the credential (unknown,
// another user's, a bad signature, a wrong origin or challenge, a counter
// that went back) is [ErrInvalidCredentials]; a malformed credential is a
// *[CredentialError]; a ceremony that is unknown, used or expired is
// [ErrInvalidCode].
func (s *Service) FinishPasskeyLogin(ctx context.Context, ceremonyID string, cred json.RawMessage, c Client) (Tokens, error) {
	if s.passkeys == nil {
		return Tokens{}, ErrPasskeysOff
	}
	t, st, err := s.takeCeremony(ctx, ticketPasskeyLogin, ceremonyID)
	if err != nil {
		return Tokens{}, err
	}
	if len(cred) > maxCredentialJSONLen {
		return Tokens{}, &CredentialError{Reason: CredentialMalformed, Err: errors.New("too large")}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(cred)
	if err != nil {
		return Tokens{}, &CredentialError{Reason: CredentialMalformed, Err: err}
	}
	refuse := func(userID, reason string) (Tokens, error) {
		s.emit(ctx, EventPasskeyLogin, OutcomeFailure, userID, "", c, reason)
		return Tokens{}, ErrInvalidCredentials
	}
	if st.Unknown {
		return refuse(t.UserID, "unknown_credential")
	}
	pk, err := s.passkeys.keys.PasskeyByCredentialID(ctx, parsed.RawID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse(t.UserID, "unknown_credential")
	case err != nil:
		return Tokens{}, storeErr("find passkey", err)
	case t.UserID != "" && pk.UserID != t.UserID:
		// A ceremony begun for one user, answered by another's passkey.
		return refuse(t.UserID, "other_users_credential")
	}
	u, err := s.store.UserByID(ctx, pk.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse("", "unknown_credential")
	case err != nil:
		return Tokens{}, storeErr("find user", err)
	}
	ru, _, err := s.rpUserOf(ctx, u)
	if err != nil {
		return Tokens{}, err
	}
	if len(st.Session.UserID) > 0 {
		_, err = s.passkeys.rp.ValidateLogin(ru, st.Session, parsed)
	} else {
		_, _, err = s.passkeys.rp.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
			if !slices.Equal(handle, ru.handle) {
				return nil, errors.New("the user handle is not the credential's user's")
			}
			return ru, nil
		}, st.Session, parsed)
	}
	if err != nil {
		s.log.DebugContext(ctx, "auth: passkey assertion refused", "user_id", u.ID, "error", err)
		return refuse(u.ID, "verification_failed")
	}
	flags := parsed.Response.AuthenticatorData.Flags
	uv := flags.HasUserVerified()
	err = s.passkeys.keys.UsePasskey(ctx, u.ID, pk.ID, parsed.Response.AuthenticatorData.Counter, flags.HasBackupState(), uv, s.now().UTC())
	switch {
	case errors.Is(err, store.ErrStale):
		s.log.WarnContext(ctx, "auth: a passkey's signature counter went backwards: a cloned authenticator or a replay",
			"user_id", u.ID, "passkey_id", pk.ID)
		return refuse(u.ID, "counter_regressed")
	case errors.Is(err, store.ErrNotFound):
		return refuse(u.ID, "unknown_credential") // deleted meanwhile
	case err != nil:
		return Tokens{}, storeErr("use passkey", err)
	}
	if err := s.checkAccount(ctx, u, c); err != nil {
		return Tokens{}, err
	}

	var amr []string
	switch {
	case st.MFA != "":
		first, err := s.takeChallenge(ctx, st.MFA, u)
		if err != nil {
			return Tokens{}, err
		}
		amr = append(first, AMRHardwareKey)
		if uv {
			amr = append(amr, AMRUser)
		}
		amr = append(amr, AMRMFA)
	case uv:
		amr = []string{AMRHardwareKey, AMRUser, AMRMFA}
	default:
		if err := s.challengeMFA(ctx, u, c, firstPasskey); err != nil {
			return Tokens{}, err
		}
		amr = []string{AMRHardwareKey}
	}
	tk, err := s.signIn(ctx, u, c, amr)
	if err != nil {
		return Tokens{}, err
	}
	s.emit(ctx, EventPasskeyLogin, OutcomeSuccess, u.ID, tk.SessionID, c, "")
	return tk, nil
}

// PasskeyCount is the number of the user's passkeys; 0 when passkeys are
// off.
func (s *Service) passkeyCount(ctx context.Context, userID string) (int, error) {
	if s.passkeys == nil {
		return 0, nil
	}
	list, err := s.passkeys.keys.Passkeys(ctx, userID)
	if err != nil {
		return 0, storeErr("passkeys", err)
	}
	return len(list), nil
}

// Passkeys lists the signed-in user's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, id Identity) ([]store.Passkey, error) {
	if s.passkeys == nil {
		return nil, ErrPasskeysOff
	}
	list, err := s.passkeys.keys.Passkeys(ctx, id.Claims.UserID)
	if err != nil {
		return nil, storeErr("passkeys", err)
	}
	return list, nil
}

// RenamePasskey renames one of the signed-in user's passkeys. It returns
// [ErrNotFound] for a passkey the user does not have (someone else's
// included) and a *ValidationError for an empty, long or control-character
// name.
func (s *Service) RenamePasskey(ctx context.Context, id Identity, passkeyID, name string, c Client) (store.Passkey, error) {
	if s.passkeys == nil {
		return store.Passkey{}, ErrPasskeysOff
	}
	name, err := checkPasskeyName(name, "")
	if err == nil && name == "" {
		err = &ValidationError{Errors: []FieldError{{Field: "name", Code: "required", Message: "A name is required."}}}
	}
	if err != nil {
		return store.Passkey{}, err
	}
	p, err := s.passkeys.keys.RenamePasskey(ctx, id.Claims.UserID, passkeyID, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Passkey{}, ErrNotFound
	case err != nil:
		return store.Passkey{}, storeErr("rename passkey", err)
	}
	s.emit(ctx, EventPasskeyRenamed, OutcomeSuccess, id.Claims.UserID, id.Claims.SessionID, c, "")
	return p, nil
}

// DeletePasskey removes one of the signed-in user's passkeys and tells the
// user by mail. It returns [ErrNotFound] for a passkey the user does not
// have (someone else's included) and [ErrLastLoginMethod] when it is the
// user's last way to sign in (no password, no other passkey, no provider).
func (s *Service) DeletePasskey(ctx context.Context, id Identity, passkeyID string, c Client) error {
	if s.passkeys == nil {
		return ErrPasskeysOff
	}
	err := s.passkeys.keys.DeletePasskey(ctx, id.Claims.UserID, passkeyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrLastLoginMethod):
		s.emit(ctx, EventPasskeyRemoved, OutcomeFailure, id.Claims.UserID, id.Claims.SessionID, c, "last_login_method")
		return ErrLastLoginMethod
	case err != nil:
		return storeErr("delete passkey", err)
	}
	s.emit(ctx, EventPasskeyRemoved, OutcomeSuccess, id.Claims.UserID, id.Claims.SessionID, c, "")
	if u, err := s.store.UserByID(ctx, id.Claims.UserID); err == nil {
		s.notify(ctx, u, NoticePasskeyRemoved, mailer.Notice{})
	}
	return nil
}
