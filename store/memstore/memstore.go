package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

var (
	// ErrMissingField is returned by a create method, and by
	// [Store.RotateRefreshToken] for the next token, when a field the
	// contract requires is empty. It is wrapped with the field's name.
	ErrMissingField = errors.New("memstore: required field is empty")

	// ErrDuplicateKey is returned when a new record's ID, or a new refresh
	// token's digest, is already taken. It is wrapped with the key's name.
	// It does not match [store.ErrConflict], which is about usernames and
	// emails only.
	ErrDuplicateKey = errors.New("memstore: duplicate key")
)

// Store is an in-memory [store.Store]. Create one with [New]; the zero value
// is also an empty store ready to use. A Store must not be copied after
// first use.
//
// Store is safe for concurrent use. Records are copied in and out (they hold
// no references), so a caller can never change what the store keeps except
// through its methods. Times are stored truncated to the microsecond and in
// UTC.
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
}

type idSet = map[string]struct{}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Pinger  = (*Store)(nil)
	_ store.Cleaner = (*Store)(nil)
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

func duplicate(record, key string) error {
	return fmt.Errorf("%w: %s.%s", ErrDuplicateKey, record, key)
}

// Ping returns nil, or an error wrapping ctx.Err() when ctx is done: the
// memory always answers.
func (s *Store) Ping(ctx context.Context) error {
	return ctxErr(ctx)
}

// DeleteExpired deletes the refresh tokens and codes that expired before the
// given moment (ExpiresAt < before), revoked, used or not, and returns how
// many it deleted. Users are untouched. It returns an error only when ctx is
// done.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
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
	return n, nil
}
