package auth

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
)

// Limits of the identity fields.
const (
	usernameMinLen = 3
	usernameMaxLen = 32
	emailMaxLen    = 254 // RFC 5321
)

// Register creates an account. In Basic mode the user is active and may log
// in at once. In Complete mode the user must verify the email first: a code
// is emailed (asynchronously; a mail failure is logged, not returned).
//
// It returns a *[ValidationError] listing every failed rule of the username
// (3–32 letters, digits, "_", "." or "-"), the email and the password, an
// *[ExistsError] when the username or email is taken (case-insensitively),
// and an *[UnavailableError] when the store or the hasher is saturated.
func (s *Service) Register(ctx context.Context, username, email, pw string, c Client) (store.User, error) {
	email = strings.TrimSpace(email)
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
	if err := s.store.CreateUser(ctx, u); err != nil {
		var conflict *store.ConflictError
		if errors.As(err, &conflict) {
			return store.User{}, &ExistsError{Field: conflict.Field}
		}
		return store.User{}, storeErr("create user", err)
	}
	s.emit(ctx, EventRegistered, OutcomeSuccess, u.ID, "", c, "")

	if s.mode == ModeComplete {
		// The account exists whatever happens to the mail; a failed send is
		// logged by sendCode and the user can ask for another code.
		s.sendCode(ctx, u, store.CodeEmailVerification, c)
	}
	return u, nil
}

func checkUsername(username string) []FieldError {
	n := utf8.RuneCountInString(username)
	ok := n >= usernameMinLen && n <= usernameMaxLen
	for _, r := range username {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			ok = false
			break
		}
	}
	if ok {
		return nil
	}
	return []FieldError{{
		Field:   "username",
		Code:    "username_invalid",
		Message: "Username must be 3 to 32 characters of letters, digits, '_', '.' or '-'.",
	}}
}

// checkEmail accepts a bare address (no display name, no comments) of at most
// 254 bytes.
func checkEmail(email string) []FieldError {
	bad := []FieldError{{Field: "email", Code: "email_invalid", Message: "Email must be a valid address such as name@example.com."}}
	if email == "" || len(email) > emailMaxLen || !utf8.ValidString(email) {
		return bad
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return bad
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 || !strings.Contains(email[at+1:], ".") {
		return bad
	}
	return nil
}

// checkPassword runs the policy with the user's identity as words the
// password must not contain.
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
