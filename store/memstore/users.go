package memstore

import (
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// CreateUser inserts u. It returns a *[store.ConflictError] (matching
// [store.ErrConflict]) naming the username, or else the email, when its
// folded form is taken; [ErrMissingField] when u.ID is empty; and
// [ErrDuplicateKey] when u.ID is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return missing("User", "ID")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return duplicate("User", "ID")
	}
	username, email := store.Fold(u.Username), store.Fold(u.Email)
	if _, ok := s.byUsername[username]; ok {
		return &store.ConflictError{Field: store.FieldUsername}
	}
	if _, ok := s.byEmail[email]; ok {
		return &store.ConflictError{Field: store.FieldEmail}
	}
	u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
	u.LastLoginAt, u.TokensValidAfter = utc(u.LastLoginAt), utc(u.TokensValidAfter)
	s.users[u.ID] = u
	s.byUsername[username] = u.ID
	s.byEmail[email] = u.ID
	return nil
}

// UserByID returns the user with the ID, or [store.ErrNotFound].
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	if err := s.rlock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

// UserByUsername returns the user whose username folds like username, or
// [store.ErrNotFound].
func (s *Store) UserByUsername(ctx context.Context, username string) (store.User, error) {
	return s.userByIndex(ctx, func() map[string]string { return s.byUsername }, username)
}

// UserByEmail returns the user whose email folds like email, or
// [store.ErrNotFound].
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	return s.userByIndex(ctx, func() map[string]string { return s.byEmail }, email)
}

func (s *Store) userByIndex(ctx context.Context, index func() map[string]string, key string) (store.User, error) {
	if err := s.rlock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.RUnlock()
	id, ok := index()[store.Fold(key)]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return s.users[id], nil
}

// updateUser applies fn to the user under the write lock and keeps the
// result unless fn fails. It returns [store.ErrNotFound] for an unknown user.
func (s *Store) updateUser(ctx context.Context, id string, fn func(u *store.User) error) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return store.ErrNotFound
	}
	if err := fn(&u); err != nil {
		return err
	}
	s.users[id] = u
	return nil
}

// RecordLogin sets the user's LastLoginAt to at. It returns
// [store.ErrNotFound] for an unknown user.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		u.LastLoginAt = utc(at)
		return nil
	})
}

// ReplacePasswordHash sets the user's hash to newHash if it is oldHash. It
// returns [store.ErrNotFound] for an unknown user or another current hash.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		if u.HashedPassword != oldHash {
			return store.ErrNotFound
		}
		u.HashedPassword = newHash
		return nil
	})
}

// SetPassword sets the user's hash and UpdatedAt, moves TokensValidAfter to
// [store.NextRevocation] of at, revokes
// every token of the user's families other than keepFamily, and marks the
// user's unused password-reset codes used, in one step. It returns
// [store.ErrNotFound] for an unknown user.
func (s *Store) SetPassword(ctx context.Context, userID, hash string, at time.Time, keepFamily string) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		s.setPasswordLocked(u, hash, at, keepFamily)
		return nil
	})
}

// setPasswordLocked is SetPassword on u, whose record the caller stores.
func (s *Store) setPasswordLocked(u *store.User, hash string, at time.Time, keepFamily string) {
	u.HashedPassword = hash
	u.UpdatedAt, u.TokensValidAfter = utc(at), utc(store.NextRevocation(u.TokensValidAfter, at))
	for familyID := range s.families[u.ID] {
		if familyID != keepFamily {
			s.revokeFamilyLocked(u.ID, familyID)
		}
	}
	s.voidCodesLocked(u.ID, store.CodePasswordReset)
}

// MarkVerified sets the user's IsVerified and UpdatedAt. It returns
// [store.ErrNotFound] for an unknown user.
func (s *Store) MarkVerified(ctx context.Context, userID string, at time.Time) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		u.IsVerified, u.UpdatedAt = true, utc(at)
		return nil
	})
}

// SetActive sets the user's IsActive and UpdatedAt. It returns
// [store.ErrNotFound] for an unknown user.
func (s *Store) SetActive(ctx context.Context, userID string, active bool, at time.Time) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		u.IsActive, u.UpdatedAt = active, utc(at)
		return nil
	})
}

// DeleteUser removes the user with its refresh tokens and codes; its
// username and email are free again. It returns [store.ErrNotFound] for an
// unknown user.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return store.ErrNotFound
	}
	for _, ids := range s.families[userID] {
		for id := range ids {
			delete(s.tokenByHash, s.tokens[id].TokenHash)
			delete(s.tokens, id)
		}
	}
	delete(s.families, userID)
	for _, ids := range s.userCodes[userID] {
		for id := range ids {
			delete(s.codes, id)
		}
	}
	delete(s.userCodes, userID)
	delete(s.byUsername, store.Fold(u.Username))
	delete(s.byEmail, store.Fold(u.Email))
	delete(s.users, userID)
	return nil
}
