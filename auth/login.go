package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// Client describes where a request comes from; it is recorded on sessions
// and in audit events. The HTTP adapter fills it from the request.
type Client struct {
	IP string
	// Network is the client's network for rate limits: the IPv4 address,
	// or the IPv6 network (a /64 by default) that one client usually
	// holds. Empty means IP.
	Network    string
	UserAgent  string
	DeviceName string
	DeviceType string
	// DeviceToken is the device token the client received at its last
	// successful login (Tokens.DeviceToken), if it kept one.
	DeviceToken string
}

// maxClientText is how many characters of a user agent or device name are
// kept.
const maxClientText = 256

// network returns the key under which the client's network is limited.
func (c Client) network() string {
	if c.Network != "" {
		return c.Network
	}
	return c.IP
}

// stored returns c with the text it records made storable: invalid UTF-8
// replaced by U+FFFD, no control characters, at most maxClientText characters. The adapter already
// refuses or cleans such input; a caller of the package may not have.
func (c Client) stored() Client {
	c.IP = cleanText(c.IP)
	c.UserAgent = cleanText(c.UserAgent)
	c.DeviceName = cleanText(c.DeviceName)
	c.DeviceType = cleanText(c.DeviceType)
	return c
}

func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if utf8.RuneCountInString(s) > maxClientText {
		s = string([]rune(s)[:maxClientText])
	}
	return s
}

// Tokens is what a login or a refresh hands to the client.
type Tokens struct {
	AccessToken      string
	TokenType        string // always "bearer"
	ExpiresIn        int64  // seconds until the access token expires
	ExpiresAt        time.Time
	RefreshToken     string    // empty in Basic mode
	RefreshExpiresAt time.Time // zero in Basic mode
	SessionID        string    // the device session; empty in Basic mode
	// DeviceToken is handed out by a successful login (empty when device
	// tokens are off): the client keeps it and presents it at its next
	// login (Client.DeviceToken), which lets it through a lock of the
	// account that failures from elsewhere caused.
	DeviceToken string
	// User is the signed-in user, without the password hash.
	User store.User
}

// Login checks a username or email and a password and returns tokens. In
// Complete mode each login starts a new device session (a refresh-token
// family) described by c.
//
// An unknown user and a wrong password get the same [ErrInvalidCredentials],
// in about the same time (an unknown user's password is checked against a
// dummy hash with the current parameters, and a wrong password for a hash
// with cheaper, older parameters is held until a current check would have
// ended). Only after the password is right does Login tell
// [ErrInactiveUser] or [ErrEmailNotVerified]. A hash with old parameters is
// upgraded.
//
// Failed attempts are limited per identifier as typed (never per account
// found, so a lock says nothing about which usernames and emails belong
// together): Config.LoginMaxFailures per client network, and
// Config.LoginFailuresPerHour from everywhere, which a client presenting a
// valid device token of the account skips. Each attempt is counted before
// the password is checked and given back when it is right, so a burst of
// concurrent guesses gets no more than the limit. A refused attempt is a
// *[RateLimitError]; a saturated hasher or an unreachable store an
// *[UnavailableError]. A password reset or change that commits while the
// login is being checked wins: the login then fails with
// [ErrInvalidCredentials] and no session is created.
//
// With Config.MFA on, a user with a confirmed second factor gets no tokens
// from the right password: Login returns an *[MFARequiredError] (matching
// [ErrMFARequired]) carrying the mfa_token to finish with
// [Service.VerifyMFA]. Tokens of a password login carry amr ["pwd"].
func (s *Service) Login(ctx context.Context, login, pw string, c Client) (Tokens, error) {
	login = normalize(login)
	var (
		u   store.User
		err error
	)
	if strings.Contains(login, "@") {
		u, err = s.store.UserByEmail(ctx, login)
	} else {
		u, err = s.store.UserByUsername(ctx, login)
	}
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Tokens{}, storeErr("find user", err)
	}

	// The limits are keyed by (a digest of) the identifier as typed,
	// known or not, so a throttled answer does not tell whether an
	// account exists or which email goes with which username, and a
	// shared limiter such as Redis holds no addresses.
	ident := digestKey(store.Fold(login))
	netKey := ident + "|" + c.network()
	limits, key := s.loginNetLimits, netKey
	device, fromDevice := s.deviceID(c.DeviceToken, u.ID)
	if known && fromDevice {
		limits, key = s.deviceLimits, "device:"+device
	}
	if err := reserve(ctx, limits, key); err != nil {
		return Tokens{}, s.loginRefused(ctx, err, u.ID, c)
	}
	if !(known && fromDevice) {
		if err := reserve(ctx, s.loginAccountLimits, ident); err != nil {
			s.refund(ctx, limits, key)
			return Tokens{}, s.loginRefused(ctx, err, u.ID, c)
		}
	}

	// A user without a password (signed up through a provider) takes the
	// path of an unknown user: the dummy hash, which no password may pass,
	// so that neither the answer nor its timing tells such an account.
	hasPassword := known && u.HashedPassword != ""
	hash := s.dummyHash
	if hasPassword {
		hash = u.HashedPassword
	}
	started := time.Now()
	err = s.hasher.Verify(ctx, pw, hash)
	if err == nil && !hasPassword {
		err = password.ErrMismatch // the dummy password guessed
	}
	if err != nil {
		if !isMismatch(err) {
			s.refund(ctx, limits, key)
			if !(known && fromDevice) {
				s.refund(ctx, s.loginAccountLimits, ident)
			}
			return Tokens{}, hashErr(err)
		}
		if known && s.cheaperThanCurrent(hash) {
			s.hashTime.pad(ctx, time.Since(started))
		} else if !known || !s.hasher.NeedsRehash(hash) {
			s.hashTime.observe(time.Since(started))
		}
		reason := "wrong_password"
		if !known {
			reason = "unknown_user"
		} else if !hasPassword {
			reason = "no_password"
		} else if errors.Is(err, password.ErrMalformed) {
			reason = "malformed_hash"
			s.log.ErrorContext(ctx, "auth: stored password hash is malformed", "user_id", u.ID)
		}
		s.emit(ctx, EventLoginFailed, OutcomeFailure, u.ID, "", c, reason)
		return Tokens{}, ErrInvalidCredentials
	}

	// The password is right: this attempt does not count, and the
	// failures from this network or device are forgiven. The failures
	// from elsewhere stay counted.
	s.forgive(ctx, limits, key)
	if !(known && fromDevice) {
		s.refund(ctx, s.loginAccountLimits, ident)
	}
	if err := s.checkAccount(ctx, u, c); err != nil {
		return Tokens{}, err
	}

	if s.hasher.NeedsRehash(u.HashedPassword) {
		u.HashedPassword = s.rehash(ctx, u, pw)
	}
	// A user with a second factor gets a challenge, never tokens.
	if err := s.challengeMFA(ctx, u, c, firstPassword); err != nil {
		return Tokens{}, err
	}
	return s.signIn(ctx, u, c, []string{AMRPassword})
}

