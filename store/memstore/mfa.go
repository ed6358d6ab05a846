package memstore

import (
	"bytes"
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

var _ store.SecondFactors = (*Store)(nil)

// factor is a second factor as the Store keeps it: the record, and the
// recovery codes by digest, each with the moment it was used (zero while
// unused).
type factor struct {
	rec   store.SecondFactor
	codes map[string]time.Time
}

// SecondFactor returns the user's second factor with the count of unused
// recovery codes, or [store.ErrNotFound].
func (s *Store) SecondFactor(ctx context.Context, userID string) (store.SecondFactor, error) {
	if err := s.rlock(ctx); err != nil {
		return store.SecondFactor{}, err
	}
	defer s.mu.RUnlock()
	f, ok := s.factors[userID]
	if !ok {
		return store.SecondFactor{}, store.ErrNotFound
	}
	rec := f.rec
	rec.TOTPSecret = bytes.Clone(rec.TOTPSecret)
	for _, used := range f.codes {
		if used.IsZero() {
			rec.RecoveryCodesLeft++
		}
	}
	return rec, nil
}

// PutPendingTOTP stores a pending secret, replacing a pending one. It
// returns [store.ErrNotFound] for an unknown user, a *[store.ConflictError]
// naming [store.FieldTOTP] when the user's secret is confirmed, and
// [ErrMissingField] for an empty secret or zero time.
func (s *Store) PutPendingTOTP(ctx context.Context, userID string, sealed []byte, at time.Time) error {
	switch {
	case len(sealed) == 0:
		return missing("SecondFactor", "TOTPSecret")
	case at.IsZero():
		return missing("SecondFactor", "CreatedAt")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		return store.ErrNotFound
	}
	if f, ok := s.factors[userID]; ok && f.rec.Confirmed {
		return conflict(store.FieldTOTP)
	}
	if s.factors == nil {
		s.factors = map[string]*factor{}
	}
	s.factors[userID] = &factor{rec: store.SecondFactor{
		UserID:     userID,
		TOTPSecret: bytes.Clone(sealed),
		CreatedAt:  utc(at),
	}}
	return nil
}

// ConfirmTOTP confirms the pending secret if it is still sealed, with the
// step and new recovery codes; [store.ErrStale] otherwise.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, sealed []byte, step int64, digests []string, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	f, ok := s.factors[userID]
	if !ok || f.rec.Confirmed || !bytes.Equal(f.rec.TOTPSecret, sealed) {
		return store.ErrStale
	}
	codes, err := codeSet(digests)
	if err != nil {
		return err
	}
	f.rec.Confirmed, f.rec.ConfirmedAt, f.rec.LastStep = true, utc(at), step
	f.codes = codes
	return nil
}

// UseTOTPStep sets the last step to step if it is greater; [store.ErrStale]
// when it is not, [store.ErrNotFound] without a confirmed secret.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64, _ time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	f, ok := s.factors[userID]
	switch {
	case !ok || !f.rec.Confirmed:
		return store.ErrNotFound
	case step <= f.rec.LastStep:
		return store.ErrStale
	}
	f.rec.LastStep = step
	return nil
}

// UseRecoveryCode spends an unused code; [store.ErrNotFound] for an
// unknown or used one.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, digest string, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	f, ok := s.factors[userID]
	if !ok {
		return store.ErrNotFound
	}
	used, ok := f.codes[digest]
	if !ok || !used.IsZero() {
		return store.ErrNotFound
	}
	f.codes[digest] = utc(at)
	return nil
}

// ReplaceRecoveryCodes replaces every code of the user by digests.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, digests []string, _ time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	f, ok := s.factors[userID]
	if !ok || !f.rec.Confirmed {
		return store.ErrNotFound
	}
	codes, err := codeSet(digests)
	if err != nil {
		return err
	}
	f.codes = codes
	return nil
}

// DeleteSecondFactor removes the user's secret and recovery codes.
func (s *Store) DeleteSecondFactor(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.factors[userID]; !ok {
		return store.ErrNotFound
	}
	delete(s.factors, userID)
	return nil
}

// codeSet returns the digests as unused codes, or a conflict for two equal
// ones.
func codeSet(digests []string) (map[string]time.Time, error) {
	codes := make(map[string]time.Time, len(digests))
	for _, d := range digests {
		if _, dup := codes[d]; dup {
			return nil, conflict(store.FieldDigest)
		}
		codes[d] = time.Time{}
	}
	return codes, nil
}
