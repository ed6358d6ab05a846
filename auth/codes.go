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

// codeDigits is the length of a mailed code; codeSpace is how many codes
// there are (10^codeDigits).
const (
	codeDigits = 6
	codeSpace  = 1_000_000
)

// newCode returns a uniformly random code of codeDigits decimal digits,
// leading zeros kept (rand.Int draws without modulo bias).
func (s *Service) newCode() (string, error) {
	n, err := rand.Int(s.rand, big.NewInt(codeSpace))
	if err != nil {
		return "", fmt.Errorf("auth: reading randomness: %w", err)
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64()), nil
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

// wellFormedCode reports whether code is codeDigits ASCII digits.
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

// noUser is a user id no store holds: the code checks made for an unknown
// email go to the store with it, so that they cost what a real check costs.
const noUser = "00000000-0000-4000-8000-000000000000"

// sendCode issues a new code of typ for u (voiding the older ones) and
// queues its mail, unless the address's send limits say to wait or the
// mail queue has no room. Only a code really queued counts against the
// limits, and the older code is voided only then. The code of a new
// registration (registering) is not held by the cooldown, which an earlier
// registration of the same address may hold, but starts it, and counts
// against the hourly cap. Failures are logged and audited, not returned: the caller's
// answer must not depend on them.
func (s *Service) sendCode(ctx context.Context, u store.User, typ store.CodeType, registering bool, c Client) {
	sends, kind, event := s.verifySends, mailer.Verification, EventVerificationSent
	// Keyed by the address, not the account, so that registering the
	// address again (which replaces a pending account) does not reset it.
	key := digestKey(store.Fold(u.Email))
	switch typ {
	case store.CodePasswordReset:
		sends, kind, event = s.resetSends, mailer.PasswordReset, EventResetRequested
	case store.CodeAccountDeletion:
		// The limits of verification codes, under keys of their own.
		kind, event = mailer.AccountDeletion, EventDeletionCodeSent
		key = digestKey("account-deletion|" + store.Fold(u.Email))
	}
	limits := sends.all
	if registering {
		limits = sends.hourly
	}
	if err := reserve(ctx, limits, key); err != nil {
		if errors.Is(err, ErrRateLimited) {
			s.emit(ctx, EventRateLimited, OutcomeFailure, u.ID, "", c, string(typ)+"_sends")
		} else {
			s.log.WarnContext(ctx, "auth: code send limiter failed", "user_id", u.ID, "error", err)
		}
		return
	}
	slot, err := s.mail.Reserve(u.Email)
	if err != nil {
		s.refund(ctx, limits, key)
		s.log.WarnContext(ctx, "auth: no room to queue a code mail", "user_id", u.ID, "code_type", string(typ), "error", err)
		s.emit(ctx, EventMailDropped, OutcomeFailure, u.ID, "", c, string(kind))
		return
	}
	if err := s.issueAndMail(ctx, u, typ, kind, slot); err != nil {
		slot.Cancel()
		s.refund(ctx, limits, key)
		s.log.WarnContext(ctx, "auth: sending a code failed", "user_id", u.ID, "code_type", string(typ), "error", err)
		s.emit(ctx, event, OutcomeFailure, u.ID, "", c, "send_failed")
		return
	}
	if registering {
		// The registration's code starts the cooldown like any other, so
		// a resend right after it waits.
		for _, l := range sends.cooldown {
			_, _ = l.Allow(ctx, key)
		}
	}
	s.emit(ctx, event, OutcomeSuccess, u.ID, "", c, "")
}

// issueAndMail makes a code, renders its mail, stores the code (voiding the
// older ones) and sends the mail through the reserved slot.
func (s *Service) issueAndMail(ctx context.Context, u store.User, typ store.CodeType, kind mailer.Kind, slot *mailer.Reservation) error {
	code, err := s.newCode()
	if err != nil {
		return err
	}
	id, err := s.newID()
	if err != nil {
		return err
	}
	msg, err := s.render(u, kind, code)
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
	return slot.Send(ctx, msg)
}

// render renders the mail of kind for u.
func (s *Service) render(u store.User, kind mailer.Kind, code string) (mailer.Message, error) {
	msg, err := s.templates.Render(kind, u.Email, mailer.Data{
		AppName:           s.appName,
		Username:          u.Username,
		Code:              code,
		ExpirationMinutes: int(s.codeTTL / time.Minute),
	})
	if err != nil {
		return mailer.Message{}, fmt.Errorf("auth: render %s mail: %w", kind, err)
	}
	return msg, nil
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
	u, err = s.store.UserByEmail(ctx, normalize(email))
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	}
	if err != nil {
		return store.User{}, false, storeErr("find user", err)
	}
	return u, true, nil
}