// checkAccount tells, once the credentials are right, why u may not sign
// in: [ErrInactiveUser] for a disabled account, [ErrEmailNotVerified] for
// an unverified one where verification is required; nil when u may. A
// refusal is audited as a failed login.
func (s *Service) checkAccount(ctx context.Context, u store.User, c Client) error {
	if !u.IsActive {
		s.emit(ctx, EventLoginFailed, OutcomeFailure, u.ID, "", c, "inactive")
		return ErrInactiveUser
	}
	if s.mode == ModeComplete && s.requireVerified && !u.IsVerified {
		s.emit(ctx, EventLoginFailed, OutcomeFailure, u.ID, "", c, "email_not_verified")
		return ErrEmailNotVerified
	}
	return nil
}

// signIn issues the tokens of a login whose every step has passed, by the
// methods amr: a new device session in Complete mode, an access token in
// Basic mode. Login and [Service.VerifyMFA] both end here.
func (s *Service) signIn(ctx context.Context, u store.User, c Client, amr []string) (Tokens, error) {
	now := s.now().UTC()
	var (
		t   Tokens
		err error
	)
	if s.mode == ModeComplete {
		t, err = s.startSession(ctx, u, now, c, amr)
	} else {
		if err := s.store.RecordLogin(ctx, u.ID, now); err != nil {
			return Tokens{}, storeErr("record login", err)
		}
		u.LastLoginAt = now
		t, err = s.issueAccess(ctx, u, session{amr: amr})
	}
	if err != nil {
		return Tokens{}, err
	}
	t.DeviceToken = s.newDeviceToken(u.ID)
	s.emit(ctx, EventLoginSucceeded, OutcomeSuccess, u.ID, t.SessionID, c, "")
	// A sign-in from a device that shows no device token of this account
	// may be a new device: noticeLogin decides and tells the user.
	_, fromDevice := s.deviceID(c.DeviceToken, u.ID)
	s.noticeLogin(ctx, u, fromDevice, t.SessionID, c)
	return t, nil
}

// cheaperThanCurrent reports whether a stored hash was made with parameters
// that cost less than the current ones, so that checking it answers sooner
// than checking the dummy hash of an unknown user.
func (s *Service) cheaperThanCurrent(hash string) bool {
	p, err := password.Decode(hash)
	return err == nil && p.Cost() < s.hasher.Params().Cost()
}

// loginRefused reports a login refused by a limiter.
func (s *Service) loginRefused(ctx context.Context, err error, userID string, c Client) error {
	if errors.Is(err, ErrRateLimited) {
		s.emit(ctx, EventRateLimited, OutcomeFailure, userID, "", c, "login_failures")
	}
	return err
}

// digestKey returns a limiter key for an identifier that keeps the
// identifier itself out of the limiter's store.
func digestKey(ident string) string {
	sum := sha256.Sum256([]byte(ident))
	return hex.EncodeToString(sum[:16])
}

