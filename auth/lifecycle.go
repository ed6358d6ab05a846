package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/store"
)

// LifecycleConfig configures the account lifecycle. Its zero value turns
// every part off except the notices, which are on wherever a mailer is.
type LifecycleConfig struct {
	// AccountChanges turns on [Service.ChangeEmail],
	// [Service.ConfirmEmailChange] (Complete mode) and
	// [Service.DeleteAccount]. The email change needs a store that
	// implements [store.EmailChanges]; New names it when it is missing.
	AccountChanges bool

	// Admin turns on the administration flows (admin.go). The store must
	// implement [store.Admin]; New names it when it is missing.
	Admin bool

	// UniformRegistration makes [Service.Register] answer alike for a new
	// address and one that already has an account (Complete mode): see
	// Register.
	UniformRegistration bool

	// NoticesOff lists the notices not to send. All are sent by default.
	NoticesOff []NoticeKind
}

// The conditions of the lifecycle and administration flows.
var (
	// ErrForbidden: an administration flow called by a user who is not an
	// active superuser.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrLastSuperuser: the change would leave no active superuser.
	ErrLastSuperuser = errors.New("auth: the last active superuser cannot be removed")
	// ErrHasPassword: the account has a password, which is what confirms
	// its deletion; a deletion code is for accounts without one.
	ErrHasPassword = errors.New("auth: the account has a password")
	// ErrInvalidCursor: a page cursor that this service did not hand out
	// for this query (tampered, foreign, or of another search).
	ErrInvalidCursor = errors.New("auth: invalid cursor")
)

// The audit events of the lifecycle and administration flows. Admin
// events carry the acting admin in Event.ActorID.
const (
	EventEmailChangeRequested EventKind = "email_change_requested"
	EventEmailChanged         EventKind = "email_changed"
	EventAccountDeleted       EventKind = "account_deleted"
	EventDeletionCodeSent     EventKind = "deletion_code_sent"
	EventSignupAttempt        EventKind = "signup_attempt" // uniform registration of a taken address
	EventAdminUserUpdated     EventKind = "admin_user_updated"
	EventAdminLoggedOutAll    EventKind = "admin_logged_out_all"
	EventAdminUserDeleted     EventKind = "admin_user_deleted"
)

// lifecycle is the state of the lifecycle flows in a Service.
type lifecycle struct {
	accountChanges bool
	admin          store.Admin        // nil when administration is off
	emails         store.EmailChanges // nil when the email change is off
	uniform        bool
	noticesOff     map[NoticeKind]bool
	cursorKey      []byte
	changeSends    sendLimits
}

func (s *Service) initLifecycle(cfg Config) error {
	lc := cfg.Lifecycle
	s.life.accountChanges = lc.AccountChanges
	s.life.uniform = lc.UniformRegistration
	if lc.UniformRegistration && s.mode != ModeComplete {
		return errors.New("auth: Config.Lifecycle.UniformRegistration needs complete mode (it mails the address)")
	}
	if lc.AccountChanges && s.mode == ModeComplete {
		ec, ok := s.store.(store.EmailChanges)
		if !ok {
			return errors.New("auth: Config.Lifecycle.AccountChanges needs a store that implements store.EmailChanges")
		}
		s.life.emails = ec
	}
	if lc.Admin {
		a, ok := s.store.(store.Admin)
		if !ok {
			return errors.New("auth: Config.Lifecycle.Admin needs a store that implements store.Admin")
		}
		s.life.admin = a
	}
	s.life.noticesOff = make(map[NoticeKind]bool, len(lc.NoticesOff))
	for _, k := range lc.NoticesOff {
		if !k.valid() {
			return fmt.Errorf("auth: Config.Lifecycle.NoticesOff: unknown notice %q", k)
		}
		s.life.noticesOff[k] = true
	}
	key := s.codeKey
	if key == nil {
		key = make([]byte, 32)
		if _, err := s.rand.Read(key); err != nil {
			return fmt.Errorf("auth: reading randomness: %w", err)
		}
	}
	s.life.cursorKey = derive(key, "forgeauth admin cursor key v1")
	if s.life.emails != nil {
		cooldown, _ := optional(cfg.CodeResendCooldown, defaultCodeResendCooldown)
		perHour, _ := optional(cfg.CodeSendsPerHour, defaultCodeSendsPerHour)
		newLimiter := cfg.NewLimiter
		if newLimiter == nil {
			newLimiter = func(_ string, rule ratelimit.Rule) (ratelimit.Limiter, error) {
				return ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: rule, Now: s.now})
			}
		}
		for _, r := range []struct {
			dst   *[]ratelimit.Limiter
			name  string
			limit int
			rule  ratelimit.Rule
		}{
			{&s.life.changeSends.hourly, "email-change-sends-hourly", perHour, ratelimit.Rule{Limit: perHour, Window: time.Hour}},
			{&s.life.changeSends.cooldown, "email-change-sends-cooldown", 1, ratelimit.Rule{Limit: 1, Window: cooldown}},
		} {
			if r.limit <= 0 || r.rule.Window <= 0 {
				continue
			}
			l, err := newLimiter(r.name, r.rule)
			if err != nil {
				return fmt.Errorf("auth: limiter %s: %w", r.name, err)
			}
			*r.dst = append(*r.dst, l)
		}
		s.life.changeSends.all = append(append([]ratelimit.Limiter{}, s.life.changeSends.cooldown...), s.life.changeSends.hourly...)
	}
	return nil
}

