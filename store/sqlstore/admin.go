package sqlstore

import (
	"context"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/forgeauth/forgeauth/store"
)

// pgSuperuserLock serialises, on PostgreSQL, the changes that may take an
// active superuser away ("forgesup" in ASCII), so that two of them cannot
// both count the other as the one who remains. It is always taken before
// a user's lock.
const pgSuperuserLock int64 = 0x666f726765737570

// CreateEmailChangeCode inserts c bound to newEmail and marks the user's
// unused email-change codes used, in one transaction under the user's
// lock. It returns [store.ErrNotFound] for an unknown user, a
// *[store.ConflictError] naming [store.FieldID] for a taken ID, and
// [store.ErrInvalidInput] for text that cannot be stored or a c.Type other
// than [store.CodeEmailChange].
func (s *Store) CreateEmailChangeCode(ctx context.Context, c store.VerificationCode, newEmail string) error {
	if c.Type != store.CodeEmailChange || newEmail == "" || !storable(c.ID, c.CodeHash, newEmail) {
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
		_, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}verification_codes (`+codeColumns+`, new_email)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
			c.ID, c.UserID, c.CodeHash, string(c.Type), s.ts(c.ExpiresAt), c.IsUsed, c.Attempts, s.ts(c.CreatedAt), newEmail)
		return err
	})
	return s.writeErr(ctx, "create email change code", err)
}

// activeEmailChange is the address of the user's active email-change code.
const activeEmailChange = `SELECT new_email FROM {p}verification_codes
	WHERE user_id = $1 AND code_type = $2 AND NOT is_used AND expires_at > $3 AND attempts < $4
	ORDER BY created_at DESC, id DESC
	LIMIT 1`

// PendingEmail returns the address the user's active email-change code is
// bound to, or [store.ErrNotFound].
func (s *Store) PendingEmail(ctx context.Context, userID string, maxAttempts int, at time.Time) (string, error) {
	if !storable(userID) {
		return "", store.ErrNotFound
	}
	var email string
	err := s.db.QueryRowContext(ctx, s.sql(activeEmailChange), userID, string(store.CodeEmailChange), s.ts(at), maxAttempts).
		Scan(stringCol{&email})
	switch {
	case errNoRows(err):
		return "", store.ErrNotFound
	case err != nil:
		return "", s.wrap(ctx, "pending email", err)
	}
	return email, nil
}

// ChangeEmailWithCode spends the user's active email-change code when
// codeHash matches it and sets the user's email to the code's address, in
// one transaction under the user's lock. It returns [store.ErrCodeMismatch]
// (the attempt counted) for a wrong code, [store.ErrNotFound] for no
// active code or an unknown user, and a *[store.ConflictError] naming
// [store.FieldEmail], the transaction rolled back, when another user holds
// the address: the unique index of the folded email decides, so of two
// concurrent changes to one address one wins.
func (s *Store) ChangeEmailWithCode(ctx context.Context, userID, codeHash string, maxAttempts int, at time.Time) (store.User, error) {
	if !storable(userID) {
		return store.User{}, store.ErrNotFound
	}
	var (
		u        store.User
		newEmail string
	)
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		err := q.QueryRowContext(ctx, s.sql(activeEmailChange), userID, string(store.CodeEmailChange), s.ts(at), maxAttempts).
			Scan(stringCol{&newEmail})
		if errNoRows(err) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.User{}, s.txErr(ctx, "change email", err)
	}
	err = s.redeem(ctx, "change email", userID, store.CodeEmailChange, codeHash, maxAttempts, at, func(q querier) error {
		var err error
		u, err = scanUser(q.QueryRowContext(ctx, s.sql(`UPDATE {p}users SET email = $2, email_folded = $3, updated_at = $4
			WHERE id = $1 AND EXISTS (SELECT 1 FROM {p}verification_codes
				WHERE user_id = $1 AND code_type = $5 AND new_email = $2 AND code = $6 AND is_used)
			RETURNING `+userColumns), userID, newEmail, store.Fold(newEmail), s.ts(at), string(store.CodeEmailChange), codeHash))
		switch {
		case errNoRows(err):
			// A newer code for another address came in between the two
			// transactions; the one spent is not bound to newEmail.
			return store.ErrNotFound
		case err != nil && s.classify(err) == kindUnique:
			return &store.ConflictError{Field: store.FieldEmail}
		}
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// ListUsers returns up to q.Limit users whose ID sorts after q.After, in
// the order of their IDs (the database's order of text, the primary key's
// index), whose folded username or email starts with the folded q.Prefix.
// The prefix is compared as text with substr, never as a LIKE pattern.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	if q.Limit < 1 || !storable(q.Prefix, q.After) {
		return []store.User{}, nil
	}
	query := `SELECT ` + userColumns + ` FROM {p}users WHERE id > $1`
	args := []any{q.After}
	if prefix := store.Fold(q.Prefix); prefix != "" {
		query += ` AND (substr(username_folded, 1, $3) = $2 OR substr(email_folded, 1, $3) = $2)`
		args = append(args, prefix, utf8.RuneCountInString(prefix))
	}
	query += ` ORDER BY id LIMIT ` + strconv.Itoa(q.Limit)
	return queryAll(ctx, s, "list users", query, func(r rowScanner) (store.User, error) { return scanUser(r) }, args...)
}

