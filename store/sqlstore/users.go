package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

const userColumns = `id, username, email, hashed_password, is_active, is_verified, is_superuser,
	created_at, updated_at, last_login_at, tokens_valid_after`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner, extra ...any) (store.User, error) {
	var u store.User
	dest := append([]any{&u.ID, &u.Username, &u.Email, &u.HashedPassword,
		&u.IsActive, &u.IsVerified, &u.IsSuperuser,
		timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, timeCol{&u.LastLoginAt}, timeCol{&u.TokensValidAfter}}, extra...)
	err := r.Scan(dest...)
	return u, err
}

// userStorable reports whether every text field of u can be stored.
func userStorable(u store.User) bool {
	return storable(u.ID, u.Username, u.Email, u.HashedPassword)
}

// CreateUser inserts u, storing [store.Fold] of its username and email in
// unique columns. It returns a *[store.ConflictError] (matching
// [store.ErrConflict]) naming the key when the ID, the username or the
// email is taken; when several are, which one it names is up to the
// database. Of concurrent creations with one email exactly one succeeds:
// the unique index decides. Text that cannot be stored (a NUL byte,
// invalid UTF-8) is [store.ErrInvalidInput].
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if !userStorable(u) {
		return store.ErrInvalidInput
	}
	return s.writeErr(ctx, "create user", s.insertUser(ctx, s.db, u))
}