// spendGuess settles the guess counted by s.guess once the code was
// checked: a wrong code (err is ErrInvalidCode) keeps it counted, anything
// else (a right code, a store that failed) gives it back. It returns err.
func (s *Service) spendGuess(ctx context.Context, err error, c Client) error {
	if !errors.Is(err, ErrInvalidCode) {
		s.refund(ctx, s.codeGuessLimits, c.network())
	}
	return err
}

// guess counts one code guess from c's network before the code is checked
// (reserve); the caller gives it back (s.refund) when the code is right.
func (s *Service) guess(ctx context.Context, c Client) error {
	return reserve(ctx, s.codeGuessLimits, c.network())
}

// VerifyEmail checks an emailed verification code, marks the email verified,
// sends the welcome mail (unless Config.NoWelcomeMail) and returns the user
// without the password hash.
//
// Every wrong, expired, used or exhausted code, and an unknown email, is
// [ErrInvalidCode], after the same work (a store round trip) either way;
// after Config.CodeMaxAttempts wrong guesses even the right code fails.
// Wrong guesses are also limited per client network over every account
// (Config.CodeGuessesPerNetwork): past that a *[RateLimitError]. It returns [ErrNotEnabled]
// in Basic mode and an *[UnavailableError] when the store cannot be
// reached.
func (s *Service) VerifyEmail(ctx context.Context, email, code string, c Client) (store.User, error) {
	if s.mode != ModeComplete {
		return store.User{}, ErrNotEnabled
	}
	u, ok, err := s.findByEmail(ctx, email)
	if err != nil {
		return store.User{}, err
	}
	if err := s.guess(ctx, c); err != nil {
		return store.User{}, err
	}
	if !ok || !wellFormedCode(code) {
		// The same round trip as a real check, so the answer's time does
		// not tell whether the email is registered.
		_ = s.store.CheckCode(ctx, noUser, store.CodeEmailVerification, s.codeDigest(store.CodeEmailVerification, noUser, code), s.codeMaxAttempts, s.now().UTC())
		return store.User{}, ErrInvalidCode
	}
	// One atomic step: the code is spent only if the email is verified.
	verified, err := s.store.VerifyEmailWithCode(ctx, u.ID, s.codeDigest(store.CodeEmailVerification, u.ID, code), s.codeMaxAttempts, s.now().UTC())
	if err := s.spendGuess(ctx, codeErr(err), c); err != nil {
		if errors.Is(err, ErrInvalidCode) {
			s.emit(ctx, EventEmailVerified, OutcomeFailure, u.ID, "", c, "invalid_code")
		}
		return store.User{}, err
	}
	u = verified
	s.emit(ctx, EventEmailVerified, OutcomeSuccess, u.ID, "", c, "")
	if s.welcomeMail {
		if msg, err := s.render(u, mailer.Welcome, ""); err != nil {
			s.log.WarnContext(ctx, "auth: rendering the welcome mail failed", "user_id", u.ID, "error", err)
		} else if err := s.mail.Send(ctx, msg); err != nil {
			s.log.WarnContext(ctx, "auth: queueing the welcome mail failed", "user_id", u.ID, "error", err)
		}
	}
	return public(u), nil
}

// ResendVerification mails a new verification code (voiding the old one) to
// an existing, unverified account, at most once per Config.CodeResendCooldown
// and Config.CodeSendsPerHour times an hour per address. It returns nil
// whatever the account, so the answer tells nothing about which emails are
// registered: the code is made and queued after the method returns, and
// the same background task is started for an unknown address, so the
// answer takes the same time either way. Only an unreachable store (an
// *[UnavailableError]) or [ErrNotEnabled] in Basic mode is an error.
func (s *Service) ResendVerification(ctx context.Context, email string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	u, ok, err := s.findByEmail(ctx, email)
	if err != nil {
		return err
	}
	send := ok && !u.IsVerified && u.IsActive
	s.inBackground(ctx, func(ctx context.Context) {
		if send {
			s.sendCode(ctx, u, store.CodeEmailVerification, false, c)
		}
	})
	return nil
}

