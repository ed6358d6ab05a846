package ratelimit

import (
	"container/heap"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/forgeauth/forgeauth/ratelimit/internal/gcra"
)

// DefaultMaxKeys is the bound on keys held by a [Memory] whose
// [MemoryConfig.MaxKeys] is zero.
const DefaultMaxKeys = 100_000

// MemoryConfig configures [NewMemory].
type MemoryConfig struct {
	// Rule is the limit enforced; it must pass [Rule.Validate].
	Rule Rule

	// MaxKeys bounds how many keys are held; 0 (or less) means
	// [DefaultMaxKeys]. A key costs under 100 bytes plus its length. When
	// a new key arrives and the limiter is full, expired keys (those back
	// to a full Limit, which are dropped anyway whenever Allow runs) go
	// first; then the key nearest to expiry, the one that owes the least,
	// so forgetting it gives away the fewest events. That is the safe
	// order for a limiter (least recently used would not be): a client
	// cannot free its own blocked key by spraying fresh ones, since to
	// push it out it would have to fill the limiter with keys that each
	// owe more than the blocked one, close to Limit events per key.
	MaxKeys int

	// Now returns the current time; nil means time.Now. Only differences
	// between its results matter.
	Now func() time.Time
}

// Memory is a [Limiter] that keeps its counts in the process, using the
// generic cell rate algorithm: one small record per key, O(log n) work per
// event. Use it for a single instance; services on several machines that
// must share limits use [github.com/forgeauth/forgeauth/ratelimit/redislimit].
//
// A Memory is safe for concurrent use. It starts no goroutine and needs no
// closing. Create one with [NewMemory]; the zero value is not usable.
type Memory struct {
	rule    gcra.Rule // in nanoseconds
	maxKeys int
	now     func() time.Time
	base    time.Time

	mu      sync.Mutex
	entries map[string]*entry
	byTAT   entryHeap // min-heap: the next key to expire on top
}

var _ Limiter = (*Memory)(nil)

type entry struct {
	key   string
	state gcra.State
	index int // in byTAT
}

// NewMemory returns an empty in-memory limiter. It returns an error wrapping
// [ErrInvalidRule] when cfg.Rule is invalid.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if err := cfg.Rule.Validate(); err != nil {
		return nil, err
	}
	m := &Memory{
		rule:    gcra.Rule{Window: int64(cfg.Rule.Window), Limit: int64(cfg.Rule.Limit)},
		maxKeys: cfg.MaxKeys,
		now:     cfg.Now,
		entries: make(map[string]*entry),
	}
	if m.maxKeys <= 0 {
		m.maxKeys = DefaultMaxKeys
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.base = m.now()
	return m, nil
}

// clock returns the time in nanoseconds since m was made; with time.Now it
// follows the monotonic clock.
func (m *Memory) clock() int64 {
	return int64(m.now().Sub(m.base))
}

// Allow implements [Limiter.Allow]. The only errors it returns are ctx's,
// when ctx is already done.
func (m *Memory) Allow(ctx context.Context, key string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	m.dropExpired(now)
	e := m.entries[key]
	s := gcra.State{TAT: now}
	if e != nil {
		s = e.state
	}
	d := gcra.Decide(m.rule, s, now)
	if d.Allowed {
		if e != nil {
			e.state = d.Next
			heap.Fix(&m.byTAT, e.index)
		} else {
			m.insert(key, d.Next)
		}
	}
	return result(d), nil
}

// Peek implements [Limiter.Peek]. The only errors it returns are ctx's,
// when ctx is already done.
func (m *Memory) Peek(ctx context.Context, key string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	s := gcra.State{TAT: now}
	if e := m.entries[key]; e != nil {
		s = e.state
	}
	return result(gcra.Decide(m.rule, s, now)), nil
}

// Reset implements [Limiter.Reset]. The only errors it returns are ctx's,
// when ctx is already done.
func (m *Memory) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entries[key]; e != nil {
		heap.Remove(&m.byTAT, e.index)
		delete(m.entries, key)
	}
	return nil
}

// Refund implements [Limiter.Refund], atomically under m's lock. The only
// errors it returns are ctx's, when ctx is already done; then nothing is
// given back.
func (m *Memory) Refund(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	if e == nil {
		return nil
	}
	if next, owes := gcra.Refund(m.rule, e.state, m.clock()); owes {
		e.state = next
		heap.Fix(&m.byTAT, e.index)
	} else {
		heap.Remove(&m.byTAT, e.index)
		delete(m.entries, key)
	}
	return nil
}

// Len returns how many keys m holds. Keys that have expired since the last
// Allow are still counted.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func (m *Memory) insert(key string, s gcra.State) {
	if len(m.entries) >= m.maxKeys {
		e := heap.Pop(&m.byTAT).(*entry)
		delete(m.entries, e.key)
	}
	key = strings.Clone(key) // never pin a caller's larger buffer
	e := &entry{key: key, state: s}
	m.entries[key] = e
	heap.Push(&m.byTAT, e)
}

// dropExpired forgets every key whose debt is paid: its state equals that of
// a key never seen.
func (m *Memory) dropExpired(now int64) {
	for len(m.byTAT) > 0 {
		s := m.byTAT[0].state
		if s.TAT > now || (s.TAT == now && s.Frac > 0) {
			return
		}
		e := heap.Pop(&m.byTAT).(*entry)
		delete(m.entries, e.key)
	}
}

func result(d gcra.Decision) Result {
	return Result{
		Allowed:    d.Allowed,
		Remaining:  int(d.Remaining),
		RetryAfter: time.Duration(d.RetryAfter),
	}
}

// entryHeap orders entries by their theoretical arrival time.
type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }

func (h entryHeap) Less(i, j int) bool {
	a, b := h[i].state, h[j].state
	return a.TAT < b.TAT || (a.TAT == b.TAT && a.Frac < b.Frac)
}

func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
