package memstore

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// passkeyMaps keeps the passkeys and the users' WebAuthn handles; the
// Store's lock guards it. Byte slices are keyed by their string form.
type passkeyMaps struct {
	byID         map[string]store.Passkey // by ID
	byCredential map[string]string        // string(CredentialID) -> ID
	forUser      map[string]idSet         // user ID -> passkey IDs
	handles      map[string][]byte        // user ID -> handle
	byHandle     map[string]string        // string(handle) -> user ID
}

func (m *passkeyMaps) init() {
	m.byID = map[string]store.Passkey{}
	m.byCredential = map[string]string{}
	m.forUser = map[string]idSet{}
	m.handles = map[string][]byte{}
	m.byHandle = map[string]string{}
}

// deleteUser removes the user's passkeys and handle and returns how many
// records that was (the handle counts as one).
func (m *passkeyMaps) deleteUser(userID string) int64 {
	var n int64
	for id := range m.forUser[userID] {
		m.remove(id)
		n++
	}
	if h, ok := m.handles[userID]; ok {
		delete(m.byHandle, string(h))
		delete(m.handles, userID)
		n++
	}
	return n
}

// remove deletes the passkey with the ID from every map.
func (m *passkeyMaps) remove(id string) {
	p := m.byID[id]
	delete(m.byCredential, string(p.CredentialID))
	delete(m.byID, id)
	ids := m.forUser[p.UserID]
	delete(ids, id)
	if len(ids) == 0 {
		delete(m.forUser, p.UserID)
	}
}

// copyPasskey returns p sharing no memory with the caller's record, so
// that neither side can change the other's.
func copyPasskey(p store.Passkey) store.Passkey {
	p.CredentialID = bytes.Clone(p.CredentialID)
	p.PublicKey = bytes.Clone(p.PublicKey)
	p.AAGUID = bytes.Clone(p.AAGUID)
	p.Transports = slices.Clone(p.Transports)
	return p
}

// checkPasskey refuses a passkey without the fields that identify it, and
// text that a text column could not hold.
func checkPasskey(p store.Passkey) error {
	switch {
	case p.ID == "":
		return missing("Passkey", "ID")
	case p.UserID == "":
		return missing("Passkey", "UserID")
	case len(p.CredentialID) == 0:
		return missing("Passkey", "CredentialID")
	case len(p.PublicKey) == 0:
		return missing("Passkey", "PublicKey")
	}
	if !storable(p.ID) || !storable(p.UserID) || !storable(p.Name) ||
		!storable(p.AttestationType) || !storable(p.AttestationFormat) {
		return store.ErrInvalidInput
	}
	for _, t := range p.Transports {
		if !storable(t) {
			return store.ErrInvalidInput
		}
	}
	return nil
}

// passkeyConflictLocked returns the *store.ConflictError of inserting p, if
// any: its credential id first, then its ID. The passkeys of the user with
// the ID except (one about to be replaced) are no conflict; "" excepts no
// one.
func (s *Store) passkeyConflictLocked(p store.Passkey, except string) error {
	if id, ok := s.passkeys.byCredential[string(p.CredentialID)]; ok && s.passkeys.byID[id].UserID != except {
		return conflict(store.FieldCredential)
	}
	if q, ok := s.passkeys.byID[p.ID]; ok && q.UserID != except {
		return conflict(store.FieldID)
	}
	return nil
}

func (s *Store) insertPasskeyLocked(p store.Passkey) {
	p = copyPasskey(p)
	p.CreatedAt, p.LastUsedAt = utc(p.CreatedAt), utc(p.LastUsedAt)
	s.passkeys.byID[p.ID] = p
	s.passkeys.byCredential[string(p.CredentialID)] = p.ID
	ids := s.passkeys.forUser[p.UserID]
	if ids == nil {
		ids = idSet{}
		s.passkeys.forUser[p.UserID] = ids
	}
	ids[p.ID] = struct{}{}
}

// userPasskeyLocked returns the user's passkey with the ID.
func (s *Store) userPasskeyLocked(userID, id string) (store.Passkey, bool) {
	p, ok := s.passkeys.byID[id]
	if !ok || p.UserID != userID {
		return store.Passkey{}, false
	}
	return p, true
}

// UserHandle returns the user's WebAuthn handle, storing a copy of handle
// as it when the user has none yet; a user who has one keeps it, whatever
// handle is. It returns [store.ErrNotFound] for an unknown user, a
// *[store.ConflictError] naming [store.FieldID] when another user's handle
// is handle, and [ErrMissingField] for an empty handle.
func (s *Store) UserHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	if len(handle) == 0 {
		return nil, missing("UserHandle", "handle")
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		return nil, store.ErrNotFound
	}
	if h, ok := s.passkeys.handles[userID]; ok {
		return bytes.Clone(h), nil
	}
	if _, ok := s.passkeys.byHandle[string(handle)]; ok {
		return nil, conflict(store.FieldID)
	}
	s.putHandleLocked(userID, handle)
	return bytes.Clone(handle), nil
}

func (s *Store) putHandleLocked(userID string, handle []byte) {
	s.passkeys.handles[userID] = bytes.Clone(handle)
	s.passkeys.byHandle[string(handle)] = userID
}

