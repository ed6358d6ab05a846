package auth

import (
	"context"
	"errors"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
)

// Register creates an account and returns it (without the password hash).
// In Basic mode the user is active and may log in at once. In Complete mode
// the user must verify the email first: a code is emailed (asynchronously;
// a mail failure is logged, not returned).
//
// Username and email are trimmed and normalised to Unicode NFC, and
// compared case-insensitively. A username is 3 to 32 ASCII letters, digits,
// "_", "." or "-". An email is a plain address: at most 254 bytes, a local
// part of at most 64 bytes without quotes, comments, "%" or "!", a domain
// name (no IP literal), and no control, zero-width or bidi characters in
// either part.
//
// When email verification is required (Complete mode, the default), a
// registration for an address whose account was never verified replaces
// that pending account with everything of it: whoever registered the
// address first never keeps a password in an account its owner verifies
// (pre-account takeover). Codes mailed for the replaced registration die
// with it.
//
// With Config.Lifecycle.UniformRegistration (Complete mode), an address
// that already has a verified account is no error: Register returns the
// zero User and nil, and mails the address's owner a notice that someone
// tried to sign up with it, so that the answer, which the adapter makes
// the same for both (202), tells nothing about which addresses have
// accounts. Both paths hash the password and mail after the answer. A
// taken username is still an *[ExistsError]: usernames are public.
//
// It returns a *[ValidationError] listing every failed rule of the
// username, the email and the password, an *[ExistsError] when the username
// or a verified email is taken, and an *[UnavailableError] when the store
// or the hasher is saturated.
func (s *Service) Register(ctx context.Context, username, email, pw string, c Client) (store.User, error) {
	username, email = normalize(username), normalize(email)
	var verr ValidationError
	verr.Errors = append(verr.Errors, checkUsername(username)...)
	verr.Errors = append(verr.Errors, checkEmail(email)...)
	verr.Errors = append(verr.Errors, s.checkPassword("password", pw, username, email)...)
	if len(verr.Errors) > 0 {
		return store.User{}, &verr
	}

	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return store.User{}, hashErr(err)
	}
	id, err := s.newID()
	if err != nil {
		return store.User{}, err
	}
	now := s.now().UTC()
	u := store.User{
		ID:             id,
		Username:       username,
		Email:          email,
		HashedPassword: hash,
		IsActive:       true,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	create := s.store.CreateUser
	if s.mode == ModeComplete && s.requireVerified {
		create = s.store.ReplaceUnverifiedUser
	}
	if err := create(ctx, u); err != nil {
		return s.createFailed(ctx, u, err, c)
	}
	s.registered(ctx, u, c)
	return public(u), nil
}

// checkPassword runs the policy with the user's identity as words the
// password must not contain.
// createFailed answers a sign-up whose user could not be created: a taken
// username or email is an *ExistsError, except a taken email under uniform
// registration, which answers as a success and tells the owner.
func (s *Service) createFailed(ctx context.Context, u store.User, err error, c Client) (store.User, error) {
	var conflict *store.ConflictError
	if errors.As(err, &conflict) && conflict.Field == store.FieldEmail && s.life.uniform {
		return s.registerTaken(ctx, u, c)
	}
	if errors.As(err, &conflict) && (conflict.Field == store.FieldUsername || conflict.Field == store.FieldEmail) {
		return store.User{}, &ExistsError{Field: conflict.Field}
	}
	return store.User{}, storeErr("create user", err)
}

// registered finishes a sign-up whose user was created: the audit event
// and, in Complete mode, the verification code.
func (s *Service) registered(ctx context.Context, u store.User, c Client) {
	s.emit(ctx, EventRegistered, OutcomeSuccess, u.ID, "", c, "")
	if s.mode != ModeComplete {
		return
	}
	if s.life.uniform {
		s.inBackground(ctx, func(ctx context.Context) { s.sendCode(ctx, u, store.CodeEmailVerification, true, c) })
	} else {
		s.sendCode(ctx, u, store.CodeEmailVerification, true, c)
	}
}

func (s *Service) checkPassword(field, pw string, context ...string) []FieldError {
	err := s.policy.Check(pw, context...)
	if err == nil {
		return nil
	}
	var verr *password.ValidationError
	if !errors.As(err, &verr) {
		return []FieldError{{Field: field, Code: "password_invalid", Message: "Password is not acceptable."}}
	}
	out := make([]FieldError, len(verr.Violations))
	for i, v := range verr.Violations {
		out[i] = FieldError{Field: field, Code: string(v.Rule), Message: v.Message}
	}
	return out
}

// registerTaken answers a uniform registration of an address that has an
// account: a taken username is still an ExistsError (whatever the
// address), otherwise the owner is told after the answer.
func (s *Service) registerTaken(ctx context.Context, u store.User, c Client) (store.User, error) {
	_, err := s.store.UserByUsername(ctx, u.Username)
	switch {
	case err == nil:
		// Whoever holds it, even the address's owner: 409 for any taken
		// username, so the answer never pairs a username with an email.
		return store.User{}, &ExistsError{Field: store.FieldUsername}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.User{}, storeErr("find user", err)
	}
	s.inBackground(ctx, func(ctx context.Context) {
		owner, ok, err := s.findByEmail(ctx, u.Email)
		if err != nil || !ok {
			return
		}
		s.emit(ctx, EventSignupAttempt, OutcomeSuccess, owner.ID, "", c, "")
		s.notify(ctx, owner, NoticeSignupAttempt, mailer.Notice{})
	})
	return store.User{}, nil
}