// lifecycle reads the lifecycle variables of ConfigFromEnv.
func (e *env) lifecycle(lc *LifecycleConfig) {
	if v, ok := e.boolean("AUTH_REGISTER_UNIFORM"); ok {
		lc.UniformRegistration = v
	}
	if v, ok := e.boolean("AUTH_ACCOUNT_CHANGES"); ok {
		lc.AccountChanges = v
	}
	if v, ok := e.boolean("AUTH_ADMIN"); ok {
		lc.Admin = v
	}
	if v := e.str("AUTH_NOTICES_OFF"); v != "" {
		kinds, err := ParseNoticeKinds(v)
		if err != nil {
			e.fail("AUTH_NOTICES_OFF", err.Error())
			return
		}
		lc.NoticesOff = kinds
	}
}

// UniformRegistration reports whether [Service.Register] answers alike
// for new and taken addresses (Config.Lifecycle.UniformRegistration).
func (s *Service) UniformRegistration() bool { return s.life.uniform }

// AccountChangesEnabled reports whether the change of email (Complete
// mode) and the deletion of one's account are on.
func (s *Service) AccountChangesEnabled() bool { return s.life.accountChanges }

// AdminEnabled reports whether the administration flows are on.
func (s *Service) AdminEnabled() bool { return s.life.admin != nil }

// emailChangeDigest binds a code to its user and to the new address.
func (s *Service) emailChangeDigest(userID, newEmail, code string) string {
	return s.codeDigest(store.CodeEmailChange, userID+"\x00"+store.Fold(newEmail), code)
}

// ChangeEmail starts a change of the signed-in user's email: after
// checking the current password, it mails a code to newEmail, bound to
// that address (voiding any earlier one); [Service.ConfirmEmailChange]
// then makes the change. The current address keeps working until then.
//
// The mail is sent like every code: at most once per
// Config.CodeResendCooldown and Config.CodeSendsPerHour times an hour per
// new address, through the asynchronous mailer; a mail that cannot be
// queued or sent is logged, never returned, so the answer is the same and
// the code can be asked for again after the cooldown.
//
// It returns [ErrInvalidPassword] for a wrong current password (limited
// like change-password: past the limit a *[RateLimitError]), a
// *[ValidationError] (field "new_email") for an invalid address or the
// current one, an *[ExistsError] when another account holds newEmail,
// [ErrInvalidToken] when the user is gone, [ErrNotEnabled] unless
// Config.Lifecycle.AccountChanges is on in Complete mode, and an
// *[UnavailableError] when the store or the hasher is saturated.
func (s *Service) ChangeEmail(ctx context.Context, id Identity, current, newEmail string, c Client) error {
	if s.life.emails == nil {
		return ErrNotEnabled
	}
	newEmail = normalize(newEmail)
	if errs := checkEmail(newEmail); len(errs) > 0 {
		for i := range errs {
			errs[i].Field = "new_email"
		}
		return &ValidationError{Errors: errs}
	}
	u, err := s.checkCurrentPassword(ctx, id, current, c, EventEmailChangeRequested)
	if err != nil {
		return err
	}
	if store.Fold(newEmail) == store.Fold(u.Email) {
		return &ValidationError{Errors: []FieldError{{Field: "new_email", Code: "email_unchanged", Message: "The new email is the current one."}}}
	}
	if other, taken, err := s.findByEmail(ctx, newEmail); err != nil {
		return err
	} else if taken && other.ID != u.ID {
		return &ExistsError{Field: store.FieldEmail}
	}
	s.sendEmailChangeCode(ctx, u, newEmail, c)
	return nil
}