// isMismatch reports whether a verification failed on the password (or on
// a stored hash that cannot match anything) rather than on the hasher.
func isMismatch(err error) bool {
	return errors.Is(err, password.ErrMismatch) || errors.Is(err, password.ErrMalformed)
}

// rehash upgrades a hash made with other parameters and returns the hash
// now in force. It runs after a successful verification only, and never
// overwrites a hash that changed meanwhile; a failure leaves the old, still
// valid hash in place (and returns it, so a session is then bound to it).
func (s *Service) rehash(ctx context.Context, u store.User, pw string) string {
	hash, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = s.store.ReplacePasswordHash(ctx, u.ID, u.HashedPassword, hash)
	}
	if err == nil {
		return hash
	}
	if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrStale) {
		s.log.WarnContext(ctx, "auth: upgrading a password hash failed", "user_id", u.ID, "error", err)
	}
	return u.HashedPassword
}

// session is what the tokens of one device session carry.
type session struct {
	id       string    // the family; "" for a token outside any session
	authTime time.Time // when the user signed in
	end      time.Time // the session's absolute end
	amr      []string  // how the user signed in (RFC 8176)
}

// startSession creates a refresh-token family for a new device login and
// issues its first pair of tokens, provided u's password is still the hash
// that was verified (store.ErrStale otherwise, reported as
// ErrInvalidCredentials: the password changed during the login).
func (s *Service) startSession(ctx context.Context, u store.User, now time.Time, c Client, amr []string) (Tokens, error) {
	sid, err := s.newID()
	if err != nil {
		return Tokens{}, err
	}
	ss := session{id: sid, authTime: now, end: now.Add(s.sessionMaxLifetime), amr: amr}
	c = c.stored()
	t, rt, err := s.issuePair(ctx, u, ss, c)
	if err != nil {
		return Tokens{}, err
	}
	rt.DeviceName = c.DeviceName
	rt.DeviceType = c.DeviceType
	rt.SessionExpiresAt = ss.end
	switch err := s.store.CreateSession(ctx, rt, u.HashedPassword); {
	case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotFound):
		s.emit(ctx, EventLoginFailed, OutcomeFailure, u.ID, "", c, "password_changed")
		return Tokens{}, ErrInvalidCredentials
	case err != nil:
		return Tokens{}, storeErr("create session", err)
	}
	t.User.LastLoginAt = now
	return t, nil
}

// issueAccess issues an access token for u in session ss, if any. It is
// the one place access tokens are issued: every flow that hands one out
// comes here, so each token carries is_superuser and the custom claims of
// the user as they are now.
func (s *Service) issueAccess(ctx context.Context, u store.User, ss session) (Tokens, error) {
	custom, err := s.customClaims(ctx, u)
	if err != nil {
		return Tokens{}, err
	}
	at, err := s.tokens.IssueAccess(token.Identity{
		UserID:    u.ID,
		Username:  u.Username,
		SessionID: ss.id,
		NotBefore: u.TokensValidAfter,
		AuthTime:  ss.authTime,
		Superuser: u.IsSuperuser,
		Custom:    custom,
		AMR:       ss.amr,
	})
	if errors.Is(err, token.ErrCustomClaims) {
		return Tokens{}, s.customClaimsFailed(ctx, u.ID, err)
	}
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{
		AccessToken: at.Token,
		TokenType:   "bearer",
		ExpiresIn:   int64(at.ExpiresAt.Sub(at.Claims.IssuedAt) / time.Second),
		ExpiresAt:   at.ExpiresAt,
		SessionID:   ss.id,
		User:        public(u),
	}, nil
}

// issuePair issues an access and a refresh token in session ss, and the
// store record of the refresh token (without device name and type).
func (s *Service) issuePair(ctx context.Context, u store.User, ss session, c Client) (Tokens, store.RefreshToken, error) {
	t, err := s.issueAccess(ctx, u, ss)
	if err != nil {
		return Tokens{}, store.RefreshToken{}, err
	}
	rt, err := s.tokens.IssueRefresh(token.Identity{
		UserID:    u.ID,
		Username:  u.Username,
		SessionID: ss.id,
		AuthTime:  ss.authTime,
		AMR:       ss.amr,
		NotAfter:  ss.end,
	})
	if err != nil {
		return Tokens{}, store.RefreshToken{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Tokens{}, store.RefreshToken{}, err
	}
	t.RefreshToken = rt.Token
	t.RefreshExpiresAt = rt.ExpiresAt
	now := s.now().UTC()
	return t, store.RefreshToken{
		ID:         id,
		UserID:     u.ID,
		TokenHash:  token.Digest(rt.Token),
		FamilyID:   ss.id,
		ExpiresAt:  rt.ExpiresAt,
		IPAddress:  c.IP,
		UserAgent:  c.UserAgent,
		CreatedAt:  now,
		LastUsedAt: now,
	}, nil
}

// public returns u without its password hash, for what the flows hand to
// callers.
func public(u store.User) store.User {
	u.HashedPassword = ""
	return u
}
