package sqlstore

import (
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

func scanRefreshToken(r rowScanner) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := r.Scan(&t.ID, &t.UserID, &t.TokenHash, &t.FamilyID, timeCol{&t.ExpiresAt}, &t.IsRevoked,
		stringCol{&t.ReplacedBy}, &t.DeviceName, &t.DeviceType, &t.IPAddress, &t.UserAgent,
		timeCol{&t.CreatedAt}, timeCol{&t.LastUsedAt}, timeCol{&t.SessionExpiresAt})
	return t, err
}

func (s *Store) insertRefreshToken(ctx context.Context, q querier, t store.RefreshToken) error {
	_, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}refresh_tokens (`+refreshTokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`),
		t.ID, t.UserID, t.TokenHash, t.FamilyID, s.ts(t.ExpiresAt), t.IsRevoked, nullString(t.ReplacedBy),
		t.DeviceName, t.DeviceType, t.IPAddress, t.UserAgent, s.ts(t.CreatedAt), s.ts(t.LastUsedAt),
		s.ts(t.SessionExpiresAt))
	return err
}

func (s *Store) refreshTokenByHash(ctx context.Context, q querier, tokenHash string) (store.RefreshToken, error) {
	return scanRefreshToken(q.QueryRowContext(ctx,
		s.sql(`SELECT `+refreshTokenColumns+` FROM {p}refresh_tokens WHERE token = $1`), tokenHash))
}

// CreateSession inserts t as the first token of a new family and sets the
// user's LastLoginAt to t.CreatedAt, only if the user exists, is active and
// still has verifiedHash as their password hash. t.ExpiresAt is kept no
// later than t.SessionExpiresAt. It returns [store.ErrNotFound] for an
// unknown user, [store.ErrStale] when the user is disabled or their hash
// changed, a *[store.ConflictError] naming the ID or the digest when one is
// taken, and [store.ErrInvalidInput] for text that cannot be stored.
//
// It takes the user's lock, as every bulk revocation does: on PostgreSQL it
// is one statement (see pgCreateSession), on SQLite one IMMEDIATE
// transaction. A password change or reset, or a disabling, that commits
// first leaves the login without a session; one that commits later revokes
// the new token.
func (s *Store) CreateSession(ctx context.Context, t store.RefreshToken, verifiedHash string) error {
	if !storable(t.ID, t.TokenHash, t.FamilyID, t.DeviceName, t.DeviceType, t.IPAddress, t.UserAgent) {
		return store.ErrInvalidInput
	}
	if !storable(t.UserID) {
		return store.ErrNotFound
	}
	if !storable(verifiedHash) {
		return s.staleOrNotFound(ctx, "create session", t.UserID)
	}
	if t.ExpiresAt.After(t.SessionExpiresAt) {
		t.ExpiresAt = t.SessionExpiresAt
	}
	t.IsRevoked, t.ReplacedBy = false, ""
	var created bool
	var err error
	if s.dialect == Postgres {
		var one int
		err = s.db.QueryRowContext(ctx, s.q.createSession,
			t.UserID, t.ID, t.TokenHash, t.FamilyID, s.ts(t.ExpiresAt), t.DeviceName, t.DeviceType,
			t.IPAddress, t.UserAgent, s.ts(t.CreatedAt), s.ts(t.LastUsedAt), s.ts(t.SessionExpiresAt),
			verifiedHash).Scan(&one)
		created = err == nil
		if errNoRows(err) {
			err = nil
		}
	} else {
		err = s.inTx(ctx, func(q querier) error {
			n, err := s.execCount(ctx, q, s.sql(`UPDATE {p}users SET last_login_at = $2
				WHERE id = $1 AND is_active AND hashed_password = $3`), t.UserID, s.ts(t.CreatedAt), verifiedHash)
			if err != nil || n == 0 {
				return err
			}
			created = true
			return s.insertRefreshToken(ctx, q, t)
		})
	}
	if err != nil {
		return s.writeErr(ctx, "create session", err)
	}
	if !created {
		return s.staleOrNotFound(ctx, "create session", t.UserID)
	}
	return nil
}

// RotateRefreshToken atomically replaces the active token whose digest is
// oldHash by next, as [store.RefreshTokens] specifies: next inherits the
// old token's device, and its session's absolute end, and expires no later
// than that.
//
// It returns [store.ErrNotFound] when the token is unknown, expired at at,
// past its session's end, or belongs to another user or family;
// [store.ErrReused], after revoking the whole family, when it was already
// rotated; [store.ErrSessionEnded], changing nothing, when it was revoked
// without being rotated; a *[store.ConflictError] when next's ID or digest
// is taken; [store.ErrInvalidInput] when next carries text that cannot be
// stored.
//
// On PostgreSQL the success path is one statement, one round trip; a
// failed rotation takes a transaction to tell the cases apart and revoke
// the family. On SQLite it is one IMMEDIATE transaction. Of concurrent
// rotations of one token exactly one succeeds, across processes too.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time) error {
	return s.rotate(ctx, oldHash, next, at, 0)
}

