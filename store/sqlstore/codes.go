package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

const codeColumns = `id, user_id, code, code_type, expires_at, is_used, attempts, created_at`

// CreateCode inserts c and, in the same transaction, marks every unused code
// of the same user and type as used, so only the newest code works. It
// returns [store.ErrNotFound] when c.UserID names no user, a
// *[store.ConflictError] naming [store.FieldID] when c.ID is taken, and
// [store.ErrInvalidInput] for text that cannot be stored. Two concurrent
// calls for one user are serialised (on PostgreSQL by the user's advisory
// lock), so the later one voids the earlier one's code.
func (s *Store) CreateCode(ctx context.Context, c store.VerificationCode) error {
	if !storable(c.ID, c.CodeHash, string(c.Type)) {
		return store.ErrInvalidInput
	}
	if !storable(c.UserID) {
		return store.ErrNotFound
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, c.UserID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.sql(`UPDATE {p}verification_codes SET is_used = TRUE
			WHERE user_id = $1 AND code_type = $2 AND NOT is_used`), c.UserID, string(c.Type)); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}verification_codes (`+codeColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
			c.ID, c.UserID, c.CodeHash, string(c.Type), s.ts(c.ExpiresAt), c.IsUsed, c.Attempts, s.ts(c.CreatedAt))
		return err
	})
	return s.writeErr(ctx, "create code", err)
}

// CheckCode checks codeHash against the user's active code of the type (the
// newest unused one that expires after at and has fewer than maxAttempts
// wrong attempts) without spending it, in one statement: it returns nil
// when the digest matches, counts a wrong attempt and returns
// [store.ErrCodeMismatch] when it does not, and returns [store.ErrNotFound]
// when there is no active code.
//
// The UPDATE re-checks is_used and attempts on the row it changes; on
// PostgreSQL a concurrent call waits for the row lock and re-evaluates them
// on the newest row version, so concurrent calls never evaluate more than
// maxAttempts wrong guesses.
func (s *Store) CheckCode(ctx context.Context, userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time) error {
	if !storable(userID, string(typ)) {
		return store.ErrNotFound
	}
	err := s.attempt(ctx, s.db, false, userID, typ, codeHash, maxAttempts, at)
	if err != nil && !isStoreSentinel(err) {
		return s.wrap(ctx, "check code", err)
	}
	return err
}

// attempt is one statement, run by q (the pool or a transaction), that
// matches codeHash against the user's active code of typ or counts a wrong
// attempt against it; spend marks a matching code used. It returns nil on a
// match, store.ErrCodeMismatch, or store.ErrNotFound; driver errors come
// back unwrapped. A digest that cannot be stored is a wrong one (no code
// has the empty digest).
func (s *Store) attempt(ctx context.Context, q querier, spend bool, userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time) error {
	if !storable(codeHash) {
		codeHash = ""
	}
	used := `is_used`
	if spend {
		used = `(is_used OR code = $3)`
	}
	var matched bool
	err := q.QueryRowContext(ctx, s.sql(`UPDATE {p}verification_codes
		SET attempts = attempts + CASE WHEN code = $3 THEN 0 ELSE 1 END,
			is_used = `+used+`
		WHERE id = (
			SELECT id FROM {p}verification_codes
			WHERE user_id = $1 AND code_type = $2 AND NOT is_used AND expires_at > $5 AND attempts < $4
			ORDER BY created_at DESC, id DESC
			LIMIT 1)
		AND NOT is_used AND attempts < $4 AND expires_at > $5
		RETURNING code = $3`), userID, string(typ), codeHash, maxAttempts, s.ts(at)).Scan(&matched)
	if errNoRows(err) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	if !matched {
		return store.ErrCodeMismatch
	}
	return nil
}

// redeem runs, in one transaction under the user's lock, the spending of
// the user's code of typ and, on a match, apply. A wrong code's attempt is
// committed and reported as store.ErrCodeMismatch; any failure of apply
// rolls the spending back with it.
func (s *Store) redeem(ctx context.Context, op, userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time, apply func(q querier) error) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	var mismatch bool
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		err := s.attempt(ctx, q, true, userID, typ, codeHash, maxAttempts, at)
		if errors.Is(err, store.ErrCodeMismatch) {
			mismatch = true // commit the counted attempt
			return nil
		}
		if err != nil {
			return err
		}
		return apply(q)
	})
	if err == nil && mismatch {
		return store.ErrCodeMismatch
	}
	return s.txErr(ctx, op, err)
}

// VerifyEmailWithCode spends the user's email-verification code and marks
// the user verified, in one transaction. It returns [store.ErrCodeMismatch]
// (the attempt counted) for a wrong code and [store.ErrNotFound] for no
// active code or an unknown user.
func (s *Store) VerifyEmailWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, at time.Time) (store.User, error) {
	var u store.User
	err := s.redeem(ctx, "verify email", userID, store.CodeEmailVerification, codeHash, maxAttempts, at, func(q querier) error {
		var err error
		u, err = scanUser(q.QueryRowContext(ctx, s.sql(`UPDATE {p}users SET is_verified = TRUE, updated_at = $2 WHERE id = $1
			RETURNING `+userColumns), userID, s.ts(at)))
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// ResetPasswordWithCode spends the user's password-reset code and does
// what SetPassword does with no family kept, whatever the old hash, in one
// transaction. It returns [store.ErrCodeMismatch] (the attempt counted) for
// a wrong code, [store.ErrNotFound] for no active code or an unknown user,
// and [store.ErrInvalidInput], counting nothing, for a hash that cannot be
// stored.
func (s *Store) ResetPasswordWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, hash string, at time.Time) error {
	if !storable(hash) {
		return store.ErrInvalidInput
	}
	return s.redeem(ctx, "reset password", userID, store.CodePasswordReset, codeHash, maxAttempts, at, func(q querier) error {
		return s.setPassword(ctx, q, userID, nil, hash, at, "")
	})
}
