package sqlstore

// queries holds the statements whose text differs between the dialects,
// with the table prefix applied. The others are written once: both dialects
// accept $N placeholders (modernc binds $N to the N-th argument), TRUE and
// FALSE, and RETURNING.
type queries struct {
	// lockUser selects 1 for the user and, on PostgreSQL, takes the user's
	// advisory lock.
	lockUser string
	// rotate is the one-statement rotation of PostgreSQL ("" on SQLite).
	rotate string
	// createSession is the one-statement session start of PostgreSQL (""
	// on SQLite).
	createSession string
}

func queriesFor(d Dialect, render func(string) string) queries {
	if d == SQLite {
		return queries{lockUser: render(`SELECT 1 FROM {p}users WHERE id = $1`)}
	}
	return queries{
		lockUser:      render(`SELECT 1 FROM {p}users WHERE id = $1 AND ` + pgUserLock + ` IS NOT NULL`),
		rotate:        render(pgRotate),
		createSession: render(pgCreateSession),
	}
}

// pgUserLock takes the per-user advisory lock of PostgreSQL, held until the
// transaction ends. An advisory lock lives in the server's lock table only,
// so unlike a row lock it writes nothing to the log. Its key is a pair: a
// constant naming this package (the four bytes "fore"), and the hash of the
// user id; two users whose ids collide merely wait for each other. The key
// does not depend on the table prefix, so that releases before the prefix
// and this one lock alike.
const pgUserLock = `pg_advisory_xact_lock(1718579813, hashtext($1::text))`

// pgEmailLock is the advisory lock of PostgreSQL that serialises the
// replacements of one folded email ("forf" and the hash of the email).
const pgEmailLock = `pg_advisory_xact_lock(1718579814, hashtext($1::text))`

// pgCleanerLock lets one DeleteExpired at a time take the locks of many
// users ("forgecln" in ASCII), so that two of them never deadlock.
const pgCleanerLock int64 = 0x666f726765636c6e

const refreshTokenColumns = `id, user_id, token, family_id, expires_at, is_revoked, replaced_by,
	device_name, device_type, ip_address, user_agent, created_at, last_used_at, session_expires_at`

// pgRotate rotates a refresh token in one round trip. The user's advisory
// lock is taken before the old token's row is locked (the EXISTS on lck is
// an init plan, evaluated before the UPDATE locks any row), the order every
// bulk revocation also takes, so the two never deadlock and a bulk
// revocation never misses the new token. Under READ COMMITTED the UPDATE
// re-checks NOT is_revoked on the newest row version after waiting for a
// concurrent rotation, so of two concurrent rotations of one token exactly
// one returns a row. The new token inherits the session's absolute end and
// expires no later than it.
//
// $1 user id, $2 old digest, $3 next id, $4 at, $5 family id, $6 next
// digest, $7 next expires_at, $8 next ip_address, $9 next user_agent,
// $10 next created_at, $11 next last_used_at.
const pgRotate = `WITH lck AS (
	SELECT ` + pgUserLock + `
), old AS (
	UPDATE {p}refresh_tokens
	SET is_revoked = TRUE, replaced_by = $3::text, last_used_at = $4::timestamptz
	WHERE token = $2::text
		AND user_id = $1::text
		AND family_id = $5::text
		AND NOT is_revoked
		AND expires_at > $4::timestamptz
		AND session_expires_at > $4::timestamptz
		AND EXISTS (SELECT 1 FROM lck)
	RETURNING user_id, family_id, device_name, device_type, session_expires_at
), ins AS (
	INSERT INTO {p}refresh_tokens (` + refreshTokenColumns + `)
	SELECT $3::text, old.user_id, $6::text, old.family_id, LEAST($7::timestamptz, old.session_expires_at), FALSE, NULL,
		old.device_name, old.device_type, $8::text, $9::text, $10::timestamptz, $11::timestamptz, old.session_expires_at
	FROM old
	RETURNING id
)
SELECT 1 FROM old`

// pgCreateSession starts a session in one round trip: it takes the user's
// advisory lock first (as rotation does, and every bulk revocation), then
// sets last_login_at only if the user is active and still has the verified
// hash, and inserts the token only if that update matched. A password
// change, a reset or a disabling that commits while the statement waits
// changes the user's row, and under READ COMMITTED the UPDATE re-checks its
// conditions on the newest row version, so it then matches nothing; a
// revocation that starts later waits for the lock and sees the new token.
//
// $1 user id, $2 id, $3 digest, $4 family id, $5 expires_at, $6 device
// name, $7 device type, $8 ip_address, $9 user_agent, $10 created_at,
// $11 last_used_at, $12 session_expires_at, $13 verified hash.
const pgCreateSession = `WITH lck AS (
	SELECT ` + pgUserLock + `
), usr AS (
	UPDATE {p}users SET last_login_at = $10::timestamptz
	WHERE id = $1::text AND is_active AND hashed_password = $13::text
		AND EXISTS (SELECT 1 FROM lck)
	RETURNING id
), ins AS (
	INSERT INTO {p}refresh_tokens (` + refreshTokenColumns + `)
	SELECT $2::text, usr.id, $3::text, $4::text, $5::timestamptz, FALSE, NULL,
		$6::text, $7::text, $8::text, $9::text, $10::timestamptz, $11::timestamptz, $12::timestamptz
	FROM usr
	RETURNING id
)
SELECT 1 FROM usr`
