package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
	"github.com/forgeauth/forgeauth/totp"
)

// The conditions of the second factor (DESIGN §7).
var (
	// ErrMFARequired is always returned inside an *[MFARequiredError]:
	// the password was right, and the user must now give a second factor.
	ErrMFARequired = errors.New("auth: second factor required")
	// ErrInvalidMFAToken: an mfa_token that is unknown, used, expired,
	// out of attempts, or whose user changed their password or was
	// disabled since it was issued (one answer for all).
	ErrInvalidMFAToken = errors.New("auth: invalid mfa token")
	// ErrMFAAlreadyEnabled: setup or confirm for a user whose TOTP is on.
	ErrMFAAlreadyEnabled = errors.New("auth: second factor already enabled")
	// ErrMFANotEnabled: disable or new recovery codes for a user without a
	// confirmed TOTP, or confirm without a setup in progress.
	ErrMFANotEnabled = errors.New("auth: second factor not enabled")
	// ErrMFAOff: a second-factor method called while Config.MFA is off.
	ErrMFAOff = errors.New("auth: second factor is not configured")
)

// The sign-in methods of the amr claim (RFC 8176) that this package writes.
const (
	AMRPassword = "pwd" // a password
	AMROTP      = "otp" // a TOTP code or a recovery code
	AMRMFA      = "mfa" // two methods or more
)

// The second-factor methods a challenge names (MFARequiredError.Methods).
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

// The audit events of the second factor.
const (
	EventMFAEnabled               EventKind = "mfa_enabled"
	EventMFADisabled              EventKind = "mfa_disabled"
	EventRecoveryCodesRegenerated EventKind = "mfa_recovery_codes_regenerated"
	// EventMFAChallenged: the password was right and an mfa_token was
	// handed out.
	EventMFAChallenged EventKind = "mfa_challenged"
	// EventMFAVerified: a second factor was accepted (Reason "totp" or
	// "recovery_code" on success; the failure's reason otherwise).
	EventMFAVerified EventKind = "mfa_verified"
)

// The rules of the login challenge (DESIGN §7).
const (
	mfaTokenTTL      = 5 * time.Minute
	mfaMaxAttempts   = 5
	mfaTicketKind    = "mfa"
	mfaTokenBytes    = 32
	maxMFATokenLen   = 64 // base64 of mfaTokenBytes is 43
	recoveryKeyInfo  = "forgeauth/totp recovery code digest v1"
	recoveryCodeWant = totp.RecoveryCodeCount
)

// MFARequiredError is Login's answer for a user with a second factor: no
// tokens, but a single-use Token that [Service.VerifyMFA] takes with a
// code. It matches [ErrMFARequired].
type MFARequiredError struct {
	// Token is the opaque mfa_token: 256 random bits, valid for 5
	// minutes and 5 wrong codes, stored only as a digest.
	Token string
	// Methods are the second factors the user may give:
	// [MethodTOTP] and [MethodRecoveryCode], and [MethodPasskey] when the
	// user has a passkey (see [Service.BeginPasskeyLogin]).
	Methods   []string
	ExpiresAt time.Time
}

func (e *MFARequiredError) Error() string { return ErrMFARequired.Error() }

// Unwrap returns [ErrMFARequired].
func (e *MFARequiredError) Unwrap() error { return ErrMFARequired }

// mfaState is what the service needs for the second factor.
type mfaState struct {
	factors     store.SecondFactors
	tickets     store.Tickets
	sealKey     []byte // AES-256 key of the TOTP secrets
	recoveryKey []byte // HMAC key of the recovery-code digests
}

