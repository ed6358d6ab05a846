package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// CreateEmailChangeCode inserts c bound to newEmail, voiding the user's
// older email-change codes, in one step. Besides the errors of
// [Store.CreateCode], it returns [store.ErrInvalidInput] when newEmail
// cannot be stored and [ErrMissingField] when newEmail is empty or c.Type
// is not [store.CodeEmailChange].
func (s *Store) CreateEmailChangeCode(ctx context.Context, c store.VerificationCode, newEmail string) error {
	switch {
	case newEmail == "":
		return missing("VerificationCode", "NewEmail")
	case c.Type != store.CodeEmailChange:
		return missing("VerificationCode", "Type")
	case !storable(newEmail):
		return store.ErrInvalidInput
	}
	switch {
	case c.ID == "":
		return missing("VerificationCode", "ID")
	case c.UserID == "":
		return missing("VerificationCode", "UserID")
	case c.CodeHash == "":
		return missing("VerificationCode", "CodeHash")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.createCodeLocked(c); err != nil {
		return err
	}
	for id := range s.newEmails {
		if _, ok := s.codes[id]; !ok {
			delete(s.newEmails, id) // the code expired or went with its user
		}
	}
	s.newEmails[c.ID] = newEmail
	return nil
}

// activeEmailChangeLocked returns the user's active email-change code.
func (s *Store) activeEmailChangeLocked(userID string, maxAttempts int, at time.Time) (store.VerificationCode, bool) {
	var active store.VerificationCode
	found := false
	for id := range s.userCodes[userID][store.CodeEmailChange] {
		c := s.codes[id]
		if c.IsUsed || !c.ExpiresAt.After(at) || c.Attempts >= maxAttempts {
			continue
		}
		if !found || c.CreatedAt.After(active.CreatedAt) || c.CreatedAt.Equal(active.CreatedAt) && c.ID > active.ID {
			active, found = c, true
		}
	}
	return active, found
}

// PendingEmail returns the address the user's active email-change code is
// bound to, or [store.ErrNotFound].
func (s *Store) PendingEmail(ctx context.Context, userID string, maxAttempts int, at time.Time) (string, error) {
	if err := s.rlock(ctx); err != nil {
		return "", err
	}
	defer s.mu.RUnlock()
	c, ok := s.activeEmailChangeLocked(userID, maxAttempts, utc(at))
	if !ok {
		return "", store.ErrNotFound
	}
	return s.newEmails[c.ID], nil
}

// ChangeEmailWithCode spends the user's active email-change code when
// codeHash matches it and sets the user's email to the code's address, in
// one step. It returns [store.ErrCodeMismatch] (the attempt counted) for a
// wrong code, [store.ErrNotFound] for no active code or an unknown user,
// and a *[store.ConflictError] naming [store.FieldEmail], changing
// nothing, when another user holds the address.
func (s *Store) ChangeEmailWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, at time.Time) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	at = utc(at)
	u, ok := s.users[userID]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	active, ok := s.activeEmailChangeLocked(userID, maxAttempts, at)
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	newEmail := s.newEmails[active.ID]
	if id, taken := s.byEmail[store.Fold(newEmail)]; taken && id != userID {
		if _, err := s.matchLocked(userID, store.CodeEmailChange, codeHash, maxAttempts, at); err != nil {
			return store.User{}, err // a wrong code is a wrong code first
		}
		return store.User{}, conflict(store.FieldEmail)
	}
	if err := s.spendLocked(userID, store.CodeEmailChange, codeHash, maxAttempts, at); err != nil {
		return store.User{}, err
	}
	delete(s.newEmails, active.ID)
	delete(s.byEmail, store.Fold(u.Email))
	u.Email, u.UpdatedAt = newEmail, at
	s.users[userID] = u
	s.byEmail[store.Fold(newEmail)] = userID
	return u, nil
}

// ListUsers returns up to q.Limit users whose ID is greater than q.After
// (byte order), in the order of their IDs, whose folded username or email
// starts with the folded q.Prefix (plain text, no pattern). A q.Limit
// below 1 returns no users.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := []store.User{}
	if q.Limit < 1 {
		return out, nil
	}
	prefix := store.Fold(q.Prefix)
	for _, u := range s.users {
		if u.ID <= q.After {
			continue
		}
		if prefix != "" && !strings.HasPrefix(store.Fold(u.Username), prefix) && !strings.HasPrefix(store.Fold(u.Email), prefix) {
			continue
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b store.User) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return slices.Clip(out), nil
}

// UpdateUser sets the flags up names and UpdatedAt, revoking every session
// when it disables the user, in one step. It returns [store.ErrNotFound]
// for an unknown user and [store.ErrLastSuperuser] when it would take away
// the only active superuser.
func (s *Store) UpdateUser(ctx context.Context, userID string, up store.UserUpdate, at time.Time) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	if up.RemovesSuperuser(u) && s.activeSuperusersLocked() == 1 {
		return store.User{}, store.ErrLastSuperuser
	}
	disabling := u.IsActive && up.IsActive != nil && !*up.IsActive
	u = up.Apply(u)
	u.UpdatedAt = utc(at)
	if disabling {
		s.revokeAllLocked(&u, at)
	}
	s.users[userID] = u
	return u, nil
}

// RemoveUser is [Store.DeleteUser], refused with [store.ErrLastSuperuser]
// when the user is the only active superuser.
func (s *Store) RemoveUser(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return store.ErrNotFound
	}
	if u.IsSuperuser && u.IsActive && s.activeSuperusersLocked() == 1 {
		return store.ErrLastSuperuser
	}
	s.deleteUserLocked(u)
	return nil
}

func (s *Store) activeSuperusersLocked() int {
	n := 0
	for _, u := range s.users {
		if u.IsSuperuser && u.IsActive {
			n++
		}
	}
	return n
}
