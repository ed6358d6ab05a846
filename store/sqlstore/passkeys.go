package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

var _ store.Passkeys = (*Store)(nil)

// errEmptyHandle is returned by the methods that store a WebAuthn user
// handle when the caller passes none: an empty handle would be a key that
// finds nobody's passkey, so it is refused before any statement runs.
var errEmptyHandle = errors.New("sqlstore: the WebAuthn user handle is empty")

// errBadTransports is returned when a passkey's transports column holds
// something other than the JSON array of strings the store writes there.
var errBadTransports = errors.New("sqlstore: a passkey's transports are not a JSON array of strings")

const passkeyColumns = `id, user_id, credential_id, public_key, aaguid, sign_count, transports,
	user_verified, backup_eligible, backup_state, attestation_type, attestation_format, name,
	created_at, last_used_at`

func scanPasskey(r rowScanner) (store.Passkey, error) {
	var p store.Passkey
	var count int64
	var transports string
	err := r.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.AAGUID, &count, &transports,
		&p.UserVerified, &p.BackupEligible, &p.BackupState, &p.AttestationType, &p.AttestationFormat, &p.Name,
		timeCol{&p.CreatedAt}, timeCol{&p.LastUsedAt})
	if err != nil {
		return store.Passkey{}, err
	}
	p.SignCount = uint32(count) // the column's CHECK keeps it in range
	if err := json.Unmarshal([]byte(transports), &p.Transports); err != nil {
		// json's message would quote the column's text.
		return store.Passkey{}, errBadTransports
	}
	if len(p.Transports) == 0 {
		p.Transports = nil
	}
	return p, nil
}

// passkeyStorable reports whether every text field of p can be stored; its
// byte fields hold any bytes.
func passkeyStorable(p store.Passkey) bool {
	return storable(p.ID, p.UserID, p.Name, p.AttestationType, p.AttestationFormat) && storable(p.Transports...)
}

// blob is b as a value for a NOT NULL byte column: drivers send a nil
// slice as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *Store) insertPasskey(ctx context.Context, q querier, p store.Passkey) error {
	transports := p.Transports
	if transports == nil {
		transports = []string{}
	}
	// Marshalling a slice of valid UTF-8 strings cannot fail.
	list, _ := json.Marshal(transports)
	_, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}passkeys (`+passkeyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`),
		p.ID, p.UserID, blob(p.CredentialID), blob(p.PublicKey), blob(p.AAGUID), int64(p.SignCount), string(list),
		p.UserVerified, p.BackupEligible, p.BackupState, p.AttestationType, p.AttestationFormat, p.Name,
		s.ts(p.CreatedAt), s.nullTS(p.LastUsedAt))
	return err
}

func (s *Store) insertHandle(ctx context.Context, q querier, userID string, handle []byte) error {
	_, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}webauthn_users (user_id, handle) VALUES ($1, $2)`), userID, handle)
	return err
}

// UserHandle returns the user's WebAuthn handle, read without a lock when
// the user has one (they keep it whatever handle is), and otherwise stored
// as handle in one transaction under the user's lock: of concurrent first
// calls for one user the first stores its handle and the others read it. It
// returns [store.ErrNotFound] for an unknown user, a *[store.ConflictError]
// naming [store.FieldID] when handle is another user's, and an error for an
// empty handle.
func (s *Store) UserHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	if len(handle) == 0 {
		return nil, errEmptyHandle
	}
	if !storable(userID) {
		return nil, store.ErrNotFound
	}
	// Every sign-in asks; all but a user's first registration find one,
	// with a plain read and no lock.
	var stored []byte
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT handle FROM {p}webauthn_users WHERE user_id = $1`), userID).Scan(&stored)
	if err == nil {
		return stored, nil
	}
	if !errNoRows(err) {
		return nil, s.wrap(ctx, "user handle", err)
	}
	err = s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		err := q.QueryRowContext(ctx, s.sql(`SELECT handle FROM {p}webauthn_users WHERE user_id = $1`), userID).Scan(&stored)
		if !errNoRows(err) {
			return err
		}
		stored = bytes.Clone(handle)
		return s.insertHandle(ctx, q, userID, handle)
	})
	if err != nil {
		return nil, s.writeErr(ctx, "user handle", err)
	}
	return stored, nil
}