// newMFA checks what Config.MFA needs; nil when it is off.
func newMFA(cfg Config, st store.Store) (*mfaState, error) {
	if !cfg.MFA {
		return nil, nil
	}
	m := &mfaState{}
	var missing []string
	var ok bool
	if m.factors, ok = st.(store.SecondFactors); !ok {
		missing = append(missing, "store.SecondFactors")
	}
	if m.tickets, ok = st.(store.Tickets); !ok {
		missing = append(missing, "store.Tickets")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("auth: Config.MFA needs a store that implements %s; %T does not", strings.Join(missing, " and "), st)
	}
	key := cfg.MFAKey
	if key == nil {
		if len(cfg.Token.Secret) == 0 {
			return nil, errors.New("auth: Config.MFAKey is required with asymmetric token keys when Config.MFA is on")
		}
		var err error
		if key, err = totp.DeriveKey(cfg.Token.Secret, totp.DefaultKeyInfo); err != nil {
			return nil, fmt.Errorf("auth: deriving the MFA key: %w", err)
		}
	}
	if len(key) != totp.KeySize {
		return nil, fmt.Errorf("auth: Config.MFAKey must be %d bytes, not %d", totp.KeySize, len(key))
	}
	m.sealKey = key
	// The key is 32 bytes, so derivation cannot fail.
	m.recoveryKey, _ = totp.DeriveKey(key, recoveryKeyInfo)
	return m, nil
}

// MFAEnabled reports whether Config.MFA is on.
func (s *Service) MFAEnabled() bool { return s.mfa != nil }

// MFAStatus is what [Service.MFAStatus] reports.
type MFAStatus struct {
	TOTPEnabled       bool
	RecoveryCodesLeft int
	Passkeys          int // the user's passkeys (0 when passkeys are off)
}

// MFAStatus reports the signed-in user's second factors. A setup that was
// not confirmed does not count. It returns [ErrMFAOff] when Config.MFA is
// off and an *[UnavailableError] when the store cannot be reached.
func (s *Service) MFAStatus(ctx context.Context, id Identity) (MFAStatus, error) {
	if s.mfa == nil {
		return MFAStatus{}, ErrMFAOff
	}
	n, err := s.passkeyCount(ctx, id.Claims.UserID)
	if err != nil {
		return MFAStatus{}, err
	}
	f, err := s.mfa.factors.SecondFactor(ctx, id.Claims.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return MFAStatus{Passkeys: n}, nil
	case err != nil:
		return MFAStatus{}, storeErr("read second factor", err)
	case !f.Confirmed:
		return MFAStatus{Passkeys: n}, nil
	}
	return MFAStatus{TOTPEnabled: true, RecoveryCodesLeft: f.RecoveryCodesLeft, Passkeys: n}, nil
}

// TOTPSetup is a new TOTP secret, to show the user once.
type TOTPSetup struct {
	Secret    string // base32, for typing into an app
	URI       string // the otpauth URI
	QRDataURL string // the URI as a QR code, "data:image/png;base64,..."
}

// SetupTOTP makes a new TOTP secret for the signed-in user, after checking
// their current password, and stores it sealed and pending: it is not
// active until [Service.ConfirmTOTP]. A second setup before confirming
// replaces the first. The URI names Config.AppName as issuer and the
// user's email as account.
//
// It returns [ErrInvalidPassword] for a wrong password (limited like
// change-password: a *[RateLimitError] when over the limit),
// [ErrMFAAlreadyEnabled] when the user's TOTP is on, [ErrInvalidToken] when
// the user is gone, [ErrMFAOff] when Config.MFA is off, and an
// *[UnavailableError] when the store cannot be reached.
func (s *Service) SetupTOTP(ctx context.Context, id Identity, currentPassword string, c Client) (TOTPSetup, error) {
	if s.mfa == nil {
		return TOTPSetup{}, ErrMFAOff
	}
	u, err := s.checkCurrentPassword(ctx, id, currentPassword, c, EventMFAEnabled)
	if err != nil {
		return TOTPSetup{}, err
	}
	secret, err := totp.GenerateSecret(s.rand)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("auth: %w", err)
	}
	uri, err := totp.URI(secret, s.appName, u.Email)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("auth: %w", err)
	}
	qr, err := totp.QRDataURL(uri)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("auth: %w", err)
	}
	sealed, err := totp.SealSecret(s.mfa.sealKey, u.ID, secret, s.rand)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("auth: %w", err)
	}
	err = s.mfa.factors.PutPendingTOTP(ctx, u.ID, sealed, s.now().UTC())
	switch {
	case errors.Is(err, store.ErrConflict):
		return TOTPSetup{}, ErrMFAAlreadyEnabled
	case errors.Is(err, store.ErrNotFound):
		return TOTPSetup{}, ErrInvalidToken
	case err != nil:
		return TOTPSetup{}, storeErr("store pending totp", err)
	}
	return TOTPSetup{Secret: totp.EncodeSecret(secret), URI: uri, QRDataURL: qr}, nil
}