// rotate is RotateRefreshToken with a reuse grace window (0: none); see
// RotateRefreshTokenGrace.
func (s *Store) rotate(ctx context.Context, oldHash string, next store.RefreshToken, at time.Time, grace time.Duration) error {
	if !storable(next.ID, next.TokenHash, next.IPAddress, next.UserAgent) {
		return store.ErrInvalidInput
	}
	if !storable(oldHash, next.UserID, next.FamilyID) {
		return store.ErrNotFound
	}
	if s.dialect == Postgres {
		var one int
		err := s.db.QueryRowContext(ctx, s.q.rotate,
			next.UserID, oldHash, next.ID, s.ts(at), next.FamilyID, next.TokenHash,
			s.ts(next.ExpiresAt), next.IPAddress, next.UserAgent, s.ts(next.CreatedAt), s.ts(next.LastUsedAt)).Scan(&one)
		if err == nil {
			return nil
		}
		if !errNoRows(err) {
			return s.writeErr(ctx, "rotate refresh token", err)
		}
	}
	reused := false
	err := s.inTx(ctx, func(q querier) error {
		err := s.rotateInTx(ctx, q, oldHash, next, at, grace)
		if err == store.ErrReused {
			// The family's revocation must commit.
			reused = true
			return nil
		}
		return err
	})
	if err != nil {
		return s.writeErr(ctx, "rotate refresh token", err)
	}
	if reused {
		return store.ErrReused
	}
	return nil
}

// rotateInTx is the rotation as several statements in one transaction: all
// of it on SQLite, the failure path (and a lost race) on PostgreSQL.
func (s *Store) rotateInTx(ctx context.Context, q querier, oldHash string, next store.RefreshToken, at time.Time, grace time.Duration) error {
	if err := s.lockUser(ctx, q, next.UserID); err != nil {
		return err
	}
	old, err := s.refreshTokenByHash(ctx, q, oldHash)
	if errNoRows(err) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	now := at.Truncate(time.Microsecond)
	if old.UserID != next.UserID || old.FamilyID != next.FamilyID ||
		!old.ExpiresAt.After(now) || !old.SessionExpiresAt.After(now) {
		return store.ErrNotFound
	}
	if old.IsRevoked {
		if old.ReplacedBy == "" {
			return store.ErrSessionEnded
		}
		if grace > 0 && !old.LastUsedAt.Add(grace).Before(now) {
			return s.rotateInGrace(ctx, q, old, next, at)
		}
		if _, err := q.ExecContext(ctx, s.sql(`UPDATE {p}refresh_tokens SET is_revoked = TRUE
			WHERE user_id = $1 AND family_id = $2 AND NOT is_revoked`), old.UserID, old.FamilyID); err != nil {
			return err
		}
		return store.ErrReused
	}
	n, err := s.execCount(ctx, q, s.sql(`UPDATE {p}refresh_tokens
		SET is_revoked = TRUE, replaced_by = $2, last_used_at = $3 WHERE id = $1 AND NOT is_revoked`),
		old.ID, next.ID, s.ts(at))
	if err != nil {
		return err
	}
	if n != 1 {
		// Cannot happen while every rotation holds the user's lock; if it
		// did, this rotation lost and must not insert.
		return store.ErrNotFound
	}
	return s.insertNext(ctx, q, old, next)
}

// insertNext inserts next as the successor of old: in old's family, with
// old's device and session end, and expiring no later than that.
func (s *Store) insertNext(ctx context.Context, q querier, old, next store.RefreshToken) error {
	next.UserID, next.FamilyID = old.UserID, old.FamilyID
	next.DeviceName, next.DeviceType = old.DeviceName, old.DeviceType
	next.SessionExpiresAt = old.SessionExpiresAt
	if next.ExpiresAt.After(next.SessionExpiresAt) {
		next.ExpiresAt = next.SessionExpiresAt
	}
	next.IsRevoked, next.ReplacedBy = false, ""
	return s.insertRefreshToken(ctx, q, next)
}

// RevokeFamily revokes every token of the user's family. It returns
// [store.ErrNotFound] when the user has no active (unrevoked, unexpired at
// at) token in that family, which includes a family of another user; then
// it changes nothing.
func (s *Store) RevokeFamily(ctx context.Context, userID, familyID string, at time.Time) error {
	if !storable(userID, familyID) {
		return store.ErrNotFound
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		n, err := s.execCount(ctx, q, s.sql(`UPDATE {p}refresh_tokens SET is_revoked = TRUE
			WHERE user_id = $1 AND family_id = $2 AND NOT is_revoked
			AND EXISTS (SELECT 1 FROM {p}refresh_tokens a
				WHERE a.user_id = $1 AND a.family_id = $2 AND NOT a.is_revoked AND a.expires_at > $3)`),
			userID, familyID, s.ts(at))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return s.txErr(ctx, "revoke family", err)
}

// RevokeAllSessions revokes every refresh token of the user and sets the
// user's TokensValidAfter to [store.NextRevocation](TokensValidAfter, at),
// in one transaction under the user's lock. It returns [store.ErrNotFound]
// for an unknown user.
func (s *Store) RevokeAllSessions(ctx context.Context, userID string, at time.Time) error {
	if !storable(userID) {
		return store.ErrNotFound
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		validAfter, err := s.nextRevocation(ctx, q, userID, at)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.sql(`UPDATE {p}users SET tokens_valid_after = $2 WHERE id = $1`),
			userID, s.ts(validAfter)); err != nil {
			return err
		}
		return s.revokeAll(ctx, q, userID, "")
	})
	return s.txErr(ctx, "revoke all sessions", err)
}