// ForgotPassword mails a password-reset code to an existing, active account,
// at most once per Config.CodeResendCooldown and Config.CodeSendsPerHour
// times an hour per address. It returns nil whatever the account, so the
// answer tells nothing about which emails are registered: the code is made
// and queued after the method returns, and the same background task is
// started for an unknown address. Only an unreachable store (an
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
	send := ok && u.IsActive
	s.inBackground(ctx, func(ctx context.Context) {
		if send {
			s.sendCode(ctx, u, store.CodePasswordReset, false, c)
		}
	})
	return nil
}

// ResetPassword sets a new password with an emailed reset code. It ends
// every session, makes earlier access tokens fail, voids the other reset
// codes and clears the account's failed-login count; it does not log the
// user in.
//
// A registered and an unknown email cost the same work (a password hash
// and a store round trip), so neither the answer nor its time tells them
// apart. The new password is checked in two steps: first by the rules that
// need no account (a *[ValidationError] before the code is looked at), then,
// only once the code is known to be right, against the account's username
// and email (a *[ValidationError] that leaves the code unspent), so that a
// "contains user info" answer cannot confirm whose email it is.
//
// It returns [ErrInvalidCode] for a wrong, expired, used or exhausted code
// or an unknown email, a *[RateLimitError] after too many wrong codes from
// the client's network, [ErrNotEnabled] in Basic mode, and an
// *[UnavailableError] when the store or the hasher is saturated.
func (s *Service) ResetPassword(ctx context.Context, email, code, newPassword string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	email = normalize(email)
	if errs := s.checkPassword("new_password", newPassword, email); len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	u, ok, err := s.findByEmail(ctx, email)
	if err != nil {
		return err
	}
	if err := s.guess(ctx, c); err != nil {
		return err
	}
	// Hash first, in both paths: the work is the same whether the email
	// is registered, and a saturated hasher cannot spend the code.
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		s.refund(ctx, s.codeGuessLimits, c.network())
		return hashErr(err)
	}
	userID := u.ID
	if !ok || !wellFormedCode(code) {
		userID = noUser
	}
	digest := s.codeDigest(store.CodePasswordReset, userID, code)
	at := s.revocationMoment()
	if errs := s.checkPassword("new_password", newPassword, u.Username, u.Email); ok && len(errs) > 0 {
		// Tell about the account's own words only to whoever holds its
		// code; the code stays unspent for a better password.
		if err := s.spendGuess(ctx, codeErr(s.store.CheckCode(ctx, userID, store.CodePasswordReset, digest, s.codeMaxAttempts, at)), c); err != nil {
			return err
		}
		return &ValidationError{Errors: errs}
	}
	if userID == noUser {
		_ = s.store.CheckCode(ctx, userID, store.CodePasswordReset, digest, s.codeMaxAttempts, at)
		return ErrInvalidCode
	}
	// Spend the code and set the password in one atomic step.
	err = s.store.ResetPasswordWithCode(ctx, u.ID, digest, s.codeMaxAttempts, hash, at)
	if err := s.spendGuess(ctx, codeErr(err), c); err != nil {
		if errors.Is(err, ErrInvalidCode) {
			s.emit(ctx, EventPasswordReset, OutcomeFailure, u.ID, "", c, "invalid_code")
		}
		return err
	}
	// The owner proved the address: forget the failures counted against
	// the account from everywhere, and against its password.
	s.forgive(ctx, s.loginAccountLimits, digestKey(store.Fold(u.Username)))
	s.forgive(ctx, s.loginAccountLimits, digestKey(store.Fold(u.Email)))
	s.forgive(ctx, s.passwordLimits, u.ID)
	s.emit(ctx, EventPasswordReset, OutcomeSuccess, u.ID, "", c, "")
	s.notify(ctx, u, NoticePasswordChanged, mailer.Notice{})
	return nil
}