// ConfirmTOTP turns the signed-in user's pending TOTP secret on with a
// first valid code, and returns 10 new recovery codes: the only time they
// are shown. The code's time step counts as spent.
//
// It returns [ErrInvalidCode] for a wrong, malformed or out-of-window code
// (nothing changes), [ErrMFAAlreadyEnabled] when the TOTP is on already,
// [ErrMFANotEnabled] when no setup is pending (or a concurrent setup
// replaced the secret the code was checked against), [ErrMFAOff] when
// Config.MFA is off, an *[UnavailableError] when the store cannot be
// reached, and an internal error when the stored secret cannot be
// decrypted (the MFA key changed).
func (s *Service) ConfirmTOTP(ctx context.Context, id Identity, code string, c Client) ([]string, error) {
	if s.mfa == nil {
		return nil, ErrMFAOff
	}
	userID := id.Claims.UserID
	f, err := s.mfa.factors.SecondFactor(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrMFANotEnabled
	case err != nil:
		return nil, storeErr("read second factor", err)
	case f.Confirmed:
		return nil, ErrMFAAlreadyEnabled
	}
	secret, err := s.openSecret(ctx, f)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	step, err := totp.Validate(secret, code, now)
	clear(secret)
	if err != nil {
		return nil, ErrInvalidCode
	}
	codes, digests, err := s.newRecoveryCodes(userID)
	if err != nil {
		return nil, err
	}
	err = s.mfa.factors.ConfirmTOTP(ctx, userID, f.TOTPSecret, step, digests, now)
	switch {
	case errors.Is(err, store.ErrStale):
		return nil, ErrMFANotEnabled
	case err != nil:
		return nil, storeErr("confirm totp", err)
	}
	s.emit(ctx, EventMFAEnabled, OutcomeSuccess, userID, id.Claims.SessionID, c, "")
	s.noticeByID(ctx, userID, NoticeMFAEnabled)
	return codes, nil
}

// DisableTOTP turns the signed-in user's second factor off, removing the
// secret and every recovery code, after checking the current password and
// a second factor: a TOTP code or an unused recovery code (which is then
// spent). Sessions stay as they are.
//
// It returns [ErrInvalidPassword] for a wrong password (rate-limited like
// change-password), [ErrInvalidCode] for a wrong, replayed or used code,
// [ErrMFANotEnabled] when the TOTP is not on, [ErrMFAOff] when Config.MFA
// is off, and an *[UnavailableError] when the store cannot be reached.
func (s *Service) DisableTOTP(ctx context.Context, id Identity, currentPassword, code string, c Client) error {
	if s.mfa == nil {
		return ErrMFAOff
	}
	u, err := s.checkCurrentPassword(ctx, id, currentPassword, c, EventMFADisabled)
	if err != nil {
		return err
	}
	if _, err := s.spendSecondFactor(ctx, u.ID, code, code, EventMFADisabled, id.Claims.SessionID, c); err != nil {
		return s.countWrongCode(ctx, u.ID, err)
	}
	switch err := s.mfa.factors.DeleteSecondFactor(ctx, u.ID); {
	case errors.Is(err, store.ErrNotFound):
		return ErrMFANotEnabled
	case err != nil:
		return storeErr("delete second factor", err)
	}
	s.emit(ctx, EventMFADisabled, OutcomeSuccess, u.ID, id.Claims.SessionID, c, "")
	s.notify(ctx, u, NoticeMFADisabled, mailer.Notice{})
	return nil
}