// Sessions lists the user's active families, one entry per family with an
// unrevoked token that expires after at, oldest first (by the creation of
// the family's first token, its CreatedAt). The device information,
// LastUsedAt and ExpiresAt are those of the family's newest active token. A
// user with none, or an unknown user, gets an empty slice and no error.
func (s *Store) Sessions(ctx context.Context, userID string, at time.Time) ([]store.Session, error) {
	if !storable(userID) {
		return []store.Session{}, nil
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`WITH fam AS (
			SELECT family_id, MIN(created_at) AS first_created
			FROM {p}refresh_tokens WHERE user_id = $1 GROUP BY family_id
		), active AS (
			SELECT family_id, device_name, device_type, ip_address, user_agent, last_used_at, expires_at,
				ROW_NUMBER() OVER (PARTITION BY family_id ORDER BY created_at DESC, id DESC) AS rn
			FROM {p}refresh_tokens
			WHERE user_id = $1 AND NOT is_revoked AND expires_at > $2 AND session_expires_at > $2
		)
		SELECT a.family_id, a.device_name, a.device_type, a.ip_address, a.user_agent,
			f.first_created, a.last_used_at, a.expires_at
		FROM active a JOIN fam f ON f.family_id = a.family_id
		WHERE a.rn = 1
		ORDER BY f.first_created, a.family_id`), userID, s.ts(at))
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

// DeleteExpired deletes, in one transaction, the refresh tokens, codes and
// tickets that expired before before (expires_at < before) and, when
// unverifiedBefore is not the zero time, the users who registered before
// it (created_at < unverifiedBefore) and never verified their email, with
// every record of theirs. It returns how many rows it deleted. It may run
// while the store is in use; expired tokens no longer serve reuse
// detection, since an expired token is refused anyway.
//
// On PostgreSQL it takes the lock of every user it deletes (one clean-up
// at a time, so that two never wait for each other's users), so that a
// verification, login or rotation of such a user either commits first,
// and a verified user is kept, or finds the user gone.
func (s *Store) DeleteExpired(ctx context.Context, before, unverifiedBefore time.Time) (int64, error) {
	var total int64
	const doomed = `SELECT id FROM {p}users WHERE NOT is_verified AND created_at < $1`
	err := s.inTx(ctx, func(q querier) error {
		total = 0
		if !unverifiedBefore.IsZero() && s.dialect == Postgres {
			// The users' locks come before any row lock this transaction
			// takes: a transaction that holds one user's lock may wait for
			// a row that a DELETE below locks.
			if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, pgCleanerLock); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, s.sql(`SELECT pg_advisory_xact_lock(1718579813, hashtext(id))
				FROM (`+doomed+` ORDER BY id) d`), s.ts(unverifiedBefore)); err != nil {
				return err
			}
		}
		del := func(query string, arg any) error {
			n, err := s.execCount(ctx, q, s.sql(query), arg)
			total += n
			return err
		}
		for _, query := range []string{
			`DELETE FROM {p}refresh_tokens WHERE expires_at < $1`,
			`DELETE FROM {p}verification_codes WHERE expires_at < $1`,
			`DELETE FROM {p}tickets WHERE expires_at < $1`,
		} {
			if err := del(query, s.ts(before)); err != nil {
				return err
			}
		}
		if unverifiedBefore.IsZero() {
			return nil
		}
		for _, query := range []string{
			`DELETE FROM {p}refresh_tokens WHERE user_id IN (` + doomed + `)`,
			`DELETE FROM {p}verification_codes WHERE user_id IN (` + doomed + `)`,
			`DELETE FROM {p}tickets WHERE user_id IN (` + doomed + `)`,
			`DELETE FROM {p}recovery_codes WHERE user_id IN (` + doomed + `)`,
			`DELETE FROM {p}second_factors WHERE user_id IN (` + doomed + `)`,
			`DELETE FROM {p}identities WHERE user_id IN (` + doomed + `)`,
			`DELETE FROM {p}passkeys WHERE user_id IN (` + doomed + `)`,
			`DELETE FROM {p}webauthn_users WHERE user_id IN (` + doomed + `)`,
			`DELETE FROM {p}users WHERE NOT is_verified AND created_at < $1`,
		} {
			if err := del(query, s.ts(unverifiedBefore)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, s.wrap(ctx, "delete expired", err)
	}
	return total, nil
}