// ChangePassword replaces the signed-in user's password after checking the
// current one. It ends every other session and makes every access token
// issued before now fail, the caller's included; the caller's session stays
// usable: its refresh token still works and yields a fresh access token.
//
// It returns [ErrInvalidPassword] for a wrong current password, and also
// when the password was reset or changed by another request while this one
// was checking it (the other change wins). Wrong current passwords are
// limited per user like failed logins (Config.LoginMaxFailures in 15
// minutes and Config.LoginFailuresPerHour), each counted before the check,
// so a stolen access token cannot be used to guess it: past the limit a
// *[RateLimitError]. It returns a *[ValidationError] for a weak new
// password, [ErrInvalidToken] when the user is gone, [ErrNotEnabled] in
// Basic mode, and an *[UnavailableError] when the store or the hasher is
// saturated.
func (s *Service) ChangePassword(ctx context.Context, id Identity, current, newPassword string, c Client) error {
	if s.mode != ModeComplete {
		return ErrNotEnabled
	}
	// The hash is read fresh: Identity carries none.
	u, err := s.checkCurrentPassword(ctx, id, current, c, EventPasswordChanged)
	if err != nil {
		return err
	}
	if errs := s.checkPassword("new_password", newPassword, u.Username, u.Email); len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return hashErr(err)
	}
	// Set only if the hash is still the one verified above, so a reset
	// that won the race is never overwritten and the caller's session,
	// which that reset ended, is not kept.
	err = s.store.SetPassword(ctx, u.ID, u.HashedPassword, hash, s.revocationMoment(), id.Claims.SessionID)
	switch {
	case errors.Is(err, store.ErrStale):
		s.emit(ctx, EventPasswordChanged, OutcomeFailure, u.ID, id.Claims.SessionID, c, "password_changed")
		return ErrInvalidPassword
	case errors.Is(err, store.ErrNotFound):
		return ErrInvalidToken
	case err != nil:
		return storeErr("set password", err)
	}
	s.emit(ctx, EventPasswordChanged, OutcomeSuccess, u.ID, id.Claims.SessionID, c, "")
	s.notify(ctx, u, NoticePasswordChanged, mailer.Notice{})
	return nil
}

// checkCurrentPassword loads the signed-in user and checks their current
// password under the change-password limits (counted before the hash,
// given back when it is right); a wrong one is audited as a failure of
// kind. It returns ErrInvalidToken when the user is gone,
// ErrInvalidPassword for a wrong password, and [ErrNoPassword] for an
// account without one.
// Every flow that asks for the current password goes through it.
func (s *Service) checkCurrentPassword(ctx context.Context, id Identity, pw string, c Client, kind EventKind) (store.User, error) {
	u, err := s.store.UserByID(ctx, id.Claims.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, ErrInvalidToken
	case err != nil:
		return store.User{}, storeErr("find user", err)
	}
	if u.HashedPassword == "" {
		// Nothing to check, and nothing to hide from the account's own
		// session: it signs in with passkeys or providers only.
		s.emit(ctx, kind, OutcomeFailure, u.ID, id.Claims.SessionID, c, "no_password")
		return store.User{}, ErrNoPassword
	}
	if err := reserve(ctx, s.passwordLimits, u.ID); err != nil {
		return store.User{}, err
	}
	err = s.hasher.Verify(ctx, pw, u.HashedPassword)
	if err != nil {
		if !isMismatch(err) {
			s.refund(ctx, s.passwordLimits, u.ID)
			return store.User{}, hashErr(err)
		}
		s.emit(ctx, kind, OutcomeFailure, u.ID, id.Claims.SessionID, c, "wrong_password")
		return store.User{}, ErrInvalidPassword
	}
	s.refund(ctx, s.passwordLimits, u.ID)
	return u, nil
}

// DeleteExpired removes what has expired from a store that implements
// store.Cleaner: refresh tokens, codes and tickets past their expiry, and
// accounts whose email was not verified within Config.UnverifiedAccountTTL
// (Complete mode). It returns how many records went, and 0 with no error
// for a store that cannot clean. Call it from time to time (the example
// server does, hourly).
func (s *Service) DeleteExpired(ctx context.Context) (int64, error) {
	c, ok := s.store.(store.Cleaner)
	if !ok {
		return 0, nil
	}
	now := s.now().UTC()
	var unverifiedBefore time.Time
	if s.mode == ModeComplete && s.unverifiedTTL > 0 {
		unverifiedBefore = now.Add(-s.unverifiedTTL)
	}
	n, err := c.DeleteExpired(ctx, now, unverifiedBefore)
	if err != nil {
		return n, storeErr("delete expired", err)
	}
	return n, nil
}
