package fakeauthn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// The errors a browser would reject the call with, under the names of its
// DOMExceptions. An error of [Authenticator.Create], [Authenticator.Get] or
// [Authenticator.GetWith] wraps one of them when a check of the browser or the
// authenticator failed; other errors (from the system's random source, say)
// wrap none.
var (
	// ErrNotAllowed: the authenticator holds no credential the request
	// accepts (the browser says NotAllowedError).
	ErrNotAllowed = errors.New("NotAllowedError")
	// ErrInvalidState: the authenticator already holds a credential named
	// in excludeCredentials (InvalidStateError).
	ErrInvalidState = errors.New("InvalidStateError")
	// ErrNotSupported: pubKeyCredParams offers no algorithm the
	// authenticator has, which is ES256 alone (NotSupportedError).
	ErrNotSupported = errors.New("NotSupportedError")
	// ErrSecurity: the RP ID is not the origin's host nor a parent domain of
	// it, or the origin is not a URL with a host (SecurityError).
	ErrSecurity = errors.New("SecurityError")
	// ErrType: the options are malformed, e.g. no challenge or a user.id
	// that is not base64url of 1 to 64 bytes (TypeError).
	ErrType = errors.New("TypeError")
)

// coseAlgES256 is the COSE algorithm identifier of ECDSA P-256 with SHA-256.
const coseAlgES256 = -7

// The flags of the authenticator data (WebAuthn §6.1).
const (
	flagUP = 1 << 0
	flagUV = 1 << 2
	flagBE = 1 << 3
	flagBS = 1 << 4
	flagAT = 1 << 6
)

// Credential is a credential the authenticator holds. [Authenticator.Create]
// returns the authenticator's own copy, so a test that changes it (most often
// its Counter) between calls changes what the next assertion reports. A test may also build
// one by hand, say with another credential's ID and a new key, and sign with
// it through [Authenticator.GetWith].
type Credential struct {
	// ID is the credential ID: 32 random bytes.
	ID []byte
	// UserHandle is the user.id of the creation options, returned as the
	// userHandle of every assertion.
	UserHandle []byte
	// RPID is the RP ID the credential is scoped to.
	RPID string
	// Key is the credential's private key.
	Key *ecdsa.PrivateKey
	// Counter is the signature counter the credential reported last; 0
	// after creation. Unless [Authenticator.ZeroCounter] is set, the next
	// assertion reports Counter+1 and stores it here.
	Counter uint32

	// ResidentKey is the residentKey the creation options asked for, or
	// "required" when they had only requireResidentKey true, or "". It is
	// recorded only: every credential is discoverable.
	ResidentKey string
	// UserVerification is the authenticatorSelection.userVerification the
	// creation options asked for, or "". It is recorded only: the UV flag
	// follows [Authenticator.UserVerified].
	UserVerification string
}

// Authenticator is a software authenticator with the browser around it. Set
// its fields before the first call and leave them alone while calls run; the
// calls themselves may run concurrently.
type Authenticator struct {
	// Origin is the origin the browser puts in clientDataJSON, e.g.
	// "http://localhost:8080". The RP ID must be its host or a parent
	// domain of it.
	Origin string
	// RPID, when set, is the RP ID the authenticator uses whatever the
	// options say, without checking it against Origin; credentials are
	// made for it and looked up under it. Empty takes rp.id (creation) or
	// rpId (assertion) from the options, or else Origin's host.
	RPID string

	// UserVerified sets the UV flag. New sets it.
	UserVerified bool
	// NoUserPresence clears the UP flag, which is otherwise always set.
	NoUserPresence bool
	// BackupEligible and BackupState set the BE and BS flags, as a synced
	// passkey does.
	BackupEligible, BackupState bool
	// ZeroCounter makes every response report a signature counter of 0, as
	// synced passkeys do.
	ZeroCounter bool
	// AAGUID is put in the attested credential data; zero by default, as
	// with attestation "none".
	AAGUID [16]byte
	// Attachment is the authenticatorAttachment of the responses;
	// "platform" when empty.
	Attachment string
	// Transports are the response.transports of a registration;
	// ["hybrid", "internal"] when nil.
	Transports []string

	mu    sync.Mutex
	creds []*Credential // in the order they were made
}

// New returns an authenticator for pages at origin that verifies the user,
// as a platform passkey provider does.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, UserVerified: true}
}

// Credentials returns the credentials the authenticator holds, oldest first.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.creds)
}

// Option changes one response from what an honest browser and authenticator
// would send. Options change only the bytes produced: the checks of the
// browser still run on the options as given, the credential is still chosen
// as without them, and the credential stored is the honest one.
type Option func(*tamper)

