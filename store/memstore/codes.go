package memstore

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// CreateCode inserts c and marks every unused code of the same user and type
// used, in one step. It returns [ErrMissingField] when c.ID, c.UserID,
// c.CodeHash or c.Type is empty, [store.ErrNotFound] when the user does not
// exist, and a *[store.ConflictError] naming [store.FieldID] when c.ID is
// taken; then it changes nothing.
// Two codes may share a digest.
func (s *Store) CreateCode(ctx context.Context, c store.VerificationCode) error {
	switch {
	case c.ID == "":
		return missing("VerificationCode", "ID")
	case c.UserID == "":
		return missing("VerificationCode", "UserID")
	case c.CodeHash == "":
		return missing("VerificationCode", "CodeHash")
	case c.Type == "":
		return missing("VerificationCode", "Type")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.createCodeLocked(c)
}

// createCodeLocked is CreateCode after the checks of its fields.
func (s *Store) createCodeLocked(c store.VerificationCode) error {
	if _, ok := s.users[c.UserID]; !ok {
		return store.ErrNotFound
	}
	if _, ok := s.codes[c.ID]; ok {
		return conflict(store.FieldID)
	}
	s.voidCodesLocked(c.UserID, c.Type)
	c.ExpiresAt, c.CreatedAt = utc(c.ExpiresAt), utc(c.CreatedAt)
	s.codes[c.ID] = c
	types := s.userCodes[c.UserID]
	if types == nil {
		types = map[store.CodeType]idSet{}
		s.userCodes[c.UserID] = types
	}
	ids := types[c.Type]
	if ids == nil {
		ids = idSet{}
		types[c.Type] = ids
	}
	ids[c.ID] = struct{}{}
	return nil
}

// voidCodesLocked marks the user's unused codes of the type used.
func (s *Store) voidCodesLocked(userID string, typ store.CodeType) {
	for id := range s.userCodes[userID][typ] {
		c := s.codes[id]
		if !c.IsUsed {
			c.IsUsed = true
			s.codes[id] = c
		}
	}
}

func (s *Store) deleteCodeLocked(c store.VerificationCode) {
	delete(s.codes, c.ID)
	types := s.userCodes[c.UserID]
	delete(types[c.Type], c.ID)
	if len(types[c.Type]) == 0 {
		delete(types, c.Type)
	}
	if len(types) == 0 {
		delete(s.userCodes, c.UserID)
	}
}

// CheckCode checks codeHash against the user's active code of the type: the
// newest (by CreatedAt, then ID) that is unused, expires after at, and has
// fewer than maxAttempts wrong attempts. On a match it returns nil and
// leaves the code as it is; otherwise it counts a wrong attempt and returns
// [store.ErrCodeMismatch]. With no active code, or no such user, it returns
// [store.ErrNotFound]. The digests are compared in constant time.
func (s *Store) CheckCode(ctx context.Context, userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	_, err := s.matchLocked(userID, typ, codeHash, maxAttempts, utc(at))
	return err
}

// matchLocked finds the user's active code of the type and returns it when
// codeHash matches; otherwise it counts a wrong attempt against it and
// returns store.ErrCodeMismatch, or store.ErrNotFound when there is none.
func (s *Store) matchLocked(userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time) (store.VerificationCode, error) {
	var active *store.VerificationCode
	for id := range s.userCodes[userID][typ] {
		c := s.codes[id]
		if c.IsUsed || !c.ExpiresAt.After(at) || c.Attempts >= maxAttempts {
			continue
		}
		if active == nil || c.CreatedAt.After(active.CreatedAt) ||
			c.CreatedAt.Equal(active.CreatedAt) && c.ID > active.ID {
			active = &c
		}
	}
	if active == nil {
		return store.VerificationCode{}, store.ErrNotFound
	}
	c := *active
	if subtle.ConstantTimeCompare([]byte(c.CodeHash), []byte(codeHash)) != 1 {
		c.Attempts++
		s.codes[c.ID] = c
		return store.VerificationCode{}, store.ErrCodeMismatch
	}
	return c, nil
}

// spendLocked is matchLocked that also marks a matching code used.
func (s *Store) spendLocked(userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time) error {
	c, err := s.matchLocked(userID, typ, codeHash, maxAttempts, at)
	if err != nil {
		return err
	}
	c.IsUsed = true
	s.codes[c.ID] = c
	return nil
}

// VerifyEmailWithCode spends the user's email-verification code when
// codeHash matches it and marks the user verified, in one step. It returns [store.ErrCodeMismatch] (the
// attempt counted) for a wrong code and [store.ErrNotFound] for no active
// code or an unknown user.
func (s *Store) VerifyEmailWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, at time.Time) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	if err := s.spendLocked(userID, store.CodeEmailVerification, codeHash, maxAttempts, utc(at)); err != nil {
		return store.User{}, err
	}
	u.IsVerified, u.UpdatedAt = true, utc(at)
	s.users[userID] = u
	return u, nil
}

// ResetPasswordWithCode spends the user's password-reset code when codeHash
// matches it and does what SetPassword does with no family kept, whatever
// the current hash, in one step. It returns
// [store.ErrCodeMismatch] (the attempt counted) for a wrong code and
// [store.ErrNotFound] for no active code or an unknown user.
func (s *Store) ResetPasswordWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, hash string, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return store.ErrNotFound
	}
	if err := s.spendLocked(userID, store.CodePasswordReset, codeHash, maxAttempts, utc(at)); err != nil {
		return err
	}
	s.setPasswordLocked(&u, hash, at, "")
	s.users[userID] = u
	return nil
}
