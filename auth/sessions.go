package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// VerifyAccessToken checks an access token's signature, lifetime, issuer,
// audience and type without touching the store, and returns its claims. It
// cannot see revocations (logout-all, password changes) or disabled users;
// use [Service.Authenticate] where those matter. Every failure is
// [ErrInvalidToken], wrapping the token package's reason.
func (s *Service) VerifyAccessToken(accessToken string) (token.Claims, error) {
	if s.tokenCache != nil {
		if claims, ok := s.tokenCache.get(accessToken, s.now()); ok {
			return claims, nil
		}
	}
	claims, err := s.tokens.Verify(accessToken, token.TypeAccess)
	if err != nil {
		return token.Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if s.tokenCache != nil {
		s.tokenCache.put(accessToken, claims)
	}
	return claims, nil
}

// Authenticate verifies an access token and loads its user, in one store
// round trip that also checks the token's session. It returns
// [ErrInvalidToken] when the token fails [Service.VerifyAccessToken], when
// the user is gone or disabled, when the token's session has ended (logout,
// device revocation, refresh-token reuse, logout-all, a password change or
// reset, a disabling, or the session's absolute end), or when the token was
// issued before the user's last logout-all or password change; and an
// *[UnavailableError] when the store cannot be reached, so that callers
// fail closed. The Identity's User carries no password hash.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Identity, error) {
	claims, err := s.VerifyAccessToken(accessToken)
	if err != nil {
		return Identity{}, err
	}
	u, err := s.store.UserWithSession(ctx, claims.UserID, claims.SessionID, s.now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Identity{}, fmt.Errorf("%w: user is gone", ErrInvalidToken)
	case errors.Is(err, store.ErrSessionEnded):
		return Identity{}, fmt.Errorf("%w: session ended", ErrInvalidToken)
	case err != nil:
		return Identity{}, storeErr("find user", err)
	case !u.IsActive:
		return Identity{}, fmt.Errorf("%w: user is disabled", ErrInvalidToken)
	case claims.IssuedAt.Before(u.TokensValidAfter):
		return Identity{}, fmt.Errorf("%w: token was revoked", ErrInvalidToken)
	}
	return Identity{User: public(u), Claims: claims}, nil
}

// Refresh rotates a refresh token: the presented token is revoked and a new
// access and refresh token of the same session are returned. Each refresh
// token works once, and no token outlives its session's absolute end
// (Config.SessionMaxLifetime after the login). Presenting one that was
// already rotated is taken as theft (RFC 9700 §4.14.2): the whole session
// is revoked, so the newest token fails too, and an [EventRefreshReuse] is
// emitted; within Config.RefreshReuseGrace of the rotation, a token
// presented again instead gets a new pair of its session, while that
// session is active. A token of a session that was ended otherwise (logout, device
// revocation, logout-all, a password change, a disabling) is refused with
// an [EventRefreshFailed] instead, so that the theft signal stays clean.
//
// It returns [ErrInvalidRefreshToken] for a bad, expired, revoked or reused
// token, [ErrInactiveUser] for a disabled account, [ErrNotEnabled] in Basic
// mode, and an *[UnavailableError] when the store cannot be reached.
func (s *Service) Refresh(ctx context.Context, refreshToken string, c Client) (Tokens, error) {
	if s.mode != ModeComplete {
		return Tokens{}, ErrNotEnabled
	}
	claims, err := s.tokens.Verify(refreshToken, token.TypeRefresh)
	if err != nil {
		return Tokens{}, fmt.Errorf("%w: %w", ErrInvalidRefreshToken, err)
	}
	u, err := s.store.UserByID(ctx, claims.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Tokens{}, fmt.Errorf("%w: user is gone", ErrInvalidRefreshToken)
	case err != nil:
		return Tokens{}, storeErr("find user", err)
	case !u.IsActive:
		return Tokens{}, ErrInactiveUser
	}

	// The session's methods (amr) ride on its refresh token: a session
	// signed in with a password alone stays so, whatever the user has
	// enabled since.
	ss := session{id: claims.SessionID, authTime: claims.AuthTime, amr: claims.AMR}
	if !ss.authTime.IsZero() {
		ss.end = ss.authTime.Add(s.sessionMaxLifetime)
	}
	t, next, err := s.issuePair(ctx, u, ss, c.stored())
	if errors.Is(err, token.ErrIncompleteIdentity) && !ss.end.IsZero() {
		return Tokens{}, fmt.Errorf("%w: the session has reached its end", ErrInvalidRefreshToken)
	}
	if err != nil {
		return Tokens{}, err
	}
	err = s.rotate(ctx, token.Digest(refreshToken), next, s.now().UTC())
	switch {
	case errors.Is(err, store.ErrReused):
		s.emit(ctx, EventRefreshReuse, OutcomeFailure, u.ID, claims.SessionID, c, "session_revoked")
		return Tokens{}, fmt.Errorf("%w: reused", ErrInvalidRefreshToken)
	case errors.Is(err, store.ErrSessionEnded):
		s.emit(ctx, EventRefreshFailed, OutcomeFailure, u.ID, claims.SessionID, c, "session_ended")
		return Tokens{}, fmt.Errorf("%w: session ended", ErrInvalidRefreshToken)
	case errors.Is(err, store.ErrNotFound):
		return Tokens{}, fmt.Errorf("%w: unknown or expired", ErrInvalidRefreshToken)
	case err != nil:
		return Tokens{}, storeErr("rotate refresh token", err)
	}
	s.emit(ctx, EventTokenRefreshed, OutcomeSuccess, u.ID, claims.SessionID, c, "")
	return t, nil
}

