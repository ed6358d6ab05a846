package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

func scanRefreshToken(r rowScanner) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := r.Scan(&t.ID, &t.UserID, &t.TokenHash, &t.FamilyID, timeCol{&t.ExpiresAt}, &t.IsRevoked,
		stringCol{&t.ReplacedBy}, &t.DeviceName, &t.DeviceType, &t.IPAddress, &t.UserAgent,
		timeCol{&t.CreatedAt}, timeCol{&t.LastUsedAt})
	return t, err
}

// CreateRefreshToken inserts t. It returns an error matching
// [store.ErrConflict] when its ID or digest is taken, and one matching
// [store.ErrNotFound] when t.UserID names no user.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	err := s.insertRefreshToken(ctx, s.db, t)
	if err != nil && ctx.Err() == nil {
		switch s.classify(err) {
		case kindUnique:
			return fmt.Errorf("sqlstore: create refresh token: id or digest already exists: %w", store.ErrConflict)
		case kindForeignKey:
			return fmt.Errorf("sqlstore: create refresh token: unknown user: %w", store.ErrNotFound)
		}
	}
	return s.wrap(ctx, "create refresh token", err)
}

func (s *Store) insertRefreshToken(ctx context.Context, q querier, t store.RefreshToken) error {
	_, err := q.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshTokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		t.ID, t.UserID, t.TokenHash, t.FamilyID, s.ts(t.ExpiresAt), t.IsRevoked, nullString(t.ReplacedBy),
		t.DeviceName, t.DeviceType, t.IPAddress, t.UserAgent, s.ts(t.CreatedAt), s.ts(t.LastUsedAt))
	return err
}

// RefreshTokenByHash returns the token with the digest, revoked or not, or
// [store.ErrNotFound].
func (s *Store) RefreshTokenByHash(ctx context.Context, tokenHash string) (store.RefreshToken, error) {
	t, err := s.refreshTokenByHash(ctx, s.db, tokenHash)
	if errNoRows(err) {
		return store.RefreshToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.RefreshToken{}, s.wrap(ctx, "refresh token by hash", err)
	}
	return t, nil
}

func (s *Store) refreshTokenByHash(ctx context.Context, q querier, tokenHash string) (store.RefreshToken, error) {
	return scanRefreshToken(q.QueryRowContext(ctx,
		`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE token = $1`, tokenHash))
}

// RotateRefreshToken atomically replaces the active token whose digest is
// oldHash by next, as [store.RefreshTokens] specifies, and returns the old
// token's record as it is after the call (revoked, ReplacedBy = next.ID,
// LastUsedAt = at).
//
// It returns [store.ErrNotFound] when the token is unknown, expired at at, or
// belongs to another user or family; [store.ErrReused], with the record,
// when it was already rotated or revoked, after revoking its whole family;
// an error matching [store.ErrConflict] when next's ID or digest is taken.
//
// On PostgreSQL the success path is one statement, one round trip; a
// failed rotation takes a transaction to tell the cases apart and revoke
// the family. On SQLite it is one IMMEDIATE transaction. Of concurrent
// rotations of one token exactly one succeeds, across processes too.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time) (store.RefreshToken, error) {
	if s.dialect == Postgres {
		old, err := scanRefreshToken(s.db.QueryRowContext(ctx, s.q.rotate,
			next.UserID, oldHash, next.ID, s.ts(at), next.FamilyID, next.TokenHash,
			s.ts(next.ExpiresAt), next.IPAddress, next.UserAgent, s.ts(next.CreatedAt), s.ts(next.LastUsedAt)))
		if err == nil {
			return old, nil
		}
		if !errNoRows(err) {
			return store.RefreshToken{}, s.rotateErr(ctx, err)
		}
	}
	var old store.RefreshToken
	reused := false
	err := s.inTx(ctx, func(q querier) error {
		var err error
		old, err = s.rotateInTx(ctx, q, oldHash, next, at)
		if err == store.ErrReused {
			// The family's revocation must commit.
			reused = true
			return nil
		}
		return err
	})
	if err != nil {
		return store.RefreshToken{}, s.rotateErr(ctx, err)
	}
	if reused {
		return old, store.ErrReused
	}
	return old, nil
}

func (s *Store) rotateErr(ctx context.Context, err error) error {
	if err == store.ErrNotFound {
		return err
	}
	if s.classify(err) == kindUnique && ctx.Err() == nil {
		return fmt.Errorf("sqlstore: rotate refresh token: next id or digest already exists: %w", store.ErrConflict)
	}
	return s.wrap(ctx, "rotate refresh token", err)
}

