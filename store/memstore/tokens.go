package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// CreateSession inserts t as the first token of a new family and sets the
// user's LastLoginAt to t.CreatedAt, in one step taken only if the user is
// active and their password hash is verifiedHash. The token is stored
// unrevoked, whatever t's IsRevoked and ReplacedBy, with its ExpiresAt kept
// no later than its SessionExpiresAt.
//
// It returns [ErrMissingField] when t.ID, t.UserID, t.TokenHash,
// t.FamilyID, t.ExpiresAt or t.SessionExpiresAt is empty;
// [store.ErrNotFound] for an unknown user; [store.ErrStale] for a disabled
// user or another current hash; and a *[store.ConflictError] naming
// [store.FieldID] or [store.FieldTokenHash] when t's ID or digest is taken.
// On an error it changes nothing.
func (s *Store) CreateSession(ctx context.Context, t store.RefreshToken, verifiedHash string) error {
	if err := checkToken(t); err != nil {
		return err
	}
	switch {
	case t.UserID == "":
		return missing("RefreshToken", "UserID")
	case t.FamilyID == "":
		return missing("RefreshToken", "FamilyID")
	case t.SessionExpiresAt.IsZero():
		return missing("RefreshToken", "SessionExpiresAt")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[t.UserID]
	if !ok {
		return store.ErrNotFound
	}
	if !u.IsActive || u.HashedPassword != verifiedHash {
		return store.ErrStale
	}
	if err := s.checkTokenKeysLocked(t); err != nil {
		return err
	}
	t.IsRevoked, t.ReplacedBy = false, ""
	s.insertTokenLocked(t)
	u.LastLoginAt = utc(t.CreatedAt)
	s.users[u.ID] = u
	return nil
}

// checkToken checks the fields every new token needs.
func checkToken(t store.RefreshToken) error {
	switch {
	case t.ID == "":
		return missing("RefreshToken", "ID")
	case t.TokenHash == "":
		return missing("RefreshToken", "TokenHash")
	case t.ExpiresAt.IsZero():
		return missing("RefreshToken", "ExpiresAt")
	}
	return nil
}

func (s *Store) checkTokenKeysLocked(t store.RefreshToken) error {
	if _, ok := s.tokens[t.ID]; ok {
		return conflict(store.FieldID)
	}
	if _, ok := s.tokenByHash[t.TokenHash]; ok {
		return conflict(store.FieldTokenHash)
	}
	return nil
}

// insertTokenLocked stores t, its ExpiresAt kept no later than its
// SessionExpiresAt.
func (s *Store) insertTokenLocked(t store.RefreshToken) {
	t.ExpiresAt, t.SessionExpiresAt = utc(t.ExpiresAt), utc(t.SessionExpiresAt)
	if t.ExpiresAt.After(t.SessionExpiresAt) {
		t.ExpiresAt = t.SessionExpiresAt
	}
	t.CreatedAt, t.LastUsedAt = utc(t.CreatedAt), utc(t.LastUsedAt)
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

// revokeAllLocked revokes every token of u and moves u's TokensValidAfter;
// the caller stores u.
func (s *Store) revokeAllLocked(u *store.User, at time.Time) {
	u.TokensValidAfter = utc(store.NextRevocation(u.TokensValidAfter, at))
	for familyID := range s.families[u.ID] {
		s.revokeFamilyLocked(u.ID, familyID)
	}
}

// familyActiveLocked reports whether the user's family has a token that is
// unrevoked and expires after at.
func (s *Store) familyActiveLocked(userID, familyID string, at time.Time) bool {
	for id := range s.families[userID][familyID] {
		if t := s.tokens[id]; !t.IsRevoked && t.ExpiresAt.After(at) {
			return true
		}
	}
	return false
}

// RotateRefreshToken replaces the active token whose digest is oldHash by
// next, as [store.RefreshTokens] describes: next is stored unrevoked, with
// the old token's DeviceName, DeviceType and SessionExpiresAt, and its
// ExpiresAt kept no later than that.
//
// It returns [store.ErrNotFound] when no token has the digest, or it expires
// (or its session ends) at or before at, or it belongs to another user or
// family than next; [store.ErrReused], after revoking the token's family,
// when the token was rotated (it has a ReplacedBy); [store.ErrSessionEnded]
// when it was revoked otherwise; [ErrMissingField] when next.ID,
// next.TokenHash or next.ExpiresAt is empty; and a *[store.ConflictError]
// naming [store.FieldID] or [store.FieldTokenHash] when next's ID or digest
// is taken. Only a success inserts next, and only success and ErrReused
// change anything.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time) error {
	return s.rotate(ctx, oldHash, next, at, 0)
}

// rotate is RotateRefreshToken with a reuse grace window (0: none); see
// RotateRefreshTokenGrace.
func (s *Store) rotate(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time, grace time.Duration) error {
	if err := checkToken(next); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	at = utc(at)
	id, ok := s.tokenByHash[oldHash]
	if !ok {
		return store.ErrNotFound
	}
	old := s.tokens[id]
	if old.UserID != next.UserID || old.FamilyID != next.FamilyID ||
		!old.ExpiresAt.After(at) || !old.SessionExpiresAt.After(at) {
		return store.ErrNotFound
	}
	inGrace := false
	if old.IsRevoked {
		switch {
		case old.ReplacedBy == "":
			return store.ErrSessionEnded
		case grace <= 0 || old.LastUsedAt.Add(grace).Before(at):
			s.revokeFamilyLocked(old.UserID, old.FamilyID)
			return store.ErrReused
		case !s.familyActiveLocked(old.UserID, old.FamilyID, at):
			return store.ErrSessionEnded
		}
		inGrace = true
	}
	if err := s.checkTokenKeysLocked(next); err != nil {
		return err
	}
	if !inGrace {
		old.IsRevoked, old.ReplacedBy, old.LastUsedAt = true, next.ID, at
		s.tokens[old.ID] = old
	}
	next.IsRevoked, next.ReplacedBy = false, ""
	next.DeviceName, next.DeviceType = old.DeviceName, old.DeviceType
	next.SessionExpiresAt = old.SessionExpiresAt
	s.insertTokenLocked(next)
	return nil
}

// RevokeFamily revokes every token of the user's family. It returns
// [store.ErrNotFound], changing nothing, when no token of the family is
// unrevoked and expires after at; a family of another user counts as none.
func (s *Store) RevokeFamily(ctx context.Context, userID, familyID string, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if !s.familyActiveLocked(userID, familyID, utc(at)) {
		return store.ErrNotFound
	}
	s.revokeFamilyLocked(userID, familyID)
	return nil
}

// RevokeAllSessions revokes every refresh token of the user and moves the
// user's TokensValidAfter to [store.NextRevocation] of at, in one step. It
// returns [store.ErrNotFound] for an unknown user.
func (s *Store) RevokeAllSessions(ctx context.Context, userID string, at time.Time) error {
	return s.updateUser(ctx, userID, func(u *store.User) error {
		s.revokeAllLocked(u, at)
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