// sendEmailChangeCode is sendCode for an email change: the code goes to
// newEmail only.
func (s *Service) sendEmailChangeCode(ctx context.Context, u store.User, newEmail string, c Client) {
	key := digestKey("email-change|" + store.Fold(newEmail))
	limits := s.life.changeSends.all
	if err := reserve(ctx, limits, key); err != nil {
		if errors.Is(err, ErrRateLimited) {
			s.emit(ctx, EventRateLimited, OutcomeFailure, u.ID, "", c, "email_change_sends")
		} else {
			s.log.WarnContext(ctx, "auth: code send limiter failed", "user_id", u.ID, "error", err)
		}
		return
	}
	fail := func(reason string, err error) {
		s.refund(ctx, limits, key)
		s.log.WarnContext(ctx, "auth: sending an email change code failed", "user_id", u.ID, "error", err)
		s.emit(ctx, EventEmailChangeRequested, OutcomeFailure, u.ID, "", c, reason)
	}
	slot, err := s.mail.Reserve(newEmail)
	if err != nil {
		fail("mail_dropped", err)
		return
	}
	code, err := s.newCode()
	if err == nil {
		var codeID string
		if codeID, err = s.newID(); err == nil {
			var msg mailer.Message
			to := u
			to.Email = newEmail
			if msg, err = s.render(to, mailer.EmailChange, code); err == nil {
				now := s.now().UTC()
				err = s.life.emails.CreateEmailChangeCode(ctx, store.VerificationCode{
					ID:        codeID,
					UserID:    u.ID,
					CodeHash:  s.emailChangeDigest(u.ID, newEmail, code),
					Type:      store.CodeEmailChange,
					ExpiresAt: now.Add(s.codeTTL),
					CreatedAt: now,
				}, newEmail)
				if err == nil {
					err = slot.Send(ctx, msg)
				}
			}
		}
	}
	if err != nil {
		slot.Cancel()
		fail("send_failed", err)
		return
	}
	s.emit(ctx, EventEmailChangeRequested, OutcomeSuccess, u.ID, "", c, "")
}

// ConfirmEmailChange spends the code that [Service.ChangeEmail] mailed and
// sets the user's email to the address it was mailed to, and returns the
// user (without the hash). From then on the old address neither logs in
// nor receives resets; it gets a notice of the change (unless turned off).
//
// It returns [ErrInvalidCode] for a wrong, expired, used or exhausted code
// (wrong codes are also limited per client network, as for verification:
// past that a *[RateLimitError]), an *[ExistsError] when another account
// took the address since the code was sent (the code stays usable),
// [ErrInvalidToken] when the user is gone, [ErrNotEnabled] when the email
// change is off, and an *[UnavailableError] when the store cannot be
// reached.
func (s *Service) ConfirmEmailChange(ctx context.Context, id Identity, code string, c Client) (store.User, error) {
	if s.life.emails == nil {
		return store.User{}, ErrNotEnabled
	}
	old, err := s.store.UserByID(ctx, id.Claims.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, ErrInvalidToken
	case err != nil:
		return store.User{}, storeErr("find user", err)
	}
	if err := s.guess(ctx, c); err != nil {
		return store.User{}, err
	}
	now := s.now().UTC()
	pending, err := s.life.emails.PendingEmail(ctx, old.ID, s.codeMaxAttempts, now)
	if err == nil && !wellFormedCode(code) {
		err = store.ErrCodeMismatch
	}
	if err != nil {
		return store.User{}, s.spendGuess(ctx, codeErr(err), c)
	}
	u, err := s.life.emails.ChangeEmailWithCode(ctx, old.ID, s.emailChangeDigest(old.ID, pending, code), s.codeMaxAttempts, now)
	var conflict *store.ConflictError
	if errors.As(err, &conflict) {
		s.refund(ctx, s.codeGuessLimits, c.network())
		s.emit(ctx, EventEmailChanged, OutcomeFailure, old.ID, id.Claims.SessionID, c, "email_taken")
		return store.User{}, &ExistsError{Field: store.FieldEmail}
	}
	if err := s.spendGuess(ctx, codeErr(err), c); err != nil {
		if errors.Is(err, ErrInvalidCode) {
			s.emit(ctx, EventEmailChanged, OutcomeFailure, old.ID, id.Claims.SessionID, c, "invalid_code")
		}
		return store.User{}, err
	}
	s.emit(ctx, EventEmailChanged, OutcomeSuccess, u.ID, id.Claims.SessionID, c, "")
	s.notify(ctx, old, NoticeEmailChanged, mailer.Notice{NewEmail: maskEmail(u.Email)})
	return public(u), nil
}

// maskEmail shows the first character of the local part and the domain.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	r := []rune(local)
	return string(r[0]) + "***@" + domain
}