// rotateInTx is the rotation as several statements in one transaction: all
// of it on SQLite, the failure path (and a lost race) on PostgreSQL.
func (s *Store) rotateInTx(ctx context.Context, q querier, oldHash string, next store.RefreshToken, at time.Time) (store.RefreshToken, error) {
	if err := s.lockUser(ctx, q, next.UserID); err != nil {
		return store.RefreshToken{}, err
	}
	old, err := s.refreshTokenByHash(ctx, q, oldHash)
	if errNoRows(err) {
		return store.RefreshToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.RefreshToken{}, err
	}
	if old.UserID != next.UserID || old.FamilyID != next.FamilyID || !old.ExpiresAt.After(at.Truncate(time.Microsecond)) {
		return store.RefreshToken{}, store.ErrNotFound
	}
	if old.IsRevoked {
		if _, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET is_revoked = TRUE
			WHERE user_id = $1 AND family_id = $2 AND NOT is_revoked`, old.UserID, old.FamilyID); err != nil {
			return store.RefreshToken{}, err
		}
		return old, store.ErrReused
	}
	res, err := q.ExecContext(ctx, `UPDATE refresh_tokens
		SET is_revoked = TRUE, replaced_by = $2, last_used_at = $3 WHERE id = $1 AND NOT is_revoked`,
		old.ID, next.ID, s.ts(at))
	if err != nil {
		return store.RefreshToken{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.RefreshToken{}, err
	} else if n != 1 {
		// Cannot happen while every rotation holds the user's lock; if it
		// did, this rotation lost and must not insert.
		return store.RefreshToken{}, store.ErrNotFound
	}
	next.UserID, next.FamilyID = old.UserID, old.FamilyID
	next.DeviceName, next.DeviceType = old.DeviceName, old.DeviceType
	next.IsRevoked, next.ReplacedBy = false, ""
	if err := s.insertRefreshToken(ctx, q, next); err != nil {
		return store.RefreshToken{}, err
	}
	old.IsRevoked, old.ReplacedBy, old.LastUsedAt = true, next.ID, at.Truncate(time.Microsecond).UTC()
	return old, nil
}

// RevokeFamily revokes every token of the user's family. It returns
// [store.ErrNotFound] when the user has no active (unrevoked, unexpired at
// at) token in that family, which includes a family of another user; then
// it changes nothing.
func (s *Store) RevokeFamily(ctx context.Context, userID, familyID string, at time.Time) error {
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET is_revoked = TRUE
			WHERE user_id = $1 AND family_id = $2 AND NOT is_revoked
			AND EXISTS (SELECT 1 FROM refresh_tokens a
				WHERE a.user_id = $1 AND a.family_id = $2 AND NOT a.is_revoked AND a.expires_at > $3)`,
			userID, familyID, s.ts(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return s.txErr(ctx, "revoke family", err)
}

// RevokeAllSessions revokes every refresh token of the user and sets the
// user's TokensValidAfter to at, in one transaction. It returns
// [store.ErrNotFound] for an unknown user.
func (s *Store) RevokeAllSessions(ctx context.Context, userID string, at time.Time) error {
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		validAfter, err := s.nextRevocation(ctx, q, userID, at)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE users SET tokens_valid_after = $2 WHERE id = $1`, userID, s.ts(validAfter)); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE refresh_tokens SET is_revoked = TRUE
			WHERE user_id = $1 AND NOT is_revoked`, userID)
		return err
	})
	return s.txErr(ctx, "revoke all sessions", err)
}

// Sessions lists the user's active families, one entry per family with an
// unrevoked token that expires after at, oldest first (by the creation of
// the family's first token, its CreatedAt). The device information,
// LastUsedAt and ExpiresAt are those of the family's newest active token. A
// user with none, or an unknown user, gets an empty slice and no error.
func (s *Store) Sessions(ctx context.Context, userID string, at time.Time) ([]store.Session, error) {
	rows, err := s.db.QueryContext(ctx, `WITH fam AS (
			SELECT family_id, MIN(created_at) AS first_created
			FROM refresh_tokens WHERE user_id = $1 GROUP BY family_id
		), active AS (
			SELECT family_id, device_name, device_type, ip_address, user_agent, last_used_at, expires_at,
				ROW_NUMBER() OVER (PARTITION BY family_id ORDER BY created_at DESC, id DESC) AS rn
			FROM refresh_tokens
			WHERE user_id = $1 AND NOT is_revoked AND expires_at > $2
		)
		SELECT a.family_id, a.device_name, a.device_type, a.ip_address, a.user_agent,
			f.first_created, a.last_used_at, a.expires_at
		FROM active a JOIN fam f ON f.family_id = a.family_id
		WHERE a.rn = 1
		ORDER BY f.first_created, a.family_id`, userID, s.ts(at))
	if err != nil {
		return nil, s.wrap(ctx, "sessions", err)
	}
	defer rows.Close()
	sessions := []store.Session{}
	for rows.Next() {
		ss := store.Session{UserID: userID}
		if err := rows.Scan(&ss.ID, &ss.DeviceName, &ss.DeviceType, &ss.IPAddress, &ss.UserAgent,
			timeCol{&ss.CreatedAt}, timeCol{&ss.LastUsedAt}, timeCol{&ss.ExpiresAt}); err != nil {
			return nil, s.wrap(ctx, "sessions", err)
		}
		sessions = append(sessions, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, "sessions", err)
	}
	return sessions, nil
}

// DeleteExpired deletes the refresh tokens and the codes that expired before
// before (expires_at < before) and returns how many rows it deleted. It may
// run while the store is in use; expired tokens no longer serve reuse
// detection, since an expired token is refused anyway.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	err := s.inTx(ctx, func(q querier) error {
		total = 0
		for _, query := range []string{
			`DELETE FROM refresh_tokens WHERE expires_at < $1`,
			`DELETE FROM verification_codes WHERE expires_at < $1`,
		} {
			res, err := q.ExecContext(ctx, query, s.ts(before))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, s.wrap(ctx, "delete expired", err)
	}
	return total, nil
}
