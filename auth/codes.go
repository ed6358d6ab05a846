package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
)

const codeDigits = 6

// newCode returns a uniformly random code of six decimal digits, leading
// zeros kept (rand.Int draws without modulo bias).
func (s *Service) newCode() (string, error) {
	n, err := rand.Int(s.rand, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("auth: reading randomness: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// codeDigest binds a code to its purpose and its user under the server's
// key, so a copy of the table cannot be replayed, a verification code cannot
// reset a password, and user A's code is nothing for user B.
func (s *Service) codeDigest(typ store.CodeType, userID, code string) string {
	m := hmac.New(sha256.New, s.codeKey)
	for _, part := range [...]string{string(typ), userID, code} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// wellFormedCode reports whether code is six ASCII digits.
func wellFormedCode(code string) bool {
	if len(code) != codeDigits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// sendCode issues a new code of typ for u (voiding the older ones) and mails
// it, unless the account's send limits say to wait. Failures are logged, not
// returned: the caller's answer must not depend on them.
func (s *Service) sendCode(ctx context.Context, u store.User, typ store.CodeType, c Client) {
	limits, kind, event := s.verifySendLimits, mailer.Verification, EventVerificationSent
	if typ == store.CodePasswordReset {
		limits, kind, event = s.resetSendLimits, mailer.PasswordReset, EventResetRequested
	}
	if err := count(ctx, limits, u.ID); err != nil {
		if errors.Is(err, ErrRateLimited) {
			s.emit(ctx, EventRateLimited, OutcomeFailure, u.ID, "", c, string(typ)+"_sends")
		} else {
			s.log.WarnContext(ctx, "auth: code send limiter failed", "user_id", u.ID, "error", err)
		}
		return
	}
	err := s.issueAndMail(ctx, u, typ, kind)
	if err != nil {
		s.log.WarnContext(ctx, "auth: sending a code failed", "user_id", u.ID, "code_type", string(typ), "error", err)
		s.emit(ctx, event, OutcomeFailure, u.ID, "", c, "send_failed")
		return
	}
	s.emit(ctx, event, OutcomeSuccess, u.ID, "", c, "")
}

func (s *Service) issueAndMail(ctx context.Context, u store.User, typ store.CodeType, kind mailer.Kind) error {
	code, err := s.newCode()
	if err != nil {
		return err
	}
	id, err := s.newID()
	if err != nil {
		return err
	}
	now := s.now().UTC()
	err = s.store.CreateCode(ctx, store.VerificationCode{
		ID:        id,
		UserID:    u.ID,
		CodeHash:  s.codeDigest(typ, u.ID, code),
		Type:      typ,
		ExpiresAt: now.Add(s.codeTTL),
		CreatedAt: now,
	})
	if err != nil {
		return fmt.Errorf("auth: create code: %w", err)
	}
	return s.mailTo(ctx, u, kind, code)
}

// mailTo renders a template for u and queues it.
func (s *Service) mailTo(ctx context.Context, u store.User, kind mailer.Kind, code string) error {
	msg, err := s.templates.Render(kind, u.Email, mailer.Data{
		AppName:           s.appName,
		Username:          u.Username,
		Code:              code,
		ExpirationMinutes: int(s.codeTTL / time.Minute),
	})
	if err != nil {
		return fmt.Errorf("auth: render %s mail: %w", kind, err)
	}
	return s.mail.Send(ctx, msg)
}

// codeErr maps the store's answer to a code into the service's: every
// wrong, expired, used or exhausted code is [ErrInvalidCode].
func codeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrCodeMismatch), errors.Is(err, store.ErrNotFound):
		return ErrInvalidCode
	case err != nil:
		return storeErr("redeem code", err)
	}
	return nil
}

// findByEmail returns the user with the email, reporting a missing one as
// ok == false rather than as an error.
func (s *Service) findByEmail(ctx context.Context, email string) (u store.User, ok bool, err error) {
	u, err = s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	}
	if err != nil {
		return store.User{}, false, storeErr("find user", err)
	}
	return u, true, nil
}

// VerifyEmail checks an emailed verification code, marks the email verified,
// sends the welcome mail and returns the user. Every wrong, expired, used or
// exhausted code, and an unknown email, is [ErrInvalidCode]; after five wrong
// guesses even the right code fails. It returns [ErrNotEnabled] in Basic mode
// and an *[UnavailableError] when the store cannot be reached.
func (s *Service) VerifyEmail(ctx context.Context, email, code string, c Client) (store.User, error) {
	if s.mode != ModeComplete {
		return store.User{}, ErrNotEnabled
	}
	u, ok, err := s.findByEmail(ctx, email)
	if err != nil {
		return store.User{}, err
	}
	if !ok || !wellFormedCode(code) {
		return store.User{}, ErrInvalidCode
	}
	// One atomic step: the code is spent only if the email is verified.
	verified, err := s.store.VerifyEmailWithCode(ctx, u.ID, s.codeDigest(store.CodeEmailVerification, u.ID, code), s.codeMaxAttempts, s.now().UTC())
	if err := codeErr(err); err != nil {
		if errors.Is(err, ErrInvalidCode) {
			s.emit(ctx, EventEmailVerified, OutcomeFailure, u.ID, "", c, "invalid_code")
		}
		return store.User{}, err
	}
	u = verified
	s.emit(ctx, EventEmailVerified, OutcomeSuccess, u.ID, "", c, "")
	if err := s.mailTo(ctx, u, mailer.Welcome, ""); err != nil {
		s.log.WarnContext(ctx, "auth: sending the welcome mail failed", "user_id", u.ID, "error", err)
	}
	return u, nil
}

// ResendVerification mails a new verification code (voiding the old one) to
// an existing, unverified account, at most once a minute and five times an
// hour. It returns nil whatever the account, so the answer tells nothing
// about which emails are registered: the code is made and queued after the
// method returns, so the answer takes the time of one look-up either way.
// Only an unreachable store (an *[UnavailableError]) or [ErrNotEnabled] in
// Basic mode is an error.
func (s *Service) ResendVerification(ctx context.Context, email string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	u, ok, err := s.findByEmail(ctx, email)
	if err != nil {
		return err
	}
	if ok && !u.IsVerified && u.IsActive {
		s.inBackground(ctx, func(ctx context.Context) { s.sendCode(ctx, u, store.CodeEmailVerification, c) })
	}
	return nil
}

// ForgotPassword mails a password-reset code to an existing, active account,
// at most once a minute and five times an hour. It returns nil whatever the
// account, so the answer tells nothing about which emails are registered:
// the code is made and queued after the method returns, so the answer takes
// the time of one look-up either way. Only an unreachable store (an
// *[UnavailableError]) or [ErrNotEnabled] in Basic mode is an error. A
// throttled login does not stop a reset.
func (s *Service) ForgotPassword(ctx context.Context, email string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	u, ok, err := s.findByEmail(ctx, email)
	if err != nil {
		return err
	}
	if ok && u.IsActive {
		s.inBackground(ctx, func(ctx context.Context) { s.sendCode(ctx, u, store.CodePasswordReset, c) })
	}
	return nil
}

// ResetPassword sets a new password with an emailed reset code. It ends
// every session, makes earlier access tokens fail, voids the other reset
// codes and clears the account's failed-login count; it does not log the
// user in.
//
// It returns a *[ValidationError] for a weak new password (checked first, so
// a weak choice does not spend the code), [ErrInvalidCode] for a wrong,
// expired, used or exhausted code or an unknown email, [ErrNotEnabled] in
// Basic mode, and an *[UnavailableError] when the store or the hasher is
// saturated.
func (s *Service) ResetPassword(ctx context.Context, email, code, newPassword string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	u, ok, err := s.findByEmail(ctx, email)
	if err != nil {
		return err
	}
	words := []string{email}
	if ok {
		words = append(words, u.Username, u.Email)
	}
	if errs := s.checkPassword("new_password", newPassword, words...); len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	if !ok || !wellFormedCode(code) {
		return ErrInvalidCode
	}
	// Hash first, so a saturated hasher cannot spend the code; then spend
	// the code and set the password in one atomic step.
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return hashErr(err)
	}
	err = s.store.ResetPasswordWithCode(ctx, u.ID, s.codeDigest(store.CodePasswordReset, u.ID, code), s.codeMaxAttempts, hash, s.revocationMoment())
	if err := codeErr(err); err != nil {
		if errors.Is(err, ErrInvalidCode) {
			s.emit(ctx, EventPasswordReset, OutcomeFailure, u.ID, "", c, "invalid_code")
		}
		return err
	}
	if err := reset(ctx, s.loginLimits, "user:"+u.ID); err != nil {
		s.log.WarnContext(ctx, "auth: resetting the login limiter failed", "user_id", u.ID, "error", err)
	}
	s.emit(ctx, EventPasswordReset, OutcomeSuccess, u.ID, "", c, "")
	return nil
}