// UserByHandle returns the user whose WebAuthn handle is handle, or
// [store.ErrNotFound].
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.sql(`SELECT `+userColumns+` FROM {p}users
		WHERE id = (SELECT user_id FROM {p}webauthn_users WHERE handle = $1)`), blob(handle)))
	if errNoRows(err) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, s.wrap(ctx, "user by handle", err)
	}
	return u, nil
}

// CreatePasskey stores p for its user, under the user's lock. It returns
// [store.ErrNotFound] for an unknown user, [store.ErrInvalidInput] for text
// that cannot be stored, and a *[store.ConflictError] naming
// [store.FieldCredential] or [store.FieldID].
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	if !passkeyStorable(p) {
		return store.ErrInvalidInput
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, p.UserID); err != nil {
			return err
		}
		return s.insertPasskey(ctx, q, p)
	})
	return s.writeErr(ctx, "create passkey", err)
}

// CreateUserWithPasskey inserts u, its handle and p in one transaction.
// With replaceUnverified, an unverified holder of u's email is deleted
// first, as [Store.ReplaceUnverifiedUser] does (with its locks and retries
// on PostgreSQL). It returns [store.ErrInvalidInput] for text that cannot
// be stored, a *[store.ConflictError] naming [store.FieldCredential] or
// [store.FieldID] (the passkey's ID, or a handle another user holds), the
// conflicts of CreateUser, and an error for an empty handle or a passkey
// that names another user; on an error it changes nothing.
func (s *Store) CreateUserWithPasskey(ctx context.Context, u store.User, handle []byte, p store.Passkey, replaceUnverified bool) error {
	if !userStorable(u) || !passkeyStorable(p) {
		return store.ErrInvalidInput
	}
	if len(handle) == 0 {
		return errEmptyHandle
	}
	if p.UserID != u.ID {
		return errors.New("sqlstore: create user with passkey: the passkey names another user")
	}
	var err error
	for range replaceAttempts {
		err = s.inTx(ctx, func(q querier) error {
			if replaceUnverified {
				if err := s.replaceUnverified(ctx, q, u); err != nil {
					return err
				}
			} else if err := s.insertUser(ctx, q, u); err != nil {
				return err
			}
			if err := s.insertHandle(ctx, q, u.ID, handle); err != nil {
				return err
			}
			return s.insertPasskey(ctx, q, p)
		})
		var ce *store.ConflictError
		if !replaceUnverified || s.dialect != Postgres || ctx.Err() != nil || !s.retryReplace(err) ||
			errors.As(err, &ce) {
			break
		}
	}
	return s.writeErr(ctx, "create user with passkey", err)
}

// Passkeys lists the user's passkeys, oldest first (by ID when two were
// created at the same moment).
func (s *Store) Passkeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	if !storable(userID) {
		return []store.Passkey{}, nil
	}
	return queryAll(ctx, s, "passkeys", `SELECT `+passkeyColumns+` FROM {p}passkeys
		WHERE user_id = $1 ORDER BY created_at, id`, scanPasskey, userID)
}

// PasskeyByCredentialID returns the passkey with the credential id, or
// [store.ErrNotFound].
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (store.Passkey, error) {
	p, err := scanPasskey(s.db.QueryRowContext(ctx, s.sql(`SELECT `+passkeyColumns+` FROM {p}passkeys
		WHERE credential_id = $1`), blob(credentialID)))
	if errNoRows(err) {
		return store.Passkey{}, store.ErrNotFound
	}
	if err != nil {
		return store.Passkey{}, s.wrap(ctx, "passkey by credential id", err)
	}
	return p, nil
}

