package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// CreateRefreshToken inserts t. It returns [ErrMissingField] when t.ID,
// t.UserID, t.TokenHash or t.FamilyID is empty, [store.ErrNotFound] when
// the user does not exist, and [ErrDuplicateKey] when t.ID or t.TokenHash is
// taken.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if err := checkToken(t); err != nil {
		return err
	}
	if t.UserID == "" {
		return missing("RefreshToken", "UserID")
	}
	if t.FamilyID == "" {
		return missing("RefreshToken", "FamilyID")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[t.UserID]; !ok {
		return store.ErrNotFound
	}
	if err := s.checkTokenKeysLocked(t); err != nil {
		return err
	}
	s.insertTokenLocked(t)
	return nil
}

func checkToken(t store.RefreshToken) error {
	if t.ID == "" {
		return missing("RefreshToken", "ID")
	}
	if t.TokenHash == "" {
		return missing("RefreshToken", "TokenHash")
	}
	return nil
}

func (s *Store) checkTokenKeysLocked(t store.RefreshToken) error {
	if _, ok := s.tokens[t.ID]; ok {
		return duplicate("RefreshToken", "ID")
	}
	if _, ok := s.tokenByHash[t.TokenHash]; ok {
		return duplicate("RefreshToken", "TokenHash")
	}
	return nil
}

func (s *Store) insertTokenLocked(t store.RefreshToken) {
	t.ExpiresAt, t.CreatedAt, t.LastUsedAt = utc(t.ExpiresAt), utc(t.CreatedAt), utc(t.LastUsedAt)
	s.tokens[t.ID] = t
	s.tokenByHash[t.TokenHash] = t.ID
	fams := s.families[t.UserID]
	if fams == nil {
		fams = map[string]idSet{}
		s.families[t.UserID] = fams
	}
	ids := fams[t.FamilyID]
	if ids == nil {
		ids = idSet{}
		fams[t.FamilyID] = ids
	}
	ids[t.ID] = struct{}{}
}

func (s *Store) deleteTokenLocked(t store.RefreshToken) {
	delete(s.tokens, t.ID)
	delete(s.tokenByHash, t.TokenHash)
	fams := s.families[t.UserID]
	delete(fams[t.FamilyID], t.ID)
	if len(fams[t.FamilyID]) == 0 {
		delete(fams, t.FamilyID)
	}
	if len(fams) == 0 {
		delete(s.families, t.UserID)
	}
}

// revokeFamilyLocked revokes every token of the user's family.
func (s *Store) revokeFamilyLocked(userID, familyID string) {
	for id := range s.families[userID][familyID] {
		t := s.tokens[id]
		if !t.IsRevoked {
			t.IsRevoked = true
			s.tokens[id] = t
		}
	}
}

// RefreshTokenByHash returns the token with the digest, revoked or not, or
// [store.ErrNotFound].
func (s *Store) RefreshTokenByHash(ctx context.Context, tokenHash string) (store.RefreshToken, error) {
	if err := s.rlock(ctx); err != nil {
		return store.RefreshToken{}, err
	}
	defer s.mu.RUnlock()
	id, ok := s.tokenByHash[tokenHash]
	if !ok {
		return store.RefreshToken{}, store.ErrNotFound
	}
	return s.tokens[id], nil
}

// RotateRefreshToken replaces the active token whose digest is oldHash by
// next, as [store.RefreshTokens] describes, and returns the old token as it
// is after the call.
//
// It returns [store.ErrNotFound] when no token has the digest, or it expires
// at or before at, or it belongs to another user or family than next;
// [store.ErrReused], after revoking the token's family, when the token is
// revoked; [ErrMissingField] when next.ID or next.TokenHash is empty; and
// [ErrDuplicateKey] when next.ID or next.TokenHash is taken. Only a success
// inserts next, and only success and ErrReused change anything.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time) (store.RefreshToken, error) {
	if err := checkToken(next); err != nil {
		return store.RefreshToken{}, err
	}
	if err := s.lock(ctx); err != nil {
		return store.RefreshToken{}, err
	}
	defer s.mu.Unlock()
	at = utc(at)
	id, ok := s.tokenByHash[oldHash]
	if !ok {
		return store.RefreshToken{}, store.ErrNotFound
	}
	old := s.tokens[id]
	if old.UserID != next.UserID || old.FamilyID != next.FamilyID || !old.ExpiresAt.After(at) {
		return store.RefreshToken{}, store.ErrNotFound
	}
	if old.IsRevoked {
		s.revokeFamilyLocked(old.UserID, old.FamilyID)
		return old, store.ErrReused
	}
	if err := s.checkTokenKeysLocked(next); err != nil {
		return store.RefreshToken{}, err
	}
	old.IsRevoked, old.ReplacedBy, old.LastUsedAt = true, next.ID, at
	s.tokens[old.ID] = old
	next.DeviceName, next.DeviceType = old.DeviceName, old.DeviceType
	s.insertTokenLocked(next)
	return old, nil
}

// RevokeFamily revokes every token of the user's family. It returns
// [store.ErrNotFound], changing nothing, when no token of the family is
// unrevoked and expires after at; a family of another user counts as none.
func (s *Store) RevokeFamily(ctx context.Context, userID, familyID string, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	at = utc(at)
	active := false
	for id := range s.families[userID][familyID] {
		t := s.tokens[id]
		active = active || !t.IsRevoked && t.ExpiresAt.After(at)
	}
	if !active {
		return store.ErrNotFound
	}
	s.revokeFamilyLocked(userID, familyID)
	return nil
}

// RevokeAllSessions revokes every refresh token of the user and moves the
// user's TokensValidAfter to [store.NextRevocation] of at, in one step. It returns [store.ErrNotFound]
// for an unknown user.
func (s *Store) RevokeAllSessions(ctx context.Context, userID string, at time.Time) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		u.TokensValidAfter = utc(store.NextRevocation(u.TokensValidAfter, at))
		for familyID := range s.families[userID] {
			s.revokeFamilyLocked(userID, familyID)
		}
		return nil
	})
}

// Sessions lists the user's families that have an unrevoked token expiring
// after at, oldest first (by the CreatedAt of the family's first token, then
// by ID). Device, LastUsedAt and ExpiresAt come from the family's newest
// such token. An unknown user, like a user without sessions, gets an empty
// slice. It returns an error only when ctx is done.
func (s *Store) Sessions(ctx context.Context, userID string, at time.Time) ([]store.Session, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	at = utc(at)
	sessions := make([]store.Session, 0, len(s.families[userID]))
	for familyID, ids := range s.families[userID] {
		var first time.Time
		var newest *store.RefreshToken
		seen := false
		for id := range ids {
			t := s.tokens[id]
			if !seen || t.CreatedAt.Before(first) {
				first, seen = t.CreatedAt, true
			}
			if t.IsRevoked || !t.ExpiresAt.After(at) {
				continue
			}
			if newest == nil || t.CreatedAt.After(newest.CreatedAt) ||
				t.CreatedAt.Equal(newest.CreatedAt) && t.ID > newest.ID {
				newest = &t
			}
		}
		if newest == nil {
			continue
		}
		sessions = append(sessions, store.Session{
			ID:         familyID,
			UserID:     userID,
			DeviceName: newest.DeviceName,
			DeviceType: newest.DeviceType,
			IPAddress:  newest.IPAddress,
			UserAgent:  newest.UserAgent,
			CreatedAt:  first,
			LastUsedAt: newest.LastUsedAt,
			ExpiresAt:  newest.ExpiresAt,
		})
	}
	slices.SortFunc(sessions, func(a, b store.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return sessions, nil
}