// ChangePassword replaces the signed-in user's password after checking the
// current one. It ends every other session and makes every access token
// issued before now fail, the caller's included; the caller's session stays
// usable: its refresh token still works and yields a fresh access token.
//
// It returns [ErrInvalidPassword] for a wrong current password (counted
// like a failed login, so a stolen access token cannot be used to guess
// it), a *[RateLimitError] after too many, a *[ValidationError] for a weak
// new password, and an *[UnavailableError] when the store or the hasher is
// saturated.
func (s *Service) ChangePassword(ctx context.Context, id Identity, current, newPassword string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	u := id.User
	limitKey := "user:" + u.ID
	if err := limited(ctx, s.loginLimits, limitKey); err != nil {
		return err
	}
	if err := s.hasher.Verify(ctx, current, u.HashedPassword); err != nil {
		if !isMismatch(err) {
			return hashErr(err)
		}
		s.emit(ctx, EventPasswordChanged, OutcomeFailure, u.ID, id.Claims.SessionID, c, "wrong_password")
		if err := count(ctx, s.loginLimits, limitKey); err != nil && !errors.Is(err, ErrRateLimited) {
			return err
		}
		return ErrInvalidPassword
	}
	if errs := s.checkPassword("new_password", newPassword, u.Username, u.Email); len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	if err := s.setPassword(ctx, u, newPassword, id.Claims.SessionID); err != nil {
		return err
	}
	s.emit(ctx, EventPasswordChanged, OutcomeSuccess, u.ID, id.Claims.SessionID, c, "")
	return nil
}

// setPassword hashes pw and stores it, revoking every session but keep and
// every earlier access token in the same step.
func (s *Service) setPassword(ctx context.Context, u store.User, pw, keep string) error {
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return hashErr(err)
	}
	if err := s.store.SetPassword(ctx, u.ID, hash, s.revocationMoment(), keep); err != nil {
		return storeErr("set password", err)
	}
	return nil
}