// UserByHandle returns the user whose handle is handle, or
// [store.ErrNotFound].
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (store.User, error) {
	if err := s.rlock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.RUnlock()
	id, ok := s.passkeys.byHandle[string(handle)]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return s.users[id], nil
}

// CreatePasskey stores a copy of p for its user. It returns
// [ErrMissingField] when p has no ID, UserID, CredentialID or PublicKey,
// [store.ErrInvalidInput] for text that cannot be stored,
// [store.ErrNotFound] for an unknown user, and a *[store.ConflictError]
// naming [store.FieldCredential] or [store.FieldID]. On an error it changes
// nothing.
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	if err := checkPasskey(p); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[p.UserID]; !ok {
		return store.ErrNotFound
	}
	if err := s.passkeyConflictLocked(p, ""); err != nil {
		return err
	}
	s.insertPasskeyLocked(p)
	return nil
}

// CreateUserWithPasskey inserts u, its handle and p in one step. With
// replaceUnverified, an unverified holder of u's email is deleted first,
// with every record of theirs. It returns [ErrMissingField] for an empty
// required field (the handle included) or a p.UserID other than u.ID,
// [store.ErrInvalidInput] for text that cannot be stored, a
// *[store.ConflictError] naming [store.FieldCredential] or [store.FieldID]
// (the passkey's ID, or a handle another user holds), and the conflicts of
// CreateUser. On an error it changes nothing.
func (s *Store) CreateUserWithPasskey(ctx context.Context, u store.User, handle []byte, p store.Passkey, replaceUnverified bool) error {
	if err := checkUser(u); err != nil {
		return err
	}
	if err := checkPasskey(p); err != nil {
		return err
	}
	if len(handle) == 0 {
		return missing("UserHandle", "handle")
	}
	if p.UserID != u.ID {
		return missing("Passkey", "UserID (must be the new user's ID)")
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
	// The replaced user's handle and passkeys go with them: no conflict.
	if owner, ok := s.passkeys.byHandle[string(handle)]; ok && owner != replaced {
		return conflict(store.FieldID)
	}
	if err := s.passkeyConflictLocked(p, replaced); err != nil {
		return err
	}
	if replaced != "" {
		s.deleteUserLocked(s.users[replaced])
	}
	s.insertUserLocked(u)
	s.putHandleLocked(u.ID, handle)
	s.insertPasskeyLocked(p)
	return nil
}

// Passkeys lists copies of the user's passkeys, oldest first (by ID when
// two were created at the same moment).
func (s *Store) Passkeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := []store.Passkey{}
	for id := range s.passkeys.forUser[userID] {
		out = append(out, copyPasskey(s.passkeys.byID[id]))
	}
	slices.SortFunc(out, func(a, b store.Passkey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// PasskeyByCredentialID returns a copy of the passkey with the credential
// id, or [store.ErrNotFound].
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (store.Passkey, error) {
	if err := s.rlock(ctx); err != nil {
		return store.Passkey{}, err
	}
	defer s.mu.RUnlock()
	id, ok := s.passkeys.byCredential[string(credentialID)]
	if !ok {
		return store.Passkey{}, store.ErrNotFound
	}
	return copyPasskey(s.passkeys.byID[id]), nil
}

// RenamePasskey sets the name of the user's passkey and returns a copy of
// it. It returns [store.ErrNotFound] when the user has no passkey with the
// ID and [store.ErrInvalidInput] for a name that cannot be stored.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) (store.Passkey, error) {
	if !storable(name) {
		return store.Passkey{}, store.ErrInvalidInput
	}
	if err := s.lock(ctx); err != nil {
		return store.Passkey{}, err
	}
	defer s.mu.Unlock()
	p, ok := s.userPasskeyLocked(userID, id)
	if !ok {
		return store.Passkey{}, store.ErrNotFound
	}
	p.Name = name
	s.passkeys.byID[id] = p
	return copyPasskey(p), nil
}

// UsePasskey records a sign-in with the user's passkey if signCount is
// greater than the stored count or both are 0, and otherwise returns
// [store.ErrStale], changing nothing. It returns [store.ErrNotFound] when
// the user has no passkey with the ID.
func (s *Store) UsePasskey(ctx context.Context, userID, id string, signCount uint32, backupState, userVerified bool, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	p, ok := s.userPasskeyLocked(userID, id)
	if !ok {
		return store.ErrNotFound
	}
	if signCount <= p.SignCount && (signCount != 0 || p.SignCount != 0) {
		return store.ErrStale
	}
	p.SignCount, p.BackupState, p.LastUsedAt = signCount, backupState, utc(at)
	p.UserVerified = p.UserVerified || userVerified
	s.passkeys.byID[id] = p
	return nil
}

// DeletePasskey removes the user's passkey unless it is the user's last
// way to sign in (no password, no other passkey, no identity):
// [store.ErrLastLoginMethod]. Another user's or an unknown passkey is
// [store.ErrNotFound].
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.userPasskeyLocked(userID, id); !ok {
		return store.ErrNotFound
	}
	if s.users[userID].HashedPassword == "" && len(s.passkeys.forUser[userID]) == 1 &&
		len(s.identities.forUser[userID]) == 0 {
		return store.ErrLastLoginMethod
	}
	s.passkeys.remove(id)
	return nil
}