func (s *Store) insertUser(ctx context.Context, q querier, u store.User) error {
	_, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}users (`+userColumns+`, username_folded, email_folded)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`),
		u.ID, u.Username, u.Email, u.HashedPassword, u.IsActive, u.IsVerified, u.IsSuperuser,
		s.ts(u.CreatedAt), s.ts(u.UpdatedAt), s.nullTS(u.LastLoginAt), s.nullTS(u.TokensValidAfter),
		store.Fold(u.Username), store.Fold(u.Email))
	return err
}

// replaceAttempts bounds the retries of ReplaceUnverifiedUser on
// PostgreSQL, where a plain CreateUser of the same email (which does not
// queue on the email's lock) can commit between the look-up and the insert.
const replaceAttempts = 5

// ReplaceUnverifiedUser inserts u like CreateUser, after deleting, in the
// same transaction, a user who holds u's folded email and has not verified
// it, with every record of theirs. A verified holder of the email, or a
// holder of the username other than the replaced user, is a
// *[store.ConflictError] and changes nothing.
//
// On PostgreSQL the replacements of one email queue on an advisory lock of
// the folded email, and the replaced user's lock is taken before the user
// is deleted (as every method that writes a user's tokens takes it), so of
// concurrent registrations of one unverified address each replaces the one
// before it. When a concurrent CreateUser takes the email between the
// look-up and the insert, the whole step is retried, a few times at most.
func (s *Store) ReplaceUnverifiedUser(ctx context.Context, u store.User) error {
	if !userStorable(u) {
		return store.ErrInvalidInput
	}
	var err error
	for range replaceAttempts {
		err = s.inTx(ctx, func(q querier) error { return s.replaceUnverified(ctx, q, u) })
		var ce *store.ConflictError
		if s.dialect != Postgres || ctx.Err() != nil || !s.retryReplace(err) ||
			errors.As(err, &ce) {
			break
		}
	}
	return s.writeErr(ctx, "replace unverified user", err)
}

// retryReplace reports whether a replacement failed only because another
// transaction got in between: the email taken after the look-up, or a
// deadlock or serialisation failure.
func (s *Store) retryReplace(err error) bool {
	if err == nil {
		return false
	}
	if s.classify(err) == kindUnique && conflictField(err) == store.FieldEmail {
		return true
	}
	var st sqlStater
	if errors.As(err, &st) {
		switch st.SQLState() {
		case "40001", "40P01":
			return true
		}
	}
	return false
}

func (s *Store) replaceUnverified(ctx context.Context, q querier, u store.User) error {
	email := store.Fold(u.Email)
	if s.dialect == Postgres {
		if _, err := q.ExecContext(ctx, `SELECT `+pgEmailLock, email); err != nil {
			return err
		}
	}
	var holder string
	err := q.QueryRowContext(ctx, s.sql(`SELECT id FROM {p}users WHERE email_folded = $1`), email).Scan(&holder)
	if err != nil && !errNoRows(err) {
		return err
	}
	if err == nil {
		// The holder's lock first: a verification of the holder that is
		// under way then commits before the next statement reads is_verified.
		if err := s.lockUser(ctx, q, holder); err != nil && err != store.ErrNotFound {
			return err
		}
		var verified bool
		err := q.QueryRowContext(ctx, s.sql(`SELECT is_verified FROM {p}users WHERE id = $1`), holder).Scan(&verified)
		switch {
		case errNoRows(err): // deleted meanwhile
		case err != nil:
			return err
		case verified:
			return &store.ConflictError{Field: store.FieldEmail}
		default:
			if err := s.deleteUserRows(ctx, q, holder); err != nil {
				return err
			}
		}
	}
	if err := s.insertUser(ctx, q, u); err != nil {
		if s.classify(err) == kindUnique && conflictField(err) == store.FieldUsername {
			// Rolls the deletion back with the transaction.
			return &store.ConflictError{Field: store.FieldUsername}
		}
		return err
	}
	return nil
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
// this file, never input. Text that cannot be stored matches no user.
func (s *Store) userWhere(ctx context.Context, op, column, value string) (store.User, error) {
	if !storable(value) {
		return store.User{}, store.ErrNotFound
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, s.sql(`SELECT `+userColumns+` FROM {p}users WHERE `+column+` = $1`), value))
	if errNoRows(err) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, s.wrap(ctx, op, err)
	}
	return u, nil
}

// UserWithSession returns the user and, in the same query, whether the
// user has an active token (unrevoked, expiring after at, in a session that
// has not reached its absolute end) in the family sessionID. It returns
// [store.ErrNotFound] for an unknown user and [store.ErrSessionEnded] when
// sessionID is not empty and has no such token.
func (s *Store) UserWithSession(ctx context.Context, userID, sessionID string, at time.Time) (store.User, error) {
	if !storable(userID) {
		return store.User{}, store.ErrNotFound
	}
	validSession := storable(sessionID)
	if !validSession {
		sessionID = "" // matches no family; the user is still looked up
	}
	var active bool
	u, err := scanUser(s.db.QueryRowContext(ctx, s.sql(`SELECT `+userColumns+`,
			EXISTS (SELECT 1 FROM {p}refresh_tokens t
				WHERE t.user_id = u.id AND t.family_id = $2 AND NOT t.is_revoked
				AND t.expires_at > $3 AND t.session_expires_at > $3)
		FROM {p}users u WHERE u.id = $1`), userID, sessionID, s.ts(at)), &active)
	if errNoRows(err) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, s.wrap(ctx, "user with session", err)
	}
	if !validSession || (sessionID != "" && !active) {
		return store.User{}, store.ErrSessionEnded
	}
	return u, nil
}

// RecordLogin sets the user's LastLoginAt to at. It returns
// [store.ErrNotFound] for an unknown user.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	n, err := s.execCount(ctx, s.db, s.sql(`UPDATE {p}users SET last_login_at = $2 WHERE id = $1`), userID, s.ts(at))
	if err != nil {
		return s.wrap(ctx, "record login", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ReplacePasswordHash sets the user's hash to newHash only if it is still
// oldHash, leaving UpdatedAt alone (a rehash changes nothing the user did).
// It returns [store.ErrStale] when the hash has changed and
// [store.ErrNotFound] when the user is gone; a newHash that cannot be
// stored is [store.ErrInvalidInput].
func (s *Store) ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	if !storable(newHash) {
		return store.ErrInvalidInput
	}
	if storable(userID, oldHash) {
		n, err := s.execCount(ctx, s.db, s.sql(`UPDATE {p}users SET hashed_password = $3 WHERE id = $1 AND hashed_password = $2`),
			userID, oldHash, newHash)
		if err != nil {
			return s.wrap(ctx, "replace password hash", err)
		}
		if n == 1 {
			return nil
		}
	}
	return s.staleOrNotFound(ctx, "replace password hash", userID)
}

// staleOrNotFound tells, after a conditional write that matched nothing,
// whether the user is gone (store.ErrNotFound) or changed (store.ErrStale).
func (s *Store) staleOrNotFound(ctx context.Context, op, userID string) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	var one int
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT 1 FROM {p}users WHERE id = $1`), userID).Scan(&one)
	switch {
	case errNoRows(err):
		return store.ErrNotFound
	case err != nil:
		return s.wrap(ctx, op, err)
	}
	return store.ErrStale
}

