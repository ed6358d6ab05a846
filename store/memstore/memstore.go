package memstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/forgeauth/forgeauth/store"
)

// ErrMissingField is returned by a create method, and by
// [Store.RotateRefreshToken] for the next token, when a field the contract
// requires is empty (a zero time counts as empty). It is wrapped with the
// record's and the field's name.
//
// Every unique-key collision, whatever the key, is a *[store.ConflictError]
// matching [store.ErrConflict]: a username or email ([store.FieldUsername],
// [store.FieldEmail]), the ID of a user, refresh token or code
// ([store.FieldID]), a refresh token's digest ([store.FieldTokenHash]), a
// ticket's kind and digest ([store.FieldDigest]), and a passkey's credential
// id ([store.FieldCredential]).
var ErrMissingField = errors.New("memstore: required field is empty")

// Store is an in-memory [store.Store]. Create one with [New]; the zero value
// is also an empty store ready to use. A Store must not be copied after
// first use.
//
// Store is safe for concurrent use. Records are copied in and out (they hold
// no references, and a ticket's Data is copied too), so a caller can never
// change what the store keeps except through its methods. Times are stored
// truncated to the microsecond and in UTC.
//
// Like a PostgreSQL store, it refuses text that a text column cannot hold:
// a user whose username, email or password hash holds a NUL byte or invalid
// UTF-8 is [store.ErrInvalidInput], and looking such text up finds no one.
//
// Every method returns an error wrapping ctx.Err() when ctx is done on entry,
// and then changes nothing.
type Store struct {
	mu sync.RWMutex

	users      map[string]store.User // by ID
	byUsername map[string]string     // store.Fold(username) -> user ID
	byEmail    map[string]string     // store.Fold(email) -> user ID

	tokens      map[string]store.RefreshToken // by ID
	tokenByHash map[string]string             // TokenHash -> token ID
	// families holds the token IDs of each family of each user:
	// user ID -> family ID -> token IDs.
	families map[string]map[string]idSet

	codes map[string]store.VerificationCode // by ID
	// userCodes holds the code IDs of each user and type.
	userCodes map[string]map[store.CodeType]idSet

	tickets map[ticketKey]store.Ticket
	// userTickets holds the keys of the tickets that name each user.
	userTickets map[string]map[ticketKey]struct{}

	// factors holds the second factors by user ID (nil until the first).
	factors    map[string]*factor
	identities identityMaps
	passkeys   passkeyMaps
	// newEmails holds the address each email-change code is bound to, by
	// code ID (see admin.go).
	newEmails map[string]string
}

type idSet = map[string]struct{}

// ticketKey is the unique key of a ticket: a digest is unique per kind.
type ticketKey struct{ kind, digest string }

var (
	_ store.Store      = (*Store)(nil)
	_ store.Pinger     = (*Store)(nil)
	_ store.Cleaner    = (*Store)(nil)
	_ store.Tickets    = (*Store)(nil)
	_ store.Identities = (*Store)(nil)
	_ store.Passkeys   = (*Store)(nil)
	_ store.Admin      = (*Store)(nil)

	_ store.EmailChanges = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	s := &Store{}
	s.init()
	return s
}

// init makes the maps of a zero Store; the caller holds the write lock (or
// owns s alone).
func (s *Store) init() {
	if s.users != nil {
		return
	}
	s.users = map[string]store.User{}
	s.byUsername = map[string]string{}
	s.byEmail = map[string]string{}
	s.tokens = map[string]store.RefreshToken{}
	s.tokenByHash = map[string]string{}
	s.families = map[string]map[string]idSet{}
	s.codes = map[string]store.VerificationCode{}
	s.userCodes = map[string]map[store.CodeType]idSet{}
	s.tickets = map[ticketKey]store.Ticket{}
	s.userTickets = map[string]map[ticketKey]struct{}{}
	s.identities.init()
	s.passkeys.init()
	s.newEmails = map[string]string{}
}

// lock takes the write lock, after checking ctx, and readies a zero Store.
func (s *Store) lock(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.init()
	return nil
}

// rlock takes the read lock after checking ctx. Reading the nil maps of a
// zero Store is safe.
func (s *Store) rlock(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.RLock()
	return nil
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	return nil
}

// utc is the form in which the store keeps a time.
func utc(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func missing(record, field string) error {
	return fmt.Errorf("%w: %s.%s", ErrMissingField, record, field)
}

func conflict(field string) error { return &store.ConflictError{Field: field} }

// storable reports whether a text column could hold s: valid UTF-8 without
// a NUL byte.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Ping returns nil, or an error wrapping ctx.Err() when ctx is done: the
// memory always answers.
func (s *Store) Ping(ctx context.Context) error {
	return ctxErr(ctx)
}

// DeleteExpired deletes the refresh tokens, codes and tickets that expired
// before the given moment (ExpiresAt < before), revoked, used or not, and
// the users who never verified their email and registered before
// unverifiedBefore (CreatedAt < unverifiedBefore), each with every record of
// theirs; the zero unverifiedBefore keeps every user. It returns how many
// records it deleted, users included. It returns an error only when ctx is
// done.
func (s *Store) DeleteExpired(ctx context.Context, before, unverifiedBefore time.Time) (int64, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	before = utc(before)
	var n int64
	for _, t := range s.tokens {
		if t.ExpiresAt.Before(before) {
			s.deleteTokenLocked(t)
			n++
		}
	}
	for _, c := range s.codes {
		if c.ExpiresAt.Before(before) {
			s.deleteCodeLocked(c)
			n++
		}
	}
	for _, t := range s.tickets {
		if t.ExpiresAt.Before(before) {
			s.deleteTicketLocked(t)
			n++
		}
	}
	if !unverifiedBefore.IsZero() {
		unverifiedBefore = utc(unverifiedBefore)
		for _, u := range s.users {
			if !u.IsVerified && u.CreatedAt.Before(unverifiedBefore) {
				n += s.deleteUserLocked(u)
			}
		}
	}
	return n, nil
}