// RegenerateRecoveryCodes replaces the signed-in user's recovery codes by
// 10 new ones, returned this once; the old ones, used or not, stop
// working. It checks the current password and a second factor as
// [Service.DisableTOTP] does, and returns the same errors.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, id Identity, currentPassword, code string, c Client) ([]string, error) {
	if s.mfa == nil {
		return nil, ErrMFAOff
	}
	u, err := s.checkCurrentPassword(ctx, id, currentPassword, c, EventRecoveryCodesRegenerated)
	if err != nil {
		return nil, err
	}
	if _, err := s.spendSecondFactor(ctx, u.ID, code, code, EventRecoveryCodesRegenerated, id.Claims.SessionID, c); err != nil {
		return nil, s.countWrongCode(ctx, u.ID, err)
	}
	codes, digests, err := s.newRecoveryCodes(u.ID)
	if err != nil {
		return nil, err
	}
	switch err := s.mfa.factors.ReplaceRecoveryCodes(ctx, u.ID, digests, s.now().UTC()); {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrMFANotEnabled
	case err != nil:
		return nil, storeErr("replace recovery codes", err)
	}
	s.emit(ctx, EventRecoveryCodesRegenerated, OutcomeSuccess, u.ID, id.Claims.SessionID, c, "")
	s.notify(ctx, u, NoticeRecoveryCodes, mailer.Notice{})
	return codes, nil
}

// ResetMFA removes a user's second factor without any proof: the
// operator's way out for a user who lost every factor, or for every user
// after the MFA key was lost or changed (their sealed secrets no longer
// open; see Config.MFAKey). It is not reachable over HTTP. It returns
// [ErrMFANotEnabled] when the user has no second factor, [ErrMFAOff] when
// Config.MFA is off, and an *[UnavailableError] when the store cannot be
// reached.
func (s *Service) ResetMFA(ctx context.Context, userID string) error {
	if s.mfa == nil {
		return ErrMFAOff
	}
	switch err := s.mfa.factors.DeleteSecondFactor(ctx, userID); {
	case errors.Is(err, store.ErrNotFound):
		return ErrMFANotEnabled
	case err != nil:
		return storeErr("delete second factor", err)
	}
	s.emit(ctx, EventMFADisabled, OutcomeSuccess, userID, "", Client{}, "operator_reset")
	return nil
}

// countWrongCode counts a wrong code given with a right password against
// the user's change-password limits, so that a stolen password and access
// token cannot try TOTP codes without end; it returns err.
func (s *Service) countWrongCode(ctx context.Context, userID string, err error) error {
	if errors.Is(err, ErrInvalidCode) {
		if lerr := reserve(ctx, s.passwordLimits, userID); errors.Is(lerr, ErrRateLimited) {
			return lerr
		}
	}
	return err
}

// spendSecondFactor checks a TOTP code (when code has the shape of one)
// or a recovery code against the user's confirmed factor and spends it:
// the time step by the store's compare-and-set, the recovery code by its
// single use. It returns the method used (MethodTOTP or
// MethodRecoveryCode); [ErrInvalidCode] for a wrong, replayed or used
// code; [ErrMFANotEnabled] without a confirmed factor. A failure is
// audited as kind.
func (s *Service) spendSecondFactor(ctx context.Context, userID, totpCode, recoveryCode string, kind EventKind, sid string, c Client) (string, error) {
	f, err := s.mfa.factors.SecondFactor(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", ErrMFANotEnabled
	case err != nil:
		return "", storeErr("read second factor", err)
	case !f.Confirmed:
		return "", ErrMFANotEnabled
	}
	now := s.now().UTC()
	fail := func(reason string) (string, error) {
		s.emit(ctx, kind, OutcomeFailure, userID, sid, c, reason)
		return "", ErrInvalidCode
	}
	if totpCode != "" && looksLikeTOTP(totpCode) {
		secret, err := s.openSecret(ctx, f)
		if err != nil {
			return "", err
		}
		step, err := totp.Validate(secret, totpCode, now)
		clear(secret)
		if err != nil {
			return fail("wrong_code")
		}
		switch err := s.mfa.factors.UseTOTPStep(ctx, userID, step, now); {
		case errors.Is(err, store.ErrStale):
			return fail("code_replayed")
		case errors.Is(err, store.ErrNotFound):
			return "", ErrMFANotEnabled
		case err != nil:
			return "", storeErr("spend totp step", err)
		}
		return MethodTOTP, nil
	}
	if recoveryCode == "" {
		return fail("wrong_code")
	}
	digest, err := totp.RecoveryCodeDigest(s.mfa.recoveryKey, userID, recoveryCode)
	if err != nil {
		return fail("wrong_code")
	}
	switch err := s.mfa.factors.UseRecoveryCode(ctx, userID, digest, now); {
	case errors.Is(err, store.ErrNotFound):
		return fail("wrong_recovery_code")
	case err != nil:
		return "", storeErr("spend recovery code", err)
	}
	return MethodRecoveryCode, nil
}