// RenamePasskey sets the name of the user's passkey and returns it, in one
// statement. It returns [store.ErrNotFound] when the user has no passkey
// with the ID and [store.ErrInvalidInput] for a name that cannot be stored.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) (store.Passkey, error) {
	if !storable(name) {
		return store.Passkey{}, store.ErrInvalidInput
	}
	if !storable(userID, id) {
		return store.Passkey{}, store.ErrNotFound
	}
	p, err := scanPasskey(s.db.QueryRowContext(ctx, s.sql(`UPDATE {p}passkeys SET name = $3
		WHERE id = $2 AND user_id = $1 RETURNING `+passkeyColumns), userID, id, name))
	if errNoRows(err) {
		return store.Passkey{}, store.ErrNotFound
	}
	if err != nil {
		return store.Passkey{}, s.wrap(ctx, "rename passkey", err)
	}
	return p, nil
}

// UsePasskey records a sign-in with the user's passkey in one conditional
// UPDATE, a compare-and-set on the counter: it changes the row only if
// signCount is greater than the stored count or both are 0, and the
// database re-checks that on the row it changes, so of concurrent sign-ins
// showing one counter value exactly one is taken. When it changes nothing,
// a second query tells [store.ErrStale] (the passkey exists) from
// [store.ErrNotFound] (the user has no passkey with the ID).
func (s *Store) UsePasskey(ctx context.Context, userID, id string, signCount uint32, backupState, userVerified bool, at time.Time) error {
	if !storable(userID, id) {
		return store.ErrNotFound
	}
	n, err := s.execCount(ctx, s.db, s.sql(`UPDATE {p}passkeys
		SET sign_count = $3, backup_state = $4, user_verified = (user_verified OR $5), last_used_at = $6
		WHERE id = $2 AND user_id = $1 AND ($3 > sign_count OR ($3 = 0 AND sign_count = 0))`),
		userID, id, int64(signCount), backupState, userVerified, s.ts(at))
	if err != nil {
		return s.wrap(ctx, "use passkey", err)
	}
	if n == 1 {
		return nil
	}
	var one int
	err = s.db.QueryRowContext(ctx, s.sql(`SELECT 1 FROM {p}passkeys WHERE id = $2 AND user_id = $1`), userID, id).Scan(&one)
	switch {
	case errNoRows(err):
		return store.ErrNotFound
	case err != nil:
		return s.wrap(ctx, "use passkey", err)
	}
	return store.ErrStale
}

// DeletePasskey removes the user's passkey unless it is the user's last
// way to sign in ([store.ErrLastLoginMethod]); see deleteSignInMethod. A
// passkey the user does not have is [store.ErrNotFound].
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	return s.deleteSignInMethod(ctx, "delete passkey", "passkeys", userID, id)
}

// signInMethods are the tables of the ways to sign in beside a password.
var signInMethods = [...]string{"passkeys", "identities"}

// deleteSignInMethod removes the row id of the user in table (one of
// signInMethods), in one transaction under the user's lock, unless the
// user would be left with no password and no row in any of
// signInMethods ([store.ErrLastLoginMethod]). Every deletion of a way to
// sign in takes the same lock, so of concurrent deletions of a user's last
// two ways one fails. A row the user does not have is [store.ErrNotFound].
func (s *Store) deleteSignInMethod(ctx context.Context, op, table, userID, id string) error {
	if !storable(userID, id) {
		return store.ErrNotFound
	}
	query := `SELECT u.hashed_password, (SELECT COUNT(*) FROM {p}` + table + ` t WHERE t.user_id = u.id AND t.id = $2)`
	for _, other := range signInMethods {
		except := ""
		if other == table {
			except = ` AND m.id <> $2`
		}
		query += `, (SELECT COUNT(*) FROM {p}` + other + ` m WHERE m.user_id = u.id` + except + `)`
	}
	query += ` FROM {p}users u WHERE u.id = $1`
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, userID); err != nil {
			return err
		}
		var hash string
		var mine int
		var others [len(signInMethods)]int
		err := q.QueryRowContext(ctx, s.sql(query), userID, id).Scan(&hash, &mine, &others[0], &others[1])
		if errNoRows(err) || err == nil && mine == 0 {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if hash == "" && others[0]+others[1] == 0 {
			return store.ErrLastLoginMethod
		}
		_, err = q.ExecContext(ctx, s.sql(`DELETE FROM {p}`+table+` WHERE id = $1 AND user_id = $2`), id, userID)
		return err
	})
	return s.txErr(ctx, op, err)
}
