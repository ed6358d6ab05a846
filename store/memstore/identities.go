package memstore

import (
	"context"
	"slices"
	"strings"

	"github.com/forgeauth/forgeauth/store"
)

// identityMaps keeps the identities; the Store's lock guards it.
type identityMaps struct {
	byID    map[string]store.Identity // by ID
	byKey   map[subjectKey]string     // (provider, subject) -> ID
	forUser map[string]idSet          // user ID -> identity IDs
}

type subjectKey struct{ provider, subject string }

func (m *identityMaps) init() {
	m.byID = map[string]store.Identity{}
	m.byKey = map[subjectKey]string{}
	m.forUser = map[string]idSet{}
}

// deleteUser removes the user's identities and returns how many.
func (m *identityMaps) deleteUser(userID string) int64 {
	var n int64
	for id := range m.forUser[userID] {
		i := m.byID[id]
		delete(m.byKey, subjectKey{i.Provider, i.Subject})
		delete(m.byID, id)
		n++
	}
	delete(m.forUser, userID)
	return n
}

func checkIdentity(id store.Identity) error {
	switch {
	case id.ID == "":
		return missing("Identity", "ID")
	case id.UserID == "":
		return missing("Identity", "UserID")
	case id.Provider == "":
		return missing("Identity", "Provider")
	case id.Subject == "":
		return missing("Identity", "Subject")
	}
	if !storable(id.ID) || !storable(id.Provider) || !storable(id.Subject) || !storable(id.Email) {
		return store.ErrInvalidInput
	}
	return nil
}

// identityConflictLocked returns the *store.ConflictError of inserting id,
// if any.
func (s *Store) identityConflictLocked(id store.Identity) error {
	if _, ok := s.identities.byKey[subjectKey{id.Provider, id.Subject}]; ok {
		return conflict(store.FieldIdentity)
	}
	if _, ok := s.identities.byID[id.ID]; ok {
		return conflict(store.FieldID)
	}
	return nil
}

func (s *Store) insertIdentityLocked(id store.Identity) {
	id.CreatedAt = utc(id.CreatedAt)
	s.identities.byID[id.ID] = id
	s.identities.byKey[subjectKey{id.Provider, id.Subject}] = id.ID
	ids := s.identities.forUser[id.UserID]
	if ids == nil {
		ids = idSet{}
		s.identities.forUser[id.UserID] = ids
	}
	ids[id.ID] = struct{}{}
}

// CreateUserWithIdentity inserts u and id in one step. With
// replaceUnverified, an unverified holder of u's email is deleted first,
// with every record of theirs. It returns [ErrMissingField] for an empty
// required field, [store.ErrInvalidInput] for text that cannot be stored,
// a *[store.ConflictError] naming [store.FieldIdentity] when the (provider,
// subject) pair is linked, and the conflicts of CreateUser. On an error it
// changes nothing.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u store.User, id store.Identity, replaceUnverified bool) error {
	if err := checkUser(u); err != nil {
		return err
	}
	if err := checkIdentity(id); err != nil {
		return err
	}
	if id.UserID != u.ID {
		return missing("Identity", "UserID (must be the new user's ID)")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	replaced := ""
	if holder, ok := s.byEmail[store.Fold(u.Email)]; ok && replaceUnverified && !s.users[holder].IsVerified {
		replaced = holder
	}
	if err := s.checkUserKeysLocked(u, replaced); err != nil {
		return err
	}
	if err := s.identityConflictLocked(id); err != nil {
		return err
	}
	if replaced != "" {
		s.deleteUserLocked(s.users[replaced])
	}
	s.insertUserLocked(u)
	s.insertIdentityLocked(id)
	return nil
}

// AddIdentity links id to its user. It returns [ErrMissingField] for an
// empty required field, [store.ErrInvalidInput] for text that cannot be
// stored, [store.ErrNotFound] for an unknown user, and a
// *[store.ConflictError] naming [store.FieldIdentity] or [store.FieldID].
func (s *Store) AddIdentity(ctx context.Context, id store.Identity) error {
	if err := checkIdentity(id); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[id.UserID]; !ok {
		return store.ErrNotFound
	}
	if err := s.identityConflictLocked(id); err != nil {
		return err
	}
	s.insertIdentityLocked(id)
	return nil
}

// IdentityBySubject returns the identity of (provider, subject), or
// [store.ErrNotFound].
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (store.Identity, error) {
	if err := s.rlock(ctx); err != nil {
		return store.Identity{}, err
	}
	defer s.mu.RUnlock()
	id, ok := s.identities.byKey[subjectKey{provider, subject}]
	if !ok {
		return store.Identity{}, store.ErrNotFound
	}
	return s.identities.byID[id], nil
}

// Identities lists the user's identities, oldest first (by ID when two
// were created at the same moment).
func (s *Store) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := []store.Identity{}
	for id := range s.identities.forUser[userID] {
		out = append(out, s.identities.byID[id])
	}
	slices.SortFunc(out, func(a, b store.Identity) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeleteIdentity removes the user's identity unless it is the user's last
// way to sign in (no password, no other identity, no passkey):
// [store.ErrLastLoginMethod]. Another user's or an unknown identity is
// [store.ErrNotFound].
func (s *Store) DeleteIdentity(ctx context.Context, userID, identityID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	ids := s.identities.forUser[userID]
	if _, ok := ids[identityID]; !ok {
		return store.ErrNotFound
	}
	if s.users[userID].HashedPassword == "" && len(ids) == 1 && len(s.passkeys.forUser[userID]) == 0 {
		return store.ErrLastLoginMethod
	}
	i := s.identities.byID[identityID]
	delete(s.identities.byKey, subjectKey{i.Provider, i.Subject})
	delete(s.identities.byID, identityID)
	delete(ids, identityID)
	if len(ids) == 0 {
		delete(s.identities.forUser, userID)
	}
	return nil
}