// looksLikeTOTP reports whether code is meant as a TOTP code, well-formed
// or not: ASCII digits only, and not 12 of them (a recovery code typed
// without its dashes may be 12 digits).
func looksLikeTOTP(code string) bool {
	if len(code) == 0 || len(code) > 12 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return len(code) != 12
}

// openSecret decrypts the user's TOTP secret. A secret that does not open
// (the MFA key changed, or the row was altered or copied from another
// user) is logged for the operator and answered as an internal error: the
// user cannot fix it, and nothing about it goes to the client.
func (s *Service) openSecret(ctx context.Context, f store.SecondFactor) ([]byte, error) {
	secret, err := totp.OpenSecret(s.mfa.sealKey, f.UserID, f.TOTPSecret)
	if err != nil {
		s.log.ErrorContext(ctx, "auth: a TOTP secret does not decrypt with the configured MFA key; "+
			"if the key changed, restore it, or remove the user's second factor (Service.ResetMFA)",
			"user_id", f.UserID, "error", err)
		return nil, fmt.Errorf("auth: opening the TOTP secret of user %s: %w", f.UserID, err)
	}
	return secret, nil
}

// newRecoveryCodes makes a fresh set of codes and their digests.
func (s *Service) newRecoveryCodes(userID string) (codes, digests []string, err error) {
	codes, err = totp.GenerateRecoveryCodes(recoveryCodeWant, s.rand)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: %w", err)
	}
	digests = make([]string, len(codes))
	for i, code := range codes {
		if digests[i], err = totp.RecoveryCodeDigest(s.mfa.recoveryKey, userID, code); err != nil {
			return nil, nil, fmt.Errorf("auth: %w", err)
		}
	}
	return codes, digests, nil
}

// mfaTicket is the state of a login challenge, kept in a store.Ticket.
type mfaTicket struct {
	// Attempts counts the wrong codes given so far.
	Attempts int `json:"attempts"`
	// HashDigest is the SHA-256 of the password hash verified at the
	// first step: a password change or reset since then ends the
	// challenge.
	HashDigest string `json:"hash"`
	// Provider marks a challenge whose first step was a sign-in with
	// another provider rather than a password: it has none of RFC 8176's
	// methods of its own, so the session's amr is ["otp","mfa"].
	Provider bool `json:"provider,omitempty"`
	// Passkey marks a challenge whose first step was a passkey without
	// user verification: the session's amr is ["hwk","otp","mfa"].
	Passkey bool `json:"passkey,omitempty"`
}

// firstStep is how a sign-in that meets a challenge began.
type firstStep int

const (
	firstPassword firstStep = iota
	firstProvider           // a sign-in with another provider
	firstPasskey            // a passkey without user verification
)

// firstAMR returns the amr methods of the challenge's first step.
func (t mfaTicket) firstAMR() []string {
	switch {
	case t.Provider:
		return []string{}
	case t.Passkey:
		return []string{AMRHardwareKey}
	}
	return []string{AMRPassword}
}

