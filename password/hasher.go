package password

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
)

// DefaultMaxWait is how long a [Hasher] lets a caller wait for a slot when
// [HasherConfig.MaxWait] is zero.
const DefaultMaxWait = 2 * time.Second

// HasherConfig configures a [Hasher]. The zero value is the secure default:
// in every field zero means the documented default, and a negative number
// means "off" where the field says it can be turned off and is refused by
// [NewHasher] everywhere else.
type HasherConfig struct {
	// Params are the parameters of new hashes and the target of
	// NeedsRehash. The zero value means DefaultParams(); any other value
	// is used as given and must pass Params.Validate.
	Params Params

	// MaxConcurrent is how many hashes (Hash and Verify together) run at
	// once. Zero means runtime.GOMAXPROCS(0) when the Hasher is set up.
	// The bound cannot be turned off: a negative value is an error from
	// NewHasher. A hash with Parallelism p keeps p goroutines busy, so with p > 1 a
	// smaller bound may suit the CPU as well as the memory. Peak memory
	// is about MaxConcurrent × Params.Memory KiB for new hashes, and up to
	// MaxConcurrent × MaxMemory KiB when verifying stored hashes that carry
	// larger parameters.
	MaxConcurrent int

	// MaxWait is how long a call may wait for a free slot before it fails
	// with ErrBusy. Zero means DefaultMaxWait (2 s). Negative means no
	// waiting at all: a call that finds every slot busy fails with ErrBusy
	// at once (MaxQueue is then unused).
	MaxWait time.Duration

	// MaxQueue is how many calls may wait for a slot at once; a call that
	// finds the line full fails with ErrBusy at once, so the excess of a
	// burst is refused quickly instead of after MaxWait. Zero means eight
	// waiters per slot. Negative means no waiting line: a call that finds
	// every slot busy fails with ErrBusy at once (MaxWait is then unused).
	MaxQueue int

	// Rand is the source of salts. Nil means crypto/rand. It is read while
	// the caller holds a slot.
	Rand io.Reader
}

// Hasher hashes and verifies passwords with a bound on how many Argon2
// computations run at once, so that a burst of logins cannot exhaust memory
// (each one holds Params.Memory KiB while it runs). Callers beyond the bound
// wait in line until a slot frees, their context ends, or MaxWait passes.
//
// A Hasher is safe for concurrent use and must not be copied after first
// use. The zero value is ready to use with the zero HasherConfig: the
// default parameters, GOMAXPROCS slots, eight waiters per slot and a
// two-second wait.
type Hasher struct {
	cfg HasherConfig

	once    sync.Once
	params  Params
	maxWait time.Duration
	rand    io.Reader
	slots   chan struct{} // a token is held for the duration of one hash
	queue   chan struct{} // a token is held while waiting for a slot; nil: no waiting
}

// NewHasher returns a Hasher configured by cfg. It returns an error wrapping
// [ErrInvalidParams] when cfg.Params is neither zero nor valid, or when
// cfg.MaxConcurrent is negative. A negative MaxWait or MaxQueue is not an
// error: it turns waiting off (see [HasherConfig]).
func NewHasher(cfg HasherConfig) (*Hasher, error) {
	if cfg.Params != (Params{}) {
		if err := cfg.Params.Validate(); err != nil {
			return nil, err
		}
	}
	if cfg.MaxConcurrent < 0 {
		return nil, fmt.Errorf("%w: MaxConcurrent %d is negative", ErrInvalidParams, cfg.MaxConcurrent)
	}
	h := &Hasher{cfg: cfg}
	h.once.Do(h.setup)
	return h, nil
}

// setup turns the configuration into the working fields. NewHasher has
// validated it; a zero Hasher has the zero configuration, which is valid.
func (h *Hasher) setup() {
	h.params = h.cfg.Params
	if h.params == (Params{}) {
		h.params = DefaultParams()
	}
	n := h.cfg.MaxConcurrent
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	h.slots = make(chan struct{}, n)
	if h.cfg.MaxQueue >= 0 && h.cfg.MaxWait >= 0 {
		q := h.cfg.MaxQueue
		if q == 0 {
			q = 8 * n
		}
		h.queue = make(chan struct{}, q)
	} // else no line: a nil queue is never free, so acquire never waits
	h.maxWait = h.cfg.MaxWait
	if h.maxWait == 0 {
		h.maxWait = DefaultMaxWait
	}
	h.rand = h.cfg.Rand
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Params {
	h.once.Do(h.setup)
	return h.params
}

// Hash waits for a slot, then returns [Hash] of pw with the Hasher's
// parameters and Rand.
//
// Hash returns an error wrapping ctx.Err() when ctx is done before a slot
// is free (at once if ctx is already done; a client that goes away frees
// its place in line), [ErrBusy] when every slot is busy and the line is
// full or turned off, or when MaxWait passes first, and an error wrapping
// the reader's error when Rand fails.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	h.once.Do(h.setup)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return Hash(pw, h.params, h.rand)
}

// Verify checks pw against encoded as [Verify] does, within a slot. A
// malformed hash is refused before waiting, so it never takes a slot.
//
// Verify returns nil on a match, [ErrMismatch] on a wrong password, an
// error wrapping [ErrMalformed] for an unusable hash, an error wrapping
// ctx.Err() when ctx is done before a slot is free, and [ErrBusy] when
// every slot is busy and the line is full or turned off, or when MaxWait
// passes first.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) error {
	h.once.Do(h.setup)
	d, err := decode(encoded)
	if err != nil {
		return err
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	return verify(pw, d)
}

// NeedsRehash reports [NeedsRehash](encoded, h.Params()).
func (h *Hasher) NeedsRehash(encoded string) bool {
	return NeedsRehash(encoded, h.Params())
}

func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("password: waiting for a hashing slot: %w", err)
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.queue <- struct{}{}:
		defer func() { <-h.queue }()
	default:
		return ErrBusy // the line is full, or there is none
	}
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	case <-timer.C:
		return ErrBusy
	}
}

func (h *Hasher) release() { <-h.slots }
