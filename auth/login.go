package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// Client describes where a request comes from; it is recorded on sessions
// and in audit events. The HTTP adapter fills it from the request.
type Client struct {
	IP         string
	UserAgent  string
	DeviceName string
	DeviceType string
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
	User             store.User
}

// Login checks a username or email and a password and returns tokens. In
// Complete mode each login starts a new device session (a refresh-token
// family) described by c.
//
// An unknown user and a wrong password get the same [ErrInvalidCredentials],
// in about the same time (an unknown user's password is checked against a
// dummy hash with the current parameters). Only after the password is right
// does Login tell [ErrInactiveUser] or [ErrEmailNotVerified]. A hash with old
// parameters is upgraded. An account with too many recent failures gets a
// *[RateLimitError]; a saturated hasher or an unreachable store an
// *[UnavailableError].
func (s *Service) Login(ctx context.Context, login, pw string, c Client) (Tokens, error) {
	login = strings.TrimSpace(login)
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

	// Unknown logins are throttled under (a digest of) their own name, so a
	// throttled answer does not tell whether an account exists, and a shared
	// limiter such as Redis holds no addresses.
	sum := sha256.Sum256([]byte(store.Fold(login)))
	limitKey := "login:" + hex.EncodeToString(sum[:16])
	if known {
		limitKey = "user:" + u.ID
	}
	if err := limited(ctx, s.loginLimits, limitKey); err != nil {
		if errors.Is(err, ErrRateLimited) {
			s.emit(ctx, EventRateLimited, OutcomeFailure, u.ID, "", c, "login_failures")
		}
		return Tokens{}, err
	}

	hash := s.dummyHash
	if known {
		hash = u.HashedPassword
	}
	err = s.hasher.Verify(ctx, pw, hash)
	if err == nil && !known {
		err = password.ErrMismatch // the dummy password guessed: still unknown
	}
	if err != nil {
		if !isMismatch(err) {
			return Tokens{}, hashErr(err)
		}
		reason := "wrong_password"
		if !known {
			reason = "unknown_user"
		} else if errors.Is(err, password.ErrMalformed) {
			reason = "malformed_hash"
			s.log.ErrorContext(ctx, "auth: stored password hash is malformed", "user_id", u.ID)
		}
		s.emit(ctx, EventLoginFailed, OutcomeFailure, u.ID, "", c, reason)
		if err := count(ctx, s.loginLimits, limitKey); err != nil && !errors.Is(err, ErrRateLimited) {
			return Tokens{}, err
		}
		return Tokens{}, ErrInvalidCredentials
	}

	if !u.IsActive {
		s.emit(ctx, EventLoginFailed, OutcomeFailure, u.ID, "", c, "inactive")
		return Tokens{}, ErrInactiveUser
	}
	if s.mode == ModeComplete && s.requireVerified && !u.IsVerified {
		s.emit(ctx, EventLoginFailed, OutcomeFailure, u.ID, "", c, "email_not_verified")
		return Tokens{}, ErrEmailNotVerified
	}
	if err := reset(ctx, s.loginLimits, limitKey); err != nil {
		s.log.WarnContext(ctx, "auth: resetting the login limiter failed", "user_id", u.ID, "error", err)
	}

	if s.hasher.NeedsRehash(u.HashedPassword) {
		s.rehash(ctx, u, pw)
	}
	now := s.now().UTC()
	if err := s.store.RecordLogin(ctx, u.ID, now); err != nil {
		return Tokens{}, storeErr("record login", err)
	}
	u.LastLoginAt = now

	var t Tokens
	if s.mode == ModeComplete {
		t, err = s.startSession(ctx, u, c)
	} else {
		t, err = s.issueAccess(u, "")
	}
	if err != nil {
		return Tokens{}, err
	}
	s.emit(ctx, EventLoginSucceeded, OutcomeSuccess, u.ID, t.SessionID, c, "")
	return t, nil
}

// isMismatch reports whether a verification failed on the password (or on
// a stored hash that cannot match anything) rather than on the hasher.
func isMismatch(err error) bool {
	return errors.Is(err, password.ErrMismatch) || errors.Is(err, password.ErrMalformed)
}

// rehash upgrades a hash made with other parameters. It runs after a
// successful verification only, and never overwrites a hash that changed
// meanwhile; a failure leaves the old, still valid hash in place.
func (s *Service) rehash(ctx context.Context, u store.User, pw string) {
	hash, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = s.store.ReplacePasswordHash(ctx, u.ID, u.HashedPassword, hash)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.WarnContext(ctx, "auth: upgrading a password hash failed", "user_id", u.ID, "error", err)
	}
}

// startSession creates a refresh-token family for a new device login and
// issues its first pair of tokens.
func (s *Service) startSession(ctx context.Context, u store.User, c Client) (Tokens, error) {
	sid, err := s.newID()
	if err != nil {
		return Tokens{}, err
	}
	t, rt, err := s.issuePair(u, sid, c)
	if err != nil {
		return Tokens{}, err
	}
	rt.DeviceName = c.DeviceName
	rt.DeviceType = c.DeviceType
	if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
		return Tokens{}, storeErr("create refresh token", err)
	}
	return t, nil
}

// issueAccess issues an access token for u, in session sid if any.
func (s *Service) issueAccess(u store.User, sid string) (Tokens, error) {
	at, err := s.tokens.IssueAccess(token.Identity{
		UserID:    u.ID,
		Username:  u.Username,
		SessionID: sid,
		NotBefore: u.TokensValidAfter,
	})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{
		AccessToken: at.Token,
		TokenType:   "bearer",
		ExpiresIn:   int64(s.tokens.AccessTTL() / time.Second),
		ExpiresAt:   at.ExpiresAt,
		SessionID:   sid,
		User:        u,
	}, nil
}

// issuePair issues an access and a refresh token in session sid, and the
// store record of the refresh token (without device name and type).
func (s *Service) issuePair(u store.User, sid string, c Client) (Tokens, store.RefreshToken, error) {
	t, err := s.issueAccess(u, sid)
	if err != nil {
		return Tokens{}, store.RefreshToken{}, err
	}
	rt, err := s.tokens.IssueRefresh(token.Identity{UserID: u.ID, Username: u.Username, SessionID: sid})
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
		FamilyID:   sid,
		ExpiresAt:  rt.ExpiresAt,
		IPAddress:  c.IP,
		UserAgent:  c.UserAgent,
		CreatedAt:  now,
		LastUsedAt: now,
	}, nil
}