// SetActive sets IsActive and UpdatedAt. Disabling also revokes every
// refresh token of the user and sets TokensValidAfter to
// [store.NextRevocation](TokensValidAfter, at), in the same transaction
// under the user's lock. It returns [store.ErrNotFound] for an unknown
// user.
func (s *Store) SetActive(ctx context.Context, userID string, active bool, at time.Time) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		if active {
			_, err := q.ExecContext(ctx, s.sql(`UPDATE {p}users SET is_active = TRUE, updated_at = $2 WHERE id = $1`),
				userID, s.ts(at))
			return err
		}
		validAfter, err := s.nextRevocation(ctx, q, userID, at)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.sql(`UPDATE {p}users SET is_active = FALSE, updated_at = $2, tokens_valid_after = $3
			WHERE id = $1`), userID, s.ts(at), s.ts(validAfter)); err != nil {
			return err
		}
		return s.revokeAll(ctx, q, userID, "")
	})
	return s.txErr(ctx, "set active", err)
}

// execCount runs one statement and returns how many rows it changed.
func (s *Store) execCount(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SetPassword, in one transaction and only if the user's hash is still
// oldHash, sets the hash to newHash, UpdatedAt to at and TokensValidAfter
// to [store.NextRevocation](TokensValidAfter, at), revokes every refresh
// token of the user outside keepFamily ("" keeps none), and marks the
// user's unused password-reset codes used. It returns [store.ErrNotFound]
// for an unknown user, [store.ErrStale] (changing nothing) when the hash is
// no longer oldHash, and [store.ErrInvalidInput] for a newHash that cannot
// be stored.
//
// The user's lock is taken first (see lockUser), so that a rotation or a
// session start running at the same moment either finishes before the
// tokens are revoked (and its new token is revoked too) or finds the user
// changed.
func (s *Store) SetPassword(ctx context.Context, userID, oldHash, newHash string, at time.Time, keepFamily string) error {
	if !storable(newHash) {
		return store.ErrInvalidInput
	}
	if !storable(userID) {
		return store.ErrNotFound
	}
	if !storable(keepFamily) {
		keepFamily = "" // names no family: keeps none
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		if !storable(oldHash) {
			return store.ErrStale
		}
		return s.setPassword(ctx, q, userID, &oldHash, newHash, at, keepFamily)
	})
	return s.txErr(ctx, "set password", err)
}

// setPassword is SetPassword's statements, run by q in a transaction that
// holds the user's lock. With oldHash nil the hash is replaced whatever it
// is (a reset); otherwise only if it is *oldHash, or store.ErrStale.
func (s *Store) setPassword(ctx context.Context, q querier, userID string, oldHash *string, newHash string, at time.Time, keepFamily string) error {
	validAfter, err := s.nextRevocation(ctx, q, userID, at)
	if err != nil {
		return err
	}
	query := `UPDATE {p}users SET hashed_password = $2, updated_at = $3, tokens_valid_after = $4 WHERE id = $1`
	args := []any{userID, newHash, s.ts(at), s.ts(validAfter)}
	if oldHash != nil {
		query += ` AND hashed_password = $5`
		args = append(args, *oldHash)
	}
	n, err := s.execCount(ctx, q, s.sql(query), args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrStale
	}
	if err := s.revokeAll(ctx, q, userID, keepFamily); err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, s.sql(`UPDATE {p}verification_codes SET is_used = TRUE
		WHERE user_id = $1 AND code_type = $2 AND NOT is_used`), userID, string(store.CodePasswordReset))
	return err
}

