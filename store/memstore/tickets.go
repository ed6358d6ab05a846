package memstore

import (
	"bytes"
	"context"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

// PutTicket stores t, a copy of its Data included. It returns
// [ErrMissingField] when t.Kind, t.Digest or t.ExpiresAt is empty, and a
// *[store.ConflictError] naming [store.FieldDigest], changing nothing, when
// a ticket of the kind with the digest is stored, expired or not. The user
// a ticket names need not exist; [Store.DeleteUser] removes the tickets
// that name the deleted user.
func (s *Store) PutTicket(ctx context.Context, t store.Ticket) error {
	switch {
	case t.Kind == "":
		return missing("Ticket", "Kind")
	case t.Digest == "":
		return missing("Ticket", "Digest")
	case t.ExpiresAt.IsZero():
		return missing("Ticket", "ExpiresAt")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	k := ticketKey{t.Kind, t.Digest}
	if _, ok := s.tickets[k]; ok {
		return conflict(store.FieldDigest)
	}
	t.Data = bytes.Clone(t.Data)
	t.ExpiresAt, t.CreatedAt = utc(t.ExpiresAt), utc(t.CreatedAt)
	s.tickets[k] = t
	if t.UserID != "" {
		keys := s.userTickets[t.UserID]
		if keys == nil {
			keys = map[ticketKey]struct{}{}
			s.userTickets[t.UserID] = keys
		}
		keys[k] = struct{}{}
	}
	return nil
}

// TakeTicket removes the ticket of the kind with the digest and returns it,
// if it expires after at. It returns [store.ErrNotFound] for an unknown or
// already taken ticket and, leaving it for [Store.DeleteExpired], for an
// expired one.
func (s *Store) TakeTicket(ctx context.Context, kind, digest string, at time.Time) (store.Ticket, error) {
	if err := s.lock(ctx); err != nil {
		return store.Ticket{}, err
	}
	defer s.mu.Unlock()
	t, ok := s.tickets[ticketKey{kind, digest}]
	if !ok || !t.ExpiresAt.After(utc(at)) {
		return store.Ticket{}, store.ErrNotFound
	}
	s.deleteTicketLocked(t)
	return t, nil
}

func (s *Store) deleteTicketLocked(t store.Ticket) {
	k := ticketKey{t.Kind, t.Digest}
	delete(s.tickets, k)
	if keys := s.userTickets[t.UserID]; keys != nil {
		delete(keys, k)
		if len(keys) == 0 {
			delete(s.userTickets, t.UserID)
		}
	}
}
