package sqlstore

import (
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

const userColumns = `id, username, email, hashed_password, is_active, is_verified, is_superuser,
	created_at, updated_at, last_login_at, tokens_valid_after`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (store.User, error) {
	var u store.User
	err := r.Scan(&u.ID, &u.Username, &u.Email, &u.HashedPassword,
		&u.IsActive, &u.IsVerified, &u.IsSuperuser,
		timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, timeCol{&u.LastLoginAt}, timeCol{&u.TokensValidAfter})
	return u, err
}

// CreateUser inserts u, storing [store.Fold] of its username and email in
// unique columns. It returns a *[store.ConflictError] (matching
// [store.ErrConflict]) naming the field when the username or the email is
// taken; when both are, which one it names is up to the database. An ID
// that is taken gives an error matching [store.ErrConflict]. Of concurrent
// creations with one email exactly one succeeds: the unique index decides.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO users (`+userColumns+`, username_folded, email_folded)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		u.ID, u.Username, u.Email, u.HashedPassword, u.IsActive, u.IsVerified, u.IsSuperuser,
		s.ts(u.CreatedAt), s.ts(u.UpdatedAt), s.nullTS(u.LastLoginAt), s.nullTS(u.TokensValidAfter),
		store.Fold(u.Username), store.Fold(u.Email))
	if err != nil && s.classify(err) == kindUnique && ctx.Err() == nil {
		return conflict(err)
	}
	return s.wrap(ctx, "create user", err)
}

// UserByID returns the user with the id, or [store.ErrNotFound].
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	return s.userWhere(ctx, "user by id", "id", id)
}

// UserByUsername returns the user whose username folds ([store.Fold]) to the
// same as username, or [store.ErrNotFound].
func (s *Store) UserByUsername(ctx context.Context, username string) (store.User, error) {
	return s.userWhere(ctx, "user by username", "username_folded", store.Fold(username))
}

// UserByEmail returns the user whose email folds ([store.Fold]) to the same
// as email, or [store.ErrNotFound].
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	return s.userWhere(ctx, "user by email", "email_folded", store.Fold(email))
}

// userWhere looks a user up by one unique column; column is a constant of
// this file, never input.
func (s *Store) userWhere(ctx context.Context, op, column, value string) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+column+` = $1`, value))
	if errNoRows(err) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, s.wrap(ctx, op, err)
	}
	return u, nil
}

// RecordLogin sets the user's LastLoginAt to at. It returns
// [store.ErrNotFound] for an unknown user.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	return s.updateUser(ctx, "record login",
		`UPDATE users SET last_login_at = $2 WHERE id = $1`, userID, s.ts(at))
}

// ReplacePasswordHash sets the user's hash to newHash only if it is still
// oldHash, leaving UpdatedAt alone (a rehash changes nothing the user did).
// It returns [store.ErrNotFound] when the user is gone or the hash has
// changed.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	return s.updateUser(ctx, "replace password hash",
		`UPDATE users SET hashed_password = $3 WHERE id = $1 AND hashed_password = $2`, userID, oldHash, newHash)
}

// MarkVerified sets IsVerified and UpdatedAt. It returns [store.ErrNotFound]
// for an unknown user.
func (s *Store) MarkVerified(ctx context.Context, userID string, at time.Time) error {
	return s.updateUser(ctx, "mark verified",
		`UPDATE users SET is_verified = TRUE, updated_at = $2 WHERE id = $1`, userID, s.ts(at))
}

// SetActive sets IsActive and UpdatedAt. It returns [store.ErrNotFound] for
// an unknown user.
func (s *Store) SetActive(ctx context.Context, userID string, active bool, at time.Time) error {
	return s.updateUser(ctx, "set active",
		`UPDATE users SET is_active = $2, updated_at = $3 WHERE id = $1`, userID, active, s.ts(at))
}

// updateUser runs one UPDATE of one user and reports [store.ErrNotFound]
// when it matched no row.
func (s *Store) updateUser(ctx context.Context, op, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// SetPassword, in one transaction, sets the user's hash, UpdatedAt and
// TokensValidAfter (both to at), revokes every refresh token of the user
// outside keepFamily ("" keeps none), and marks the user's unused
// password-reset codes used. It returns [store.ErrNotFound] for an unknown
// user.
//
// The user's lock is taken first (see lockUser), so that a rotation running
// at the same moment either finishes before the tokens are revoked (and its
// new token is revoked too) or finds its token revoked.
func (s *Store) SetPassword(ctx context.Context, userID, hash string, at time.Time, keepFamily string) error {
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		return s.setPassword(ctx, q, userID, hash, at, keepFamily)
	})
	return s.txErr(ctx, "set password", err)
}

// setPassword is SetPassword's statements, run by q in a transaction that
// holds the user's lock.
func (s *Store) setPassword(ctx context.Context, q querier, userID, hash string, at time.Time, keepFamily string) error {
	validAfter, err := s.nextRevocation(ctx, q, userID, at)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `UPDATE users SET hashed_password = $2, updated_at = $3, tokens_valid_after = $4
		WHERE id = $1`, userID, hash, s.ts(at), s.ts(validAfter)); err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET is_revoked = TRUE
		WHERE user_id = $1 AND NOT is_revoked AND family_id <> $2`, userID, keepFamily); err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE verification_codes SET is_used = TRUE
		WHERE user_id = $1 AND code_type = $2 AND NOT is_used`, userID, string(store.CodePasswordReset))
	return err
}

// DeleteUser removes the user with its refresh tokens and codes, in one
// transaction (it does not rely on ON DELETE CASCADE, which SQLite applies
// only with foreign_keys on). It returns [store.ErrNotFound] for an unknown
// user.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE user_id = $1`, userID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM verification_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, userID)
		return err
	})
	return s.txErr(ctx, "delete user", err)
}

// lockUser makes sure the user exists and, on PostgreSQL, takes the user's
// advisory lock until the transaction ends. Every method that revokes
// refresh tokens in bulk, and every rotation, takes this lock before it
// reads the tokens, so a bulk revocation cannot miss a token that a
// concurrent rotation inserts: under READ COMMITTED a statement does not
// see rows committed after it started, and the statements after the lock
// start after any rotation that held it has committed. SQLite transactions
// here are IMMEDIATE, hence already serialised.
func (s *Store) lockUser(ctx context.Context, q querier, userID string) error {
	var one int
	err := q.QueryRowContext(ctx, s.q.lockUser, userID).Scan(&one)
	if errNoRows(err) {
		return store.ErrNotFound
	}
	return err
}

// nextRevocation reads the user's TokensValidAfter and returns the moment a
// revocation at at records ([store.NextRevocation]). The caller holds the
// user's lock (lockUser), so two revocations cannot read the same value.
func (s *Store) nextRevocation(ctx context.Context, q querier, userID string, at time.Time) (time.Time, error) {
	var prev time.Time
	if err := q.QueryRowContext(ctx, `SELECT tokens_valid_after FROM users WHERE id = $1`, userID).Scan(timeCol{&prev}); err != nil {
		return time.Time{}, err
	}
	return store.NextRevocation(prev, at), nil
}

// txErr wraps the error of a transaction, passing the sentinels of package
// store through unchanged.
func (s *Store) txErr(ctx context.Context, op string, err error) error {
	if err == nil || isStoreSentinel(err) {
		return err
	}
	return s.wrap(ctx, op, err)
}

func isStoreSentinel(err error) bool {
	switch err {
	case store.ErrNotFound, store.ErrReused, store.ErrCodeMismatch:
		return true
	}
	return false
}