// challengeMFA returns an *MFARequiredError with a new mfa_token when the
// user has a confirmed second factor, and nil when they have none (or MFA
// is off). Login calls it once the password is right, a sign-in with
// another provider once the provider vouched for the user, and a passkey
// sign-in without user verification once the signature is right. The
// methods offered include a passkey when the user has one and the first
// step was not a passkey.
func (s *Service) challengeMFA(ctx context.Context, u store.User, c Client, first firstStep) error {
	if s.mfa == nil {
		return nil
	}
	f, err := s.mfa.factors.SecondFactor(ctx, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return storeErr("read second factor", err)
	case !f.Confirmed:
		return nil
	}
	raw := make([]byte, mfaTokenBytes)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return fmt.Errorf("auth: reading randomness: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now().UTC()
	expires := now.Add(mfaTokenTTL)
	methods := []string{MethodTOTP, MethodRecoveryCode}
	if first != firstPasskey {
		n, err := s.passkeyCount(ctx, u.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			methods = append(methods, MethodPasskey)
		}
	}
	st := mfaTicket{HashDigest: hashDigest(u.HashedPassword), Provider: first == firstProvider, Passkey: first == firstPasskey}
	if err := s.putChallenge(ctx, u.ID, token.Digest(tok), st, expires, now); err != nil {
		return err
	}
	s.emit(ctx, EventMFAChallenged, OutcomeSuccess, u.ID, "", c, "")
	return &MFARequiredError{Token: tok, Methods: methods, ExpiresAt: expires}
}

// peekChallenge returns the user of a live mfa_token, leaving it as it
// was (taken and put back: a concurrent VerifyMFA in that instant finds it
// taken). It returns [ErrInvalidMFAToken] for a token that is unknown,
// used or expired, or when MFA is off.
func (s *Service) peekChallenge(ctx context.Context, mfaToken string) (string, error) {
	if s.mfa == nil || mfaToken == "" || len(mfaToken) > maxMFATokenLen {
		return "", ErrInvalidMFAToken
	}
	tk, err := s.mfa.tickets.TakeTicket(ctx, mfaTicketKind, token.Digest(mfaToken), s.now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", ErrInvalidMFAToken
	case err != nil:
		return "", storeErr("take mfa challenge", err)
	}
	if err := s.mfa.tickets.PutTicket(context.WithoutCancel(ctx), tk); err != nil {
		return "", storeErr("put mfa challenge back", err)
	}
	if tk.UserID == "" {
		return "", ErrInvalidMFAToken
	}
	return tk.UserID, nil
}

// takeChallenge spends the challenge with the digest for u, whose second
// step another method (a passkey) has just passed, and returns the amr
// methods of its first step. It returns [ErrInvalidMFAToken] when the
// challenge is unknown, used or expired, is another user's, or u changed
// their password since the first step.
func (s *Service) takeChallenge(ctx context.Context, digest string, u store.User) ([]string, error) {
	if s.mfa == nil {
		return nil, ErrInvalidMFAToken
	}
	tk, err := s.mfa.tickets.TakeTicket(ctx, mfaTicketKind, digest, s.now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrInvalidMFAToken
	case err != nil:
		return nil, storeErr("take mfa challenge", err)
	}
	var st mfaTicket
	if err := json.Unmarshal(tk.Data, &st); err != nil || tk.UserID != u.ID || hashDigest(u.HashedPassword) != st.HashDigest {
		return nil, ErrInvalidMFAToken
	}
	return st.firstAMR(), nil
}

func (s *Service) putChallenge(ctx context.Context, userID, digest string, st mfaTicket, expires, now time.Time) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	err = s.mfa.tickets.PutTicket(ctx, store.Ticket{
		Kind: mfaTicketKind, Digest: digest, UserID: userID, Data: data, ExpiresAt: expires, CreatedAt: now,
	})
	if err != nil {
		return storeErr("store mfa challenge", err)
	}
	return nil
}

// hashDigest is the SHA-256 of a password hash: enough to tell that it
// changed, without copying the hash into a ticket.
func hashDigest(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:])
}