// Logout ends the session of a refresh token. It is idempotent: a validly
// signed token of a session that has already ended succeeds again. Because
// the session is named by the signed token, nobody can end another user's
// session. It returns [ErrInvalidRefreshToken] for a token that fails
// verification (bad signature, expired, wrong type), [ErrNotEnabled] in
// Basic mode, and an *[UnavailableError] when the store cannot be reached.
func (s *Service) Logout(ctx context.Context, refreshToken string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	claims, err := s.tokens.Verify(refreshToken, token.TypeRefresh)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRefreshToken, err)
	}
	err = s.store.RevokeFamily(ctx, claims.UserID, claims.SessionID, s.now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr("revoke session", err)
	}
	s.emit(ctx, EventLoggedOut, OutcomeSuccess, claims.UserID, claims.SessionID, c, "")
	return nil
}

// LogoutAll ends every session of the signed-in user and makes every access
// token issued before now fail [Service.Authenticate] (the moment is
// recorded with [store.NextRevocation], so two calls in one second still
// each cut the tokens issued before them). It returns [ErrInvalidToken]
// when the user is gone, [ErrNotEnabled] in Basic mode and an
// *[UnavailableError] when the store cannot be reached.
func (s *Service) LogoutAll(ctx context.Context, id Identity, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	if err := s.store.RevokeAllSessions(ctx, id.Claims.UserID, s.revocationMoment()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidToken
		}
		return storeErr("revoke sessions", err)
	}
	s.emit(ctx, EventLoggedOutAll, OutcomeSuccess, id.Claims.UserID, id.Claims.SessionID, c, "")
	return nil
}

// Device is one active session of a user, as listed by [Service.Devices].
type Device struct {
	store.Session
	// Current is true for the session of the access token that asked.
	Current bool
}

// Devices lists the signed-in user's active sessions, oldest first, marking
// the caller's own. It returns [ErrNotEnabled] in Basic mode and an
// *[UnavailableError] when the store cannot be reached.
func (s *Service) Devices(ctx context.Context, id Identity) ([]Device, error) {
	if s.mode != ModeComplete {
		return nil, ErrNotEnabled
	}
	sessions, err := s.store.Sessions(ctx, id.Claims.UserID, s.now().UTC())
	if err != nil {
		return nil, storeErr("list sessions", err)
	}
	out := make([]Device, len(sessions))
	for i, ss := range sessions {
		out[i] = Device{Session: ss, Current: ss.ID == id.Claims.SessionID}
	}
	return out, nil
}

// RevokeDevice ends one of the signed-in user's sessions. It returns
// [ErrNotFound] for an unknown or already ended session and for a session of
// another user, [ErrNotEnabled] in Basic mode, and an *[UnavailableError]
// when the store cannot be reached.
func (s *Service) RevokeDevice(ctx context.Context, id Identity, deviceID string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	err := s.store.RevokeFamily(ctx, id.Claims.UserID, deviceID, s.now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return storeErr("revoke session", err)
	}
	s.emit(ctx, EventDeviceRevoked, OutcomeSuccess, id.Claims.UserID, deviceID, c, "")
	return nil
}
