package sqlstore

import (
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

var _ store.SecondFactors = (*Store)(nil)

// SecondFactor returns the user's second factor, with the count of unused
// recovery codes, in one query; [store.ErrNotFound] when there is none.
func (s *Store) SecondFactor(ctx context.Context, userID string) (store.SecondFactor, error) {
	if !storable(userID) {
		return store.SecondFactor{}, store.ErrNotFound
	}
	f := store.SecondFactor{UserID: userID}
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT f.totp_secret, f.confirmed, f.last_step, f.created_at, f.confirmed_at,
			(SELECT COUNT(*) FROM {p}recovery_codes c WHERE c.user_id = f.user_id AND c.used_at IS NULL)
		FROM {p}second_factors f WHERE f.user_id = $1`), userID).
		Scan(&f.TOTPSecret, &f.Confirmed, &f.LastStep, timeCol{&f.CreatedAt}, timeCol{&f.ConfirmedAt}, &f.RecoveryCodesLeft)
	if errNoRows(err) {
		return store.SecondFactor{}, store.ErrNotFound
	}
	if err != nil {
		return store.SecondFactor{}, s.wrap(ctx, "second factor", err)
	}
	return f, nil
}

// PutPendingTOTP stores a pending secret, replacing a pending one, in one
// transaction under the user's lock. It returns [store.ErrNotFound] for an
// unknown user and a *[store.ConflictError] naming [store.FieldTOTP] when
// the user's secret is confirmed.
func (s *Store) PutPendingTOTP(ctx context.Context, userID string, sealed []byte, at time.Time) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		var confirmed bool
		err := q.QueryRowContext(ctx, s.sql(`SELECT confirmed FROM {p}second_factors WHERE user_id = $1`), userID).Scan(&confirmed)
		switch {
		case err == nil && confirmed:
			return &store.ConflictError{Field: store.FieldTOTP}
		case err != nil && !errNoRows(err):
			return err
		}
		if _, err := q.ExecContext(ctx, s.sql(`DELETE FROM {p}second_factors WHERE user_id = $1`), userID); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, s.sql(`INSERT INTO {p}second_factors (user_id, totp_secret, confirmed, last_step, created_at)
			VALUES ($1, $2, FALSE, 0, $3)`), userID, sealed, s.ts(at))
		return err
	})
	return s.txErr(ctx, "put pending totp", err)
}

// ConfirmTOTP confirms the pending secret if it is still sealed, and
// replaces the recovery codes, in one transaction under the user's lock;
// [store.ErrStale] when the pending secret is not sealed.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, sealed []byte, step int64, digests []string, at time.Time) error {
	if !storable(userID) {
		return store.ErrStale
	}
	if err := checkDigests(digests); err != nil {
		return err
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			if err == store.ErrNotFound {
				return store.ErrStale
			}
			return err
		}
		n, err := s.execCount(ctx, q, s.sql(`UPDATE {p}second_factors SET confirmed = TRUE, confirmed_at = $3, last_step = $4
			WHERE user_id = $1 AND NOT confirmed AND totp_secret = $2`), userID, sealed, s.ts(at), step)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrStale
		}
		return s.insertRecoveryCodes(ctx, q, userID, digests, at)
	})
	return s.txErr(ctx, "confirm totp", err)
}

// insertRecoveryCodes deletes the user's codes and inserts digests.
func (s *Store) insertRecoveryCodes(ctx context.Context, q querier, userID string, digests []string, at time.Time) error {
	if _, err := q.ExecContext(ctx, s.sql(`DELETE FROM {p}recovery_codes WHERE user_id = $1`), userID); err != nil {
		return err
	}
	for _, d := range digests {
		if _, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}recovery_codes (user_id, digest, created_at) VALUES ($1, $2, $3)`),
			userID, d, s.ts(at)); err != nil {
			return err
		}
	}
	return nil
}

// checkDigests refuses text that cannot be stored and two equal digests
// before any statement runs.
func checkDigests(digests []string) error {
	seen := make(map[string]bool, len(digests))
	for _, d := range digests {
		if !storable(d) {
			return store.ErrInvalidInput
		}
		if seen[d] {
			return &store.ConflictError{Field: store.FieldDigest}
		}
		seen[d] = true
	}
	return nil
}

// UseTOTPStep records step if it is greater than the last one, in one
// statement: under concurrent uses the row lock makes every other UPDATE
// re-check last_step against the committed value, so exactly one wins.
// It returns [store.ErrStale] for a step that is not greater and
// [store.ErrNotFound] without a confirmed secret.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64, _ time.Time) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	n, err := s.execCount(ctx, s.db, s.sql(`UPDATE {p}second_factors SET last_step = $2
		WHERE user_id = $1 AND confirmed AND last_step < $2`), userID, step)
	if err != nil {
		return s.wrap(ctx, "use totp step", err)
	}
	if n == 1 {
		return nil
	}
	var confirmed bool
	err = s.db.QueryRowContext(ctx, s.sql(`SELECT confirmed FROM {p}second_factors WHERE user_id = $1`), userID).Scan(&confirmed)
	switch {
	case errNoRows(err) || err == nil && !confirmed:
		return store.ErrNotFound
	case err != nil:
		return s.wrap(ctx, "use totp step", err)
	}
	return store.ErrStale
}

// UseRecoveryCode spends an unused code in one statement; of concurrent
// uses exactly one changes the row. It returns [store.ErrNotFound] for an
// unknown or used code.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, digest string, at time.Time) error {
	if !storable(userID, digest) {
		return store.ErrNotFound
	}
	n, err := s.execCount(ctx, s.db, s.sql(`UPDATE {p}recovery_codes SET used_at = $3
		WHERE user_id = $1 AND digest = $2 AND used_at IS NULL`), userID, digest, s.ts(at))
	if err != nil {
		return s.wrap(ctx, "use recovery code", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ReplaceRecoveryCodes replaces the user's codes in one transaction under
// the user's lock. It returns [store.ErrNotFound] without a confirmed
// secret.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, digests []string, at time.Time) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	if err := checkDigests(digests); err != nil {
		return err
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		var confirmed bool
		err := q.QueryRowContext(ctx, s.sql(`SELECT confirmed FROM {p}second_factors WHERE user_id = $1`), userID).Scan(&confirmed)
		switch {
		case errNoRows(err) || err == nil && !confirmed:
			return store.ErrNotFound
		case err != nil:
			return err
		}
		return s.insertRecoveryCodes(ctx, q, userID, digests, at)
	})
	return s.txErr(ctx, "replace recovery codes", err)
}

// DeleteSecondFactor removes the user's secret and codes in one
// transaction; [store.ErrNotFound] when the user has no secret.
func (s *Store) DeleteSecondFactor(ctx context.Context, userID string) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.sql(`DELETE FROM {p}recovery_codes WHERE user_id = $1`), userID); err != nil {
			return err
		}
		n, err := s.execCount(ctx, q, s.sql(`DELETE FROM {p}second_factors WHERE user_id = $1`), userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return s.txErr(ctx, "delete second factor", err)
}