// UpdateUser sets the flags up names and UpdatedAt in one transaction; a
// disabling also revokes every session and moves TokensValidAfter, as
// [Store.SetActive] does. It returns [store.ErrNotFound] for an unknown
// user and [store.ErrLastSuperuser] when it would take away the only
// active superuser. On PostgreSQL such changes queue on one advisory lock
// and count the superusers after taking it; SQLite transactions here are
// IMMEDIATE, hence serialised.
func (s *Store) UpdateUser(ctx context.Context, userID string, up store.UserUpdate, at time.Time) (store.User, error) {
	if !storable(userID) {
		return store.User{}, store.ErrNotFound
	}
	var u store.User
	err := s.inTx(ctx, func(q querier) error {
		cur, err := s.lockForRemoval(ctx, q, userID, func(cur store.User) bool { return up.RemovesSuperuser(cur) })
		if err != nil {
			return err
		}
		next := up.Apply(cur)
		validAfter := cur.TokensValidAfter
		disabling := cur.IsActive && !next.IsActive
		if disabling {
			validAfter = store.NextRevocation(validAfter, at)
		}
		u, err = scanUser(q.QueryRowContext(ctx, s.sql(`UPDATE {p}users
			SET is_active = $2, is_verified = $3, is_superuser = $4, updated_at = $5, tokens_valid_after = $6
			WHERE id = $1 RETURNING `+userColumns),
			userID, next.IsActive, next.IsVerified, next.IsSuperuser, s.ts(at), s.nullTS(validAfter)))
		if err != nil {
			return err
		}
		if disabling {
			return s.revokeAll(ctx, q, userID, "")
		}
		return nil
	})
	if err != nil {
		return store.User{}, s.txErr(ctx, "update user", err)
	}
	return u, nil
}

// RemoveUser is [Store.DeleteUser], refused with [store.ErrLastSuperuser]
// when the user is the only active superuser, under the same lock as
// UpdateUser.
func (s *Store) RemoveUser(ctx context.Context, userID string) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	err := s.inTx(ctx, func(q querier) error {
		if _, err := s.lockForRemoval(ctx, q, userID, func(cur store.User) bool { return cur.IsSuperuser && cur.IsActive }); err != nil {
			return err
		}
		return s.deleteUserRows(ctx, q, userID)
	})
	return s.txErr(ctx, "remove user", err)
}

// lockForRemoval takes the superuser lock (PostgreSQL) and the user's
// lock, reads the user, and returns store.ErrLastSuperuser when removes
// says the change takes an active superuser away and no other remains.
func (s *Store) lockForRemoval(ctx context.Context, q querier, userID string, removes func(store.User) bool) (store.User, error) {
	if s.dialect == Postgres {
		if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, pgSuperuserLock); err != nil {
			return store.User{}, err
		}
	}
	if err := s.lockUser(ctx, q, userID); err != nil {
		return store.User{}, err
	}
	cur, err := scanUser(q.QueryRowContext(ctx, s.sql(`SELECT `+userColumns+` FROM {p}users WHERE id = $1`), userID))
	if errNoRows(err) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, err
	}
	if removes(cur) {
		var others int
		if err := q.QueryRowContext(ctx, s.sql(`SELECT count(*) FROM {p}users
			WHERE is_superuser AND is_active AND id <> $1`), userID).Scan(&others); err != nil {
			return store.User{}, err
		}
		if others == 0 {
			return store.User{}, store.ErrLastSuperuser
		}
	}
	return cur, nil
}
