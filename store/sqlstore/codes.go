package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

const codeColumns = `id, user_id, code, code_type, expires_at, is_used, attempts, created_at`

func scanCode(r rowScanner) (store.VerificationCode, error) {
	var c store.VerificationCode
	var typ string
	err := r.Scan(&c.ID, &c.UserID, &c.CodeHash, &typ, timeCol{&c.ExpiresAt}, &c.IsUsed, &c.Attempts, timeCol{&c.CreatedAt})
	c.Type = store.CodeType(typ)
	return c, err
}

// CreateCode inserts c and, in the same transaction, marks every unused code
// of the same user and type as used, so only the newest code works. It
// returns [store.ErrNotFound] when c.UserID names no user, and an error
// matching [store.ErrConflict] when c.ID is taken. Two concurrent calls for
// one user are serialised (on PostgreSQL by the user's advisory lock), so
// the later one voids the earlier one's code.
func (s *Store) CreateCode(ctx context.Context, c store.VerificationCode) error {
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, c.UserID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE verification_codes SET is_used = TRUE
			WHERE user_id = $1 AND code_type = $2 AND NOT is_used`, c.UserID, string(c.Type)); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO verification_codes (`+codeColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.ID, c.UserID, c.CodeHash, string(c.Type), s.ts(c.ExpiresAt), c.IsUsed, c.Attempts, s.ts(c.CreatedAt))
		return err
	})
	if err != nil && ctx.Err() == nil && !isStoreSentinel(err) {
		switch s.classify(err) {
		case kindUnique:
			return fmt.Errorf("sqlstore: create code: id already exists: %w", store.ErrConflict)
		case kindForeignKey:
			return fmt.Errorf("sqlstore: create code: unknown user: %w", store.ErrNotFound)
		}
	}
	return s.txErr(ctx, "create code", err)
}

// ConsumeCode checks codeHash against the user's active code of the type
// (the newest unused one that expires after at and has fewer than
// maxAttempts wrong attempts) in one statement: it either marks the code used
// and returns it, or counts a wrong attempt and returns
// [store.ErrCodeMismatch]. With no active code it returns
// [store.ErrNotFound].
//
// The UPDATE re-checks is_used and attempts on the row it changes; on
// PostgreSQL a concurrent call waits for the row lock and re-evaluates them
// on the newest row version, so concurrent calls never evaluate more than
// maxAttempts wrong guesses, and a code is used at most once.
func (s *Store) ConsumeCode(ctx context.Context, userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time) (store.VerificationCode, error) {
	c, err := s.consume(ctx, s.db, userID, typ, codeHash, maxAttempts, at)
	if err != nil && !isStoreSentinel(err) {
		return store.VerificationCode{}, s.wrap(ctx, "consume code", err)
	}
	return c, err
}

// consume is ConsumeCode's one statement, run by q (the pool or a
// transaction). Driver errors come back unwrapped.
func (s *Store) consume(ctx context.Context, q querier, userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time) (store.VerificationCode, error) {
	c, err := scanCode(q.QueryRowContext(ctx, `UPDATE verification_codes
		SET attempts = attempts + CASE WHEN code = $3 THEN 0 ELSE 1 END,
			is_used = (is_used OR code = $3)
		WHERE id = (
			SELECT id FROM verification_codes
			WHERE user_id = $1 AND code_type = $2 AND NOT is_used AND expires_at > $5 AND attempts < $4
			ORDER BY created_at DESC, id DESC
			LIMIT 1)
		AND NOT is_used AND attempts < $4 AND expires_at > $5
		RETURNING `+codeColumns, userID, string(typ), codeHash, maxAttempts, s.ts(at)))
	if errNoRows(err) {
		return store.VerificationCode{}, store.ErrNotFound
	}
	if err != nil {
		return store.VerificationCode{}, err
	}
	if !c.IsUsed {
		return store.VerificationCode{}, store.ErrCodeMismatch
	}
	return c, nil
}

// redeem runs, in one transaction under the user's lock, the consumption of
// the user's code of typ and, on a match, apply. A wrong code's attempt is
// committed and reported as store.ErrCodeMismatch; any failure of apply
// rolls the consumption back with it.
func (s *Store) redeem(ctx context.Context, op, userID string, typ store.CodeType, codeHash string, maxAttempts int, at time.Time, apply func(q querier) error) error {
	var mismatch bool
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		_, err := s.consume(ctx, q, userID, typ, codeHash, maxAttempts, at)
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

// VerifyEmailWithCode consumes the user's email-verification code and marks
// the user verified, in one transaction. It returns [store.ErrCodeMismatch]
// (the attempt counted) for a wrong code and [store.ErrNotFound] for no
// active code or an unknown user.
func (s *Store) VerifyEmailWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, at time.Time) (store.User, error) {
	var u store.User
	err := s.redeem(ctx, "verify email", userID, store.CodeEmailVerification, codeHash, maxAttempts, at, func(q querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE users SET is_verified = TRUE, updated_at = $2 WHERE id = $1`, userID, s.ts(at)); err != nil {
			return err
		}
		var err error
		u, err = scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// ResetPasswordWithCode consumes the user's password-reset code and does
// what SetPassword does with no family kept, in one transaction. It returns
// [store.ErrCodeMismatch] (the attempt counted) for a wrong code and
// [store.ErrNotFound] for no active code or an unknown user.
func (s *Store) ResetPasswordWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, hash string, at time.Time) error {
	return s.redeem(ctx, "reset password", userID, store.CodePasswordReset, codeHash, maxAttempts, at, func(q querier) error {
		return s.setPassword(ctx, q, userID, hash, at, "")
	})
}