// DeleteAccount deletes the signed-in user after checking their current
// password: the user and every record of theirs (sessions, codes, and the
// records of the store's capabilities) go in one atomic step, their access
// tokens fail at once because the user is gone, and their username and
// email can be registered again.
//
// It returns [ErrInvalidPassword] for a wrong current password (limited
// like change-password), [ErrLastSuperuser] when the user is the only
// active superuser and the store implements [store.Admin],
// [ErrInvalidToken] when the user is gone, [ErrNotEnabled] unless
// Config.Lifecycle.AccountChanges is on, and an *[UnavailableError] when
// the store or the hasher is saturated.
func (s *Service) DeleteAccount(ctx context.Context, id Identity, current string, c Client) error {
	if !s.life.accountChanges {
		return ErrNotEnabled
	}
	u, err := s.checkCurrentPassword(ctx, id, current, c, EventAccountDeleted)
	if err != nil {
		return err
	}
	return s.removeAccount(ctx, u, id, c)
}

// RequestDeletionCode mails the signed-in user a code that confirms the
// deletion of their account with [Service.DeleteAccountWithCode]: the proof
// for an account without a password (passkeys or providers only), where
// DeleteAccount has none to check. The code is a verification code of its
// own type (valid Config.CodeTTL, 5 wrong guesses), mailed under the
// limits of verification codes.
//
// It returns [ErrHasPassword] for an account with a password,
// [ErrInvalidToken] when the user is gone, and [ErrNotEnabled] unless
// Config.Lifecycle.AccountChanges is on in Complete mode.
func (s *Service) RequestDeletionCode(ctx context.Context, id Identity, c Client) error {
	if !s.life.accountChanges || s.mode != ModeComplete || s.mail == nil {
		return ErrNotEnabled
	}
	u, err := s.passwordlessUser(ctx, id)
	if err != nil {
		return err
	}
	s.sendCode(ctx, u, store.CodeAccountDeletion, false, c)
	return nil
}

// passwordlessUser returns the signed-in user, who must have no password:
// [ErrHasPassword] otherwise, [ErrInvalidToken] when they are gone.
func (s *Service) passwordlessUser(ctx context.Context, id Identity) (store.User, error) {
	u, err := s.store.UserByID(ctx, id.Claims.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, ErrInvalidToken
	case err != nil:
		return store.User{}, storeErr("find user", err)
	case u.HashedPassword != "":
		return store.User{}, ErrHasPassword
	}
	return u, nil
}

// DeleteAccountWithCode deletes the signed-in user, as DeleteAccount does,
// after checking the code [Service.RequestDeletionCode] mailed them. A
// wrong code counts one of the code's attempts and is [ErrInvalidCode], as
// is an expired, used or exhausted one; an account that has a password is
// [ErrHasPassword] (it confirms with the password).
func (s *Service) DeleteAccountWithCode(ctx context.Context, id Identity, code string, c Client) error {
	if !s.life.accountChanges {
		return ErrNotEnabled
	}
	u, err := s.passwordlessUser(ctx, id)
	if err != nil {
		return err
	}
	if !wellFormedCode(code) {
		return ErrInvalidCode
	}
	err = s.store.CheckCode(ctx, u.ID, store.CodeAccountDeletion, s.codeDigest(store.CodeAccountDeletion, u.ID, code), s.codeMaxAttempts, s.now().UTC())
	if err := codeErr(err); err != nil {
		if errors.Is(err, ErrInvalidCode) {
			s.emit(ctx, EventAccountDeleted, OutcomeFailure, u.ID, id.Claims.SessionID, c, "invalid_code")
		}
		return err
	}
	return s.removeAccount(ctx, u, id, c)
}

// removeAccount deletes u and every record of theirs in one step.
func (s *Service) removeAccount(ctx context.Context, u store.User, id Identity, c Client) error {
	var err error
	if a, ok := s.store.(store.Admin); ok {
		err = a.RemoveUser(ctx, u.ID)
	} else {
		err = s.store.DeleteUser(ctx, u.ID)
	}
	switch {
	case errors.Is(err, store.ErrLastSuperuser):
		s.emit(ctx, EventAccountDeleted, OutcomeFailure, u.ID, id.Claims.SessionID, c, "last_superuser")
		return ErrLastSuperuser
	case errors.Is(err, store.ErrNotFound):
		return ErrInvalidToken
	case err != nil:
		return storeErr("delete user", err)
	}
	s.emit(ctx, EventAccountDeleted, OutcomeSuccess, u.ID, id.Claims.SessionID, c, "")
	return nil
}
