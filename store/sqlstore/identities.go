package sqlstore

import (
	"context"
	"errors"

	"github.com/forgeauth/forgeauth/store"
)

var _ store.Identities = (*Store)(nil)

const identityColumns = `id, user_id, provider, subject, email, created_at`

func scanIdentity(r rowScanner) (store.Identity, error) {
	var i store.Identity
	err := r.Scan(&i.ID, &i.UserID, &i.Provider, &i.Subject, &i.Email, timeCol{&i.CreatedAt})
	return i, err
}

func identityStorable(i store.Identity) bool {
	return storable(i.ID, i.UserID, i.Provider, i.Subject, i.Email)
}

func (s *Store) insertIdentity(ctx context.Context, q querier, i store.Identity) error {
	_, err := q.ExecContext(ctx, s.sql(`INSERT INTO {p}identities (`+identityColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6)`),
		i.ID, i.UserID, i.Provider, i.Subject, i.Email, s.ts(i.CreatedAt))
	return err
}

// CreateUserWithIdentity inserts u and id in one transaction. With
// replaceUnverified, an unverified holder of u's email is deleted first, as
// [Store.ReplaceUnverifiedUser] does (with its locks and retries on
// PostgreSQL). It returns [store.ErrInvalidInput] for text that cannot be
// stored, a *[store.ConflictError] naming [store.FieldIdentity] when the
// (provider, subject) pair is linked already, and the conflicts of
// CreateUser; on an error it changes nothing.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u store.User, id store.Identity, replaceUnverified bool) error {
	if !userStorable(u) || !identityStorable(id) {
		return store.ErrInvalidInput
	}
	if id.UserID != u.ID {
		return errors.New("sqlstore: create user with identity: the identity names another user")
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
			return s.insertIdentity(ctx, q, id)
		})
		var ce *store.ConflictError
		if !replaceUnverified || s.dialect != Postgres || ctx.Err() != nil || !s.retryReplace(err) ||
			errors.As(err, &ce) {
			break
		}
	}
	return s.writeErr(ctx, "create user with identity", err)
}

// AddIdentity links id to its user, under the user's lock. It returns
// [store.ErrNotFound] for an unknown user, [store.ErrInvalidInput] for text
// that cannot be stored, and a *[store.ConflictError] naming
// [store.FieldIdentity] or [store.FieldID].
func (s *Store) AddIdentity(ctx context.Context, id store.Identity) error {
	if !identityStorable(id) {
		return store.ErrInvalidInput
	}
	err := s.inTx(ctx, func(q querier) error {
		if err := s.lockUser(ctx, q, id.UserID); err != nil {
			return err
		}
		return s.insertIdentity(ctx, q, id)
	})
	return s.writeErr(ctx, "add identity", err)
}

// IdentityBySubject returns the identity of (provider, subject), or
// [store.ErrNotFound].
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (store.Identity, error) {
	if !storable(provider, subject) {
		return store.Identity{}, store.ErrNotFound
	}
	i, err := scanIdentity(s.db.QueryRowContext(ctx, s.sql(`SELECT `+identityColumns+` FROM {p}identities
		WHERE provider = $1 AND subject = $2`), provider, subject))
	if errNoRows(err) {
		return store.Identity{}, store.ErrNotFound
	}
	if err != nil {
		return store.Identity{}, s.wrap(ctx, "identity by subject", err)
	}
	return i, nil
}

// Identities lists the user's identities, oldest first.
func (s *Store) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	if !storable(userID) {
		return []store.Identity{}, nil
	}
	return queryAll(ctx, s, "identities", `SELECT `+identityColumns+` FROM {p}identities
		WHERE user_id = $1 ORDER BY created_at, id`, scanIdentity, userID)
}

// DeleteIdentity removes the user's identity unless it is the user's last
// way to sign in ([store.ErrLastLoginMethod]); see deleteSignInMethod. An
// identity the user does not have is [store.ErrNotFound].
func (s *Store) DeleteIdentity(ctx context.Context, userID, identityID string) error {
	return s.deleteSignInMethod(ctx, "delete identity", "identities", userID, identityID)
}