// VerifyMFA finishes a login that Login answered with an
// *[MFARequiredError]: given its mfa_token and either a TOTP code or a
// recovery code (exactly one of code and recoveryCode), it returns the
// tokens Login would have, bound to the device c describes, with amr
// ["pwd", "otp", "mfa"].
//
// The mfa_token is taken from the store atomically, so of concurrent
// submissions at most one signs in, and those that find it taken get
// [ErrInvalidMFAToken]. A wrong, replayed or malformed code is
// [ErrInvalidCode] and puts the token back with one more wrong attempt;
// the 5th wrong attempt ends it. A TOTP code's time step is spent by the
// store's compare-and-set, so a code signs in once per user on every
// instance. When the store cannot be reached the answer is an
// *[UnavailableError] and the token is kept (or put back, where it had
// been taken).
//
// It returns [ErrInvalidMFAToken] for an unknown, used, expired or
// exhausted token and when the user changed their password, turned the
// second factor off, was disabled or deleted since the first step;
// [ErrMFAOff] when Config.MFA is off; and an internal error (logged) when
// the secret cannot be decrypted. When both codes are given, recoveryCode
// is the one checked; a recovery code given as code works too.
func (s *Service) VerifyMFA(ctx context.Context, mfaToken, code, recoveryCode string, c Client) (Tokens, error) {
	if s.mfa == nil {
		return Tokens{}, ErrMFAOff
	}
	if mfaToken == "" || len(mfaToken) > maxMFATokenLen {
		return Tokens{}, ErrInvalidMFAToken
	}
	digest := token.Digest(mfaToken)
	now := s.now().UTC()
	tk, err := s.mfa.tickets.TakeTicket(ctx, mfaTicketKind, digest, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Tokens{}, ErrInvalidMFAToken
	case err != nil:
		return Tokens{}, storeErr("take mfa challenge", err)
	}
	var st mfaTicket
	if err := json.Unmarshal(tk.Data, &st); err != nil || tk.UserID == "" {
		return Tokens{}, ErrInvalidMFAToken
	}
	// putBack keeps the challenge for another try, with attempts wrong
	// answers counted, until it expires as it would have.
	putBack := func(attempts int) {
		st.Attempts = attempts
		if st.Attempts >= mfaMaxAttempts {
			return
		}
		if err := s.putChallenge(context.WithoutCancel(ctx), tk.UserID, digest, st, tk.ExpiresAt, tk.CreatedAt); err != nil {
			s.log.WarnContext(ctx, "auth: putting an mfa challenge back failed", "user_id", tk.UserID, "error", err)
		}
	}

	u, err := s.store.UserByID(ctx, tk.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Tokens{}, ErrInvalidMFAToken
	case err != nil:
		putBack(st.Attempts)
		return Tokens{}, storeErr("find user", err)
	case !u.IsActive || hashDigest(u.HashedPassword) != st.HashDigest:
		s.emit(ctx, EventMFAVerified, OutcomeFailure, u.ID, "", c, "user_changed")
		return Tokens{}, ErrInvalidMFAToken
	}

	totpCode := code
	if recoveryCode != "" {
		totpCode = ""
	} else if !looksLikeTOTP(code) {
		// A recovery code given in the code member still works.
		recoveryCode, totpCode = code, ""
	}
	method, err := s.spendSecondFactor(ctx, u.ID, totpCode, recoveryCode, EventMFAVerified, "", c)
	switch {
	case errors.Is(err, ErrInvalidCode):
		putBack(st.Attempts + 1)
		return Tokens{}, ErrInvalidCode
	case errors.Is(err, ErrMFANotEnabled):
		// Turned off since the first step: the challenge is void.
		return Tokens{}, ErrInvalidMFAToken
	case err != nil:
		var unavailable *UnavailableError
		if errors.As(err, &unavailable) {
			putBack(st.Attempts)
		}
		return Tokens{}, err
	}
	amr := append(st.firstAMR(), AMROTP, AMRMFA)
	t, err := s.signIn(ctx, u, c, amr)
	if err != nil {
		return Tokens{}, err
	}
	s.emit(ctx, EventMFAVerified, OutcomeSuccess, u.ID, t.SessionID, c, method)
	return t, nil
}

// HasSecondFactor reports whether claims show a sign-in with more than one
// factor: amr holds "mfa" (RFC 8176), as every token of a session finished
// by [Service.VerifyMFA] does, and those of a user-verified passkey (a
// key held and a PIN or biometric: two factors in one). Tokens of a
// password-only session, however often refreshed, do not.
func HasSecondFactor(claims token.Claims) bool {
	for _, m := range claims.AMR {
		if m == AMRMFA {
			return true
		}
	}
	return false
}

// key reads 32 bytes given in hex or base64 (standard or URL alphabet,
// padded or not); unset is nil.
func (e *env) key(name string) []byte {
	s := e.str(name)
	if s == "" {
		return nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == totp.KeySize {
		return b
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == totp.KeySize {
			return b
		}
	}
	e.fail(name, fmt.Sprintf("want %d bytes in hex (%d digits) or base64", totp.KeySize, 2*totp.KeySize))
	return nil
}
