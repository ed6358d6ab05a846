package memstore

import (
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// CreateUser inserts u. It returns a *[store.ConflictError] (matching
// [store.ErrConflict]) naming the ID, else the username, else the email,
// when it is taken (the latter two compared through [store.Fold]);
// [store.ErrInvalidInput] when the username, email or password hash holds a
// NUL byte or invalid UTF-8; and [ErrMissingField] when u.ID is empty. On
// an error it changes nothing.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.checkUserKeysLocked(u, ""); err != nil {
		return err
	}
	s.insertUserLocked(u)
	return nil
}

// ReplaceUnverifiedUser inserts u like CreateUser, except that a user who
// holds u's email and has not verified it is deleted first, with every
// record of theirs (refresh tokens, codes, tickets), in the same step; that
// user's username and ID are then free for u. A verified holder of the
// email is a *[store.ConflictError] naming [store.FieldEmail], and a holder
// of the username or ID other than the replaced user one naming
// [store.FieldUsername] or [store.FieldID]; other errors are those of
// CreateUser. On an error it changes nothing.
func (s *Store) ReplaceUnverifiedUser(ctx context.Context, u store.User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	replaced := ""
	if id, ok := s.byEmail[store.Fold(u.Email)]; ok && !s.users[id].IsVerified {
		replaced = id
	}
	if err := s.checkUserKeysLocked(u, replaced); err != nil {
		return err
	}
	if replaced != "" {
		s.deleteUserLocked(s.users[replaced])
	}
	s.insertUserLocked(u)
	return nil
}

func checkUser(u store.User) error {
	if u.ID == "" {
		return missing("User", "ID")
	}
	if !storable(u.Username) || !storable(u.Email) || !storable(u.HashedPassword) {
		return store.ErrInvalidInput
	}
	return nil
}

// checkUserKeysLocked returns a *store.ConflictError when a user other than
// the one with the ID except holds u's ID, username or email.
func (s *Store) checkUserKeysLocked(u store.User, except string) error {
	if _, ok := s.users[u.ID]; ok && u.ID != except {
		return conflict(store.FieldID)
	}
	if id, ok := s.byUsername[store.Fold(u.Username)]; ok && id != except {
		return conflict(store.FieldUsername)
	}
	if id, ok := s.byEmail[store.Fold(u.Email)]; ok && id != except {
		return conflict(store.FieldEmail)
	}
	return nil
}

func (s *Store) insertUserLocked(u store.User) {
	u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
	u.LastLoginAt, u.TokensValidAfter = utc(u.LastLoginAt), utc(u.TokensValidAfter)
	s.users[u.ID] = u
	s.byUsername[store.Fold(u.Username)] = u.ID
	s.byEmail[store.Fold(u.Email)] = u.ID
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

// UserWithSession returns the user with the ID. When sessionID is not
// empty, the user must also have a token in that family that is unrevoked
// and expires after at; otherwise it returns [store.ErrSessionEnded]. It
// returns [store.ErrNotFound] for an unknown user.
func (s *Store) UserWithSession(ctx context.Context, userID, sessionID string, at time.Time) (store.User, error) {
	if err := s.rlock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.RUnlock()
	u, ok := s.users[userID]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	if sessionID != "" && !s.familyActiveLocked(userID, sessionID, utc(at)) {
		return store.User{}, store.ErrSessionEnded
	}
	return u, nil
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
// returns [store.ErrNotFound] for an unknown user and [store.ErrStale] for
// another current hash.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		if u.HashedPassword != oldHash {
			return store.ErrStale
		}
		u.HashedPassword = newHash
		return nil
	})
}

// SetPassword, if the user's hash is still oldHash, sets it to newHash and
// UpdatedAt to at, moves TokensValidAfter to [store.NextRevocation] of at,
// revokes every token of the user's families other than keepFamily, and
// marks the user's unused password-reset codes used, in one step. It
// returns [store.ErrNotFound] for an unknown user and [store.ErrStale],
// changing nothing, for another current hash.
func (s *Store) SetPassword(ctx context.Context, userID, oldHash, newHash string, at time.Time, keepFamily string) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		if u.HashedPassword != oldHash {
			return store.ErrStale
		}
		s.setPasswordLocked(u, newHash, at, keepFamily)
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

// SetActive sets the user's IsActive and UpdatedAt. Disabling (active
// false) also revokes every refresh token of the user and moves
// TokensValidAfter to [store.NextRevocation] of at, in the same step;
// enabling revives nothing. It returns [store.ErrNotFound] for an unknown
// user.
func (s *Store) SetActive(ctx context.Context, userID string, active bool, at time.Time) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		u.IsActive, u.UpdatedAt = active, utc(at)
		if !active {
			s.revokeAllLocked(u, at)
		}
		return nil
	})
}

// DeleteUser removes the user with its refresh tokens, codes, second
// factor and recovery codes, identities, passkeys and WebAuthn handle, and
// the tickets that name it; its ID, username, email, handle and credential
// ids are free again. It returns [store.ErrNotFound] for an unknown user.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return store.ErrNotFound
	}
	s.deleteUserLocked(u)
	return nil
}

// deleteUserLocked removes u with every record of theirs and returns how
// many records that was, u included.
func (s *Store) deleteUserLocked(u store.User) int64 {
	n := int64(1)
	for _, ids := range s.families[u.ID] {
		for id := range ids {
			delete(s.tokenByHash, s.tokens[id].TokenHash)
			delete(s.tokens, id)
			n++
		}
	}
	delete(s.families, u.ID)
	for _, ids := range s.userCodes[u.ID] {
		for id := range ids {
			delete(s.codes, id)
			n++
		}
	}
	delete(s.userCodes, u.ID)
	for k := range s.userTickets[u.ID] {
		delete(s.tickets, k)
		n++
	}
	delete(s.userTickets, u.ID)
	if f, ok := s.factors[u.ID]; ok {
		n += 1 + int64(len(f.codes))
		delete(s.factors, u.ID)
	}
	n += s.identities.deleteUser(u.ID)
	n += s.passkeys.deleteUser(u.ID)
	delete(s.byUsername, store.Fold(u.Username))
	delete(s.byEmail, store.Fold(u.Email))
	delete(s.users, u.ID)
	return n
}