type tamper struct {
	challenge    *string
	origin       *string
	rpIDHash     []byte
	typ          string
	counter      *uint32
	badSignature bool
	userHandle   *[]byte
	extensions   json.RawMessage
	credentialID []byte
}

// WithChallenge puts challenge, as it is, in clientDataJSON instead of the
// base64url of the options' challenge.
func WithChallenge(challenge string) Option {
	return func(t *tamper) { t.challenge = &challenge }
}

// WithOrigin puts origin in clientDataJSON instead of [Authenticator.Origin].
func WithOrigin(origin string) Option {
	return func(t *tamper) { t.origin = &origin }
}

// WithRPIDHash puts hash in the authenticator data in place of the SHA-256 of
// the RP ID.
func WithRPIDHash(hash []byte) Option {
	return func(t *tamper) { t.rpIDHash = slices.Clone(hash) }
}

// WithType puts typ as the clientDataJSON type, e.g. "webauthn.get" in a
// registration.
func WithType(typ string) Option {
	return func(t *tamper) { t.typ = typ }
}

// WithCounter reports n as the signature counter, and stores it as the
// credential's Counter, whatever [Authenticator.ZeroCounter] says.
func WithCounter(n uint32) Option {
	return func(t *tamper) { t.counter = &n }
}

// WithBadSignature makes an assertion's signature a well-formed ECDSA
// signature by the right key over the wrong bytes.
func WithBadSignature() Option {
	return func(t *tamper) { t.badSignature = true }
}

// WithUserHandle returns handle as an assertion's userHandle instead of the
// credential's; an empty handle leaves the member out.
func WithUserHandle(handle []byte) Option {
	return func(t *tamper) {
		h := slices.Clone(handle)
		t.userHandle = &h
	}
}

// WithCredentialID makes a registration's new credential take id instead
// of 32 random bytes: a credential id the server already knows, as a
// malicious or broken authenticator could report.
func WithCredentialID(id []byte) Option {
	return func(t *tamper) { t.credentialID = slices.Clone(id) }
}

// WithExtensionResults sends results, a JSON object, as
// clientExtensionResults instead of what the options asked for.
func WithExtensionResults(results json.RawMessage) Option {
	return func(t *tamper) { t.extensions = slices.Clone(results) }
}

// The options as the server sends them, in their JSON form (WebAuthn §5.1.8,
// PublicKeyCredentialCreationOptionsJSON and
// PublicKeyCredentialRequestOptionsJSON), with only the members read here.

type descriptorJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type credParamJSON struct {
	Type string `json:"type"`
	Alg  int    `json:"alg"`
}