// revokeAll revokes every unrevoked token of the user outside keepFamily
// ("" keeps none). The caller holds the user's lock.
func (s *Store) revokeAll(ctx context.Context, q querier, userID, keepFamily string) error {
	_, err := q.ExecContext(ctx, s.sql(`UPDATE {p}refresh_tokens SET is_revoked = TRUE
		WHERE user_id = $1 AND NOT is_revoked AND family_id <> $2`), userID, keepFamily)
	return err
}

// DeleteUser removes the user with their refresh tokens, codes, tickets,
// second factor and recovery codes, identities, passkeys and WebAuthn
// handle, in one transaction (it
// does not rely on ON DELETE CASCADE, which SQLite applies only with
// foreign_keys on). It returns [store.ErrNotFound] for an unknown user.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		return s.deleteUserRows(ctx, q, userID)
	})
	return s.txErr(ctx, "delete user", err)
}

// deleteUserRows deletes the user and every record of theirs. The caller
// holds the user's lock.
func (s *Store) deleteUserRows(ctx context.Context, q querier, userID string) error {
	for _, query := range []string{
		`DELETE FROM {p}refresh_tokens WHERE user_id = $1`,
		`DELETE FROM {p}verification_codes WHERE user_id = $1`,
		`DELETE FROM {p}tickets WHERE user_id = $1`,
		`DELETE FROM {p}recovery_codes WHERE user_id = $1`,
		`DELETE FROM {p}second_factors WHERE user_id = $1`,
		`DELETE FROM {p}identities WHERE user_id = $1`,
		`DELETE FROM {p}passkeys WHERE user_id = $1`,
		`DELETE FROM {p}webauthn_users WHERE user_id = $1`,
		`DELETE FROM {p}users WHERE id = $1`,
	} {
		if _, err := q.ExecContext(ctx, s.sql(query), userID); err != nil {
			return err
		}
	}
	return nil
}

// lockUser makes sure the user exists and, on PostgreSQL, takes the user's
// advisory lock until the transaction ends. Every method that revokes
// refresh tokens in bulk, every rotation and every session start takes
// this lock before it reads or writes the tokens, so a bulk revocation
// cannot miss a token that a concurrent rotation or login inserts: under
// READ COMMITTED a statement does not see rows committed after it started,
// and the statements after the lock start after any writer that held it
// has committed. SQLite transactions here are IMMEDIATE, hence already
// serialised.
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
	if err := q.QueryRowContext(ctx, s.sql(`SELECT tokens_valid_after FROM {p}users WHERE id = $1`), userID).Scan(timeCol{&prev}); err != nil {
		return time.Time{}, err
	}
	return store.NextRevocation(prev, at), nil
}

// txErr wraps the error of a transaction, passing the sentinels of package
// store (and a *store.ConflictError) through unchanged.
func (s *Store) txErr(ctx context.Context, op string, err error) error {
	if err == nil || isStoreSentinel(err) {
		return err
	}
	return s.wrap(ctx, op, err)
}

func isStoreSentinel(err error) bool {
	switch err {
	case store.ErrNotFound, store.ErrReused, store.ErrCodeMismatch, store.ErrStale,
		store.ErrSessionEnded, store.ErrInvalidInput, store.ErrLastLoginMethod, store.ErrLastSuperuser:
		return true
	}
	_, ok := err.(*store.ConflictError)
	return ok
}
