package sqlstore

// queries holds the statements whose text differs between the dialects.
// The others are written once: both dialects accept $N placeholders
// (modernc binds $N to the N-th argument), TRUE and FALSE, and RETURNING.
type queries struct {
	// lockUser selects 1 for the user and, on PostgreSQL, takes the user's
	// advisory lock.
	lockUser string
	// rotate is the one-statement rotation of PostgreSQL ("" on SQLite).
	rotate string
}

func queriesFor(d Dialect) queries {
	if d == SQLite {
		return queries{lockUser: `SELECT 1 FROM users WHERE id = $1`}
	}
	return queries{
		lockUser: `SELECT 1 FROM users WHERE id = $1 AND ` + pgUserLock + ` IS NOT NULL`,
		rotate:   pgRotate,
	}
}

// pgUserLock takes the per-user advisory lock of PostgreSQL, held until the
// transaction ends. An advisory lock lives in the server's lock table only,
// so unlike a row lock it writes nothing to the log. Its key is a pair: a
// constant naming this package (the four bytes "fore"), and the hash of the
// user id; two users whose ids collide merely wait for each other.
const pgUserLock = `pg_advisory_xact_lock(1718579813, hashtext($1::text))`

const refreshTokenColumns = `id, user_id, token, family_id, expires_at, is_revoked, replaced_by,
	device_name, device_type, ip_address, user_agent, created_at, last_used_at`

// pgRotate rotates a refresh token in one round trip. The user's advisory
// lock is taken before the old token's row is locked (the EXISTS on lck is
// an init plan, evaluated before the UPDATE locks any row), the order every
// bulk revocation also takes, so the two never deadlock and a bulk
// revocation never misses the new token. Under READ COMMITTED the UPDATE
// re-checks NOT is_revoked on the newest row version after waiting for a
// concurrent rotation, so of two concurrent rotations of one token exactly
// one returns a row.
//
// $1 user id, $2 old digest, $3 next id, $4 at, $5 family id, $6 next
// digest, $7 next expires_at, $8 next ip_address, $9 next user_agent,
// $10 next created_at, $11 next last_used_at.
const pgRotate = `WITH lck AS (
	SELECT ` + pgUserLock + `
), old AS (
	UPDATE refresh_tokens
	SET is_revoked = TRUE, replaced_by = $3::text, last_used_at = $4::timestamptz
	WHERE token = $2::text
		AND user_id = $1::text
		AND family_id = $5::text
		AND NOT is_revoked
		AND expires_at > $4::timestamptz
		AND EXISTS (SELECT 1 FROM lck)
	RETURNING ` + refreshTokenColumns + `
), ins AS (
	INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	SELECT $3::text, old.user_id, $6::text, old.family_id, $7::timestamptz, FALSE, NULL,
		old.device_name, old.device_type, $8::text, $9::text, $10::timestamptz, $11::timestamptz
	FROM old
	RETURNING id
)
SELECT ` + refreshTokenColumns + ` FROM old`
