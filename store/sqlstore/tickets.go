package sqlstore

import (
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// PutTicket stores t. It returns a *[store.ConflictError] naming
// [store.FieldDigest], changing nothing, when a ticket of t.Kind with
// t.Digest is stored already; [store.ErrNotFound] when t.UserID is set and
// names no user; [store.ErrInvalidInput] for text that cannot be stored.
func (s *Store) PutTicket(ctx context.Context, t store.Ticket) error {
	if !storable(t.Kind, t.Digest, t.UserID) {
		return store.ErrInvalidInput
	}
	var data any
	if t.Data != nil {
		data = t.Data
	}
	_, err := s.db.ExecContext(ctx, s.sql(`INSERT INTO {p}tickets (kind, digest, user_id, data, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`),
		t.Kind, t.Digest, nullString(t.UserID), data, s.ts(t.ExpiresAt), s.ts(t.CreatedAt))
	return s.writeErr(ctx, "put ticket", err)
}

// TakeTicket deletes the ticket of kind with the digest and returns it, if
// it expires after at, in one statement (DELETE ... RETURNING): of
// concurrent takes of one ticket exactly one gets it. Any other take, and
// one of an unknown or expired ticket, is [store.ErrNotFound]; an expired
// ticket stays for [Store.DeleteExpired].
func (s *Store) TakeTicket(ctx context.Context, kind, digest string, at time.Time) (store.Ticket, error) {
	if !storable(kind, digest) {
		return store.Ticket{}, store.ErrNotFound
	}
	var t store.Ticket
	err := s.db.QueryRowContext(ctx, s.sql(`DELETE FROM {p}tickets
		WHERE kind = $1 AND digest = $2 AND expires_at > $3
		RETURNING kind, digest, user_id, data, expires_at, created_at`), kind, digest, s.ts(at)).
		Scan(&t.Kind, &t.Digest, stringCol{&t.UserID}, &t.Data, timeCol{&t.ExpiresAt}, timeCol{&t.CreatedAt})
	if errNoRows(err) {
		return store.Ticket{}, store.ErrNotFound
	}
	if err != nil {
		return store.Ticket{}, s.wrap(ctx, "take ticket", err)
	}
	return t, nil
}