type creationOptionsJSON struct {
	RP struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"rp"`
	User struct {
		ID          json.RawMessage `json:"id"`
		Name        string          `json:"name"`
		DisplayName string          `json:"displayName"`
	} `json:"user"`
	Challenge              string           `json:"challenge"`
	PubKeyCredParams       []credParamJSON  `json:"pubKeyCredParams"`
	ExcludeCredentials     []descriptorJSON `json:"excludeCredentials"`
	AuthenticatorSelection struct {
		ResidentKey        string `json:"residentKey"`
		RequireResidentKey bool   `json:"requireResidentKey"`
		UserVerification   string `json:"userVerification"`
	} `json:"authenticatorSelection"`
	Extensions map[string]json.RawMessage `json:"extensions"`
}

type requestOptionsJSON struct {
	Challenge        string           `json:"challenge"`
	RPID             string           `json:"rpId"`
	AllowCredentials []descriptorJSON `json:"allowCredentials"`
	UserVerification string           `json:"userVerification"`
}

// The credential as a browser's PublicKeyCredential.toJSON() gives it
// (RegistrationResponseJSON and AuthenticationResponseJSON).

type registrationResponseJSON struct {
	ClientDataJSON     string   `json:"clientDataJSON"`
	AuthenticatorData  string   `json:"authenticatorData"`
	Transports         []string `json:"transports"`
	PublicKey          string   `json:"publicKey"`
	PublicKeyAlgorithm int      `json:"publicKeyAlgorithm"`
	AttestationObject  string   `json:"attestationObject"`
}

type assertionResponseJSON struct {
	ClientDataJSON    string `json:"clientDataJSON"`
	AuthenticatorData string `json:"authenticatorData"`
	Signature         string `json:"signature"`
	UserHandle        string `json:"userHandle,omitempty"`
}

type credentialJSON struct {
	ID                      string          `json:"id"`
	RawID                   string          `json:"rawId"`
	Type                    string          `json:"type"`
	AuthenticatorAttachment string          `json:"authenticatorAttachment"`
	Response                any             `json:"response"`
	ClientExtensionResults  json.RawMessage `json:"clientExtensionResults"`
}

// clientData is CollectedClientData with its members in the order browsers
// write them.
type clientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin bool   `json:"crossOrigin"`
}

var b64 = base64.RawURLEncoding

// decodeB64 reads base64url as browsers' JSON parsers do, tolerating padding.
func decodeB64(s string) ([]byte, error) {
	return b64.DecodeString(strings.TrimRight(s, "="))
}

// unwrap returns the inner options object of {"publicKey": {...}}, or data
// itself when it is already the inner object.
func unwrap(data []byte) ([]byte, error) {
	var outer struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(data, &outer); err != nil {
		return nil, fmt.Errorf("%w: the options are not a JSON object: %v", ErrType, err)
	}
	if len(outer.PublicKey) != 0 && !bytes.Equal(outer.PublicKey, []byte("null")) {
		return outer.PublicKey, nil
	}
	return data, nil
}

// challengeOf decodes the options' challenge and encodes it again as the
// browser does for clientDataJSON.
func challengeOf(s string) (string, error) {
	raw, err := decodeB64(s)
	if err != nil || len(raw) == 0 {
		return "", fmt.Errorf("%w: the challenge %q is not base64url of at least one byte", ErrType, s)
	}
	return b64.EncodeToString(raw), nil
}

// rpID picks the RP ID of a call, from the authenticator, the options or the
// origin, and checks a picked one against the origin as a browser does (the
// host or a parent domain of it; the public suffix list is not consulted).
func (a *Authenticator) rpID(fromOptions string) (string, error) {
	if a.RPID != "" {
		return a.RPID, nil
	}
	u, err := url.Parse(a.Origin)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("%w: the origin %q is not a URL with a host", ErrSecurity, a.Origin)
	}
	host := strings.ToLower(u.Hostname())
	id := strings.ToLower(fromOptions)
	if id == "" {
		return host, nil
	}
	if host != id && !strings.HasSuffix(host, "."+id) {
		return "", fmt.Errorf("%w: the RP ID %q is not %q nor a parent domain of it", ErrSecurity, id, host)
	}
	return id, nil
}

func (a *Authenticator) flags() byte {
	var f byte
	if !a.NoUserPresence {
		f |= flagUP
	}
	if a.UserVerified {
		f |= flagUV
	}
	if a.BackupEligible {
		f |= flagBE
	}
	if a.BackupState {
		f |= flagBS
	}
	return f
}

func (a *Authenticator) attachment() string {
	if a.Attachment == "" {
		return "platform"
	}
	return a.Attachment
}

func (a *Authenticator) transports() []string {
	if a.Transports == nil {
		return []string{"hybrid", "internal"}
	}
	return a.Transports
}

func (a *Authenticator) clientDataJSON(t *tamper, typ, challenge string) ([]byte, error) {
	cd := clientData{Type: typ, Challenge: challenge, Origin: a.Origin}
	if t.typ != "" {
		cd.Type = t.typ
	}
	if t.challenge != nil {
		cd.Challenge = *t.challenge
	}
	if t.origin != nil {
		cd.Origin = *t.origin
	}
	return json.Marshal(cd)
}

func rpIDHash(t *tamper, rpID string) []byte {
	if t.rpIDHash != nil {
		return t.rpIDHash
	}
	sum := sha256.Sum256([]byte(rpID))
	return sum[:]
}

func newTamper(opts []Option) *tamper {
	t := &tamper{}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Create answers navigator.credentials.create() for the creation options
// optionsJSON, wrapped in {"publicKey": ...} or not. It makes a new ES256
// credential for the options' RP ID and user.id, keeps it, and returns the
// RegistrationResponseJSON to post to the server along with the credential.
func (a *Authenticator) Create(optionsJSON []byte, opts ...Option) ([]byte, *Credential, error) {
	t := newTamper(opts)
	inner, err := unwrap(optionsJSON)
	if err != nil {
		return nil, nil, err
	}
	var o creationOptionsJSON
	if err := json.Unmarshal(inner, &o); err != nil {
		return nil, nil, fmt.Errorf("%w: reading the creation options: %v", ErrType, err)
	}
	challenge, err := challengeOf(o.Challenge)
	if err != nil {
		return nil, nil, err
	}
	var userID string
	if err := json.Unmarshal(o.User.ID, &userID); err != nil {
		return nil, nil, fmt.Errorf("%w: user.id is not a base64url string", ErrType)
	}
	handle, err := decodeB64(userID)
	if err != nil || len(handle) < 1 || len(handle) > 64 {
		return nil, nil, fmt.Errorf("%w: user.id %q is not base64url of 1 to 64 bytes", ErrType, userID)
	}
	rpID, err := a.rpID(o.RP.ID)
	if err != nil {
		return nil, nil, err
	}
	if len(o.PubKeyCredParams) != 0 && !slices.Contains(o.PubKeyCredParams, credParamJSON{"public-key", coseAlgES256}) {
		return nil, nil, fmt.Errorf("%w: pubKeyCredParams does not offer ES256 (-7)", ErrNotSupported)
	}
	excluded := make([][]byte, 0, len(o.ExcludeCredentials))
	for _, d := range o.ExcludeCredentials {
		id, err := decodeB64(d.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: excludeCredentials id %q is not base64url", ErrType, d.ID)
		}
		excluded = append(excluded, id)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	cred := &Credential{
		ID:               make([]byte, 32),
		UserHandle:       handle,
		RPID:             rpID,
		Key:              key,
		ResidentKey:      o.AuthenticatorSelection.ResidentKey,
		UserVerification: o.AuthenticatorSelection.UserVerification,
	}
	if cred.ResidentKey == "" && o.AuthenticatorSelection.RequireResidentKey {
		cred.ResidentKey = "required"
	}
	if _, err := rand.Read(cred.ID); err != nil {
		return nil, nil, err
	}
	if t.credentialID != nil {
		cred.ID = t.credentialID
	}
	if t.counter != nil {
		cred.Counter = *t.counter
	}

	// The check and the insertion are one step, so that two concurrent
	// calls with the same excludeCredentials cannot both succeed.
	a.mu.Lock()
	for _, held := range a.creds {
		if held.RPID == rpID && slices.ContainsFunc(excluded, func(id []byte) bool { return bytes.Equal(id, held.ID) }) {
			a.mu.Unlock()
			return nil, nil, fmt.Errorf("%w: the authenticator holds the excluded credential %s", ErrInvalidState, b64.EncodeToString(held.ID))
		}
	}
	a.creds = append(a.creds, cred)
	a.mu.Unlock()

	coseKey, err := coseES256(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	authData := make([]byte, 0, 37+16+2+len(cred.ID)+len(coseKey))
	authData = append(authData, rpIDHash(t, rpID)...)
	authData = append(authData, a.flags()|flagAT)
	authData = binary.BigEndian.AppendUint32(authData, cred.Counter)
	authData = append(authData, a.AAGUID[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(cred.ID)))
	authData = append(authData, cred.ID...)
	authData = append(authData, coseKey...)

	attObj, err := webauthncbor.Marshal(map[string]any{
		"fmt":      "none",
		"attStmt":  map[string]any{},
		"authData": authData,
	})
	if err != nil {
		return nil, nil, err
	}
	cdj, err := a.clientDataJSON(t, "webauthn.create", challenge)
	if err != nil {
		return nil, nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	ext := json.RawMessage(`{}`)
	if v, ok := o.Extensions["credProps"]; ok && bytes.Equal(bytes.TrimSpace(v), []byte("true")) {
		ext = json.RawMessage(`{"credProps":{"rk":true}}`)
	}
	if t.extensions != nil {
		ext = t.extensions
	}
	out, err := json.Marshal(credentialJSON{
		ID:                      b64.EncodeToString(cred.ID),
		RawID:                   b64.EncodeToString(cred.ID),
		Type:                    "public-key",
		AuthenticatorAttachment: a.attachment(),
		Response: registrationResponseJSON{
			ClientDataJSON:     b64.EncodeToString(cdj),
			AuthenticatorData:  b64.EncodeToString(authData),
			Transports:         a.transports(),
			PublicKey:          b64.EncodeToString(spki),
			PublicKeyAlgorithm: coseAlgES256,
			AttestationObject:  b64.EncodeToString(attObj),
		},
		ClientExtensionResults: ext,
	})
	if err != nil {
		return nil, nil, err
	}
	return out, cred, nil
}

// coseES256 encodes pub as a COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256
// (1), x, y; in CTAP2 canonical CBOR.
func coseES256(pub *ecdsa.PublicKey) ([]byte, error) {
	point, err := pub.Bytes() // 0x04 || x || y
	if err != nil {
		return nil, err
	}
	return webauthncbor.Marshal(map[int]any{
		1:  2,
		3:  coseAlgES256,
		-1: 1,
		-2: point[1:33],
		-3: point[33:65],
	})
}

// Get answers navigator.credentials.get() for the request options
// optionsJSON, wrapped in {"publicKey": ...} or not. It signs with the most
// recently made credential for the RP ID that allowCredentials names, or,
// when the list is empty, with the most recently made one for the RP ID, and
// returns the AuthenticationResponseJSON to post to the server. It fails
// with [ErrNotAllowed] when it holds no such credential.
func (a *Authenticator) Get(optionsJSON []byte, opts ...Option) ([]byte, error) {
	o, rpID, err := a.readRequest(optionsJSON)
	if err != nil {
		return nil, err
	}
	allowed := make([][]byte, 0, len(o.AllowCredentials))
	for _, d := range o.AllowCredentials {
		id, err := decodeB64(d.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: allowCredentials id %q is not base64url", ErrType, d.ID)
		}
		allowed = append(allowed, id)
	}
	var cred *Credential
	a.mu.Lock()
	for _, c := range slices.Backward(a.creds) {
		if c.RPID != rpID {
			continue
		}
		if len(allowed) == 0 || slices.ContainsFunc(allowed, func(id []byte) bool { return bytes.Equal(id, c.ID) }) {
			cred = c
			break
		}
	}
	a.mu.Unlock()
	if cred == nil {
		return nil, fmt.Errorf("%w: no credential for RP ID %q among the %d allowed", ErrNotAllowed, rpID, len(allowed))
	}
	return a.assert(cred, o, rpID, newTamper(opts))
}

// GetWith answers navigator.credentials.get() like [Authenticator.Get], but
// signs with cred whether or not the request allows it, and whether or not
// the authenticator holds it. The RP ID is still the request's.
func (a *Authenticator) GetWith(cred *Credential, optionsJSON []byte, opts ...Option) ([]byte, error) {
	if cred == nil || cred.Key == nil || len(cred.ID) == 0 {
		return nil, fmt.Errorf("%w: the credential has no ID or no key", ErrNotAllowed)
	}
	o, rpID, err := a.readRequest(optionsJSON)
	if err != nil {
		return nil, err
	}
	return a.assert(cred, o, rpID, newTamper(opts))
}

func (a *Authenticator) readRequest(optionsJSON []byte) (*requestOptionsJSON, string, error) {
	inner, err := unwrap(optionsJSON)
	if err != nil {
		return nil, "", err
	}
	var o requestOptionsJSON
	if err := json.Unmarshal(inner, &o); err != nil {
		return nil, "", fmt.Errorf("%w: reading the request options: %v", ErrType, err)
	}
	rpID, err := a.rpID(o.RPID)
	if err != nil {
		return nil, "", err
	}
	return &o, rpID, nil
}

func (a *Authenticator) assert(cred *Credential, o *requestOptionsJSON, rpID string, t *tamper) ([]byte, error) {
	challenge, err := challengeOf(o.Challenge)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	switch {
	case t.counter != nil:
		cred.Counter = *t.counter
	case a.ZeroCounter:
		cred.Counter = 0
	default:
		cred.Counter++
	}
	counter := cred.Counter
	a.mu.Unlock()

	authData := make([]byte, 0, 37)
	authData = append(authData, rpIDHash(t, rpID)...)
	authData = append(authData, a.flags())
	authData = binary.BigEndian.AppendUint32(authData, counter)

	cdj, err := a.clientDataJSON(t, "webauthn.get", challenge)
	if err != nil {
		return nil, err
	}
	cdHash := sha256.Sum256(cdj)
	signed := slices.Concat(authData, cdHash[:])
	if t.badSignature {
		signed[len(signed)-1] ^= 0x01
	}
	digest := sha256.Sum256(signed)
	sig, err := ecdsa.SignASN1(rand.Reader, cred.Key, digest[:])
	if err != nil {
		return nil, err
	}

	handle := cred.UserHandle
	if t.userHandle != nil {
		handle = *t.userHandle
	}
	ext := json.RawMessage(`{}`)
	if t.extensions != nil {
		ext = t.extensions
	}
	return json.Marshal(credentialJSON{
		ID:                      b64.EncodeToString(cred.ID),
		RawID:                   b64.EncodeToString(cred.ID),
		Type:                    "public-key",
		AuthenticatorAttachment: a.attachment(),
		Response: assertionResponseJSON{
			ClientDataJSON:    b64.EncodeToString(cdj),
			AuthenticatorData: b64.EncodeToString(authData),
			Signature:         b64.EncodeToString(sig),
			UserHandle:        b64.EncodeToString(handle),
		},
		ClientExtensionResults: ext,
	})
}
