package password_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/password"
)

// longWait is a MaxWait no test reaches: tests that are not about ErrBusy
// use it, so a slow machine cannot turn a wait into a spurious ErrBusy.
const longWait = time.Hour

func TestNewHasherErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  password.HasherConfig
	}{
		{"params out of caps", password.HasherConfig{Params: password.Params{Memory: 64, Iterations: 11, Parallelism: 1, SaltLength: 16, KeyLength: 32}}},
		{"params partly zero", password.HasherConfig{Params: password.Params{Memory: 19456}}},
		{"negative MaxConcurrent", password.HasherConfig{MaxConcurrent: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := password.NewHasher(tt.cfg)
			require.ErrorIs(t, err, password.ErrInvalidParams)
			assert.Nil(t, h)
		})
	}
}

// TestHasherConfigFields checks zero, positive and negative for each
// field of HasherConfig through NewHasher: zero is the documented default,
// negative turns waiting off in MaxWait and MaxQueue and is an error in
// MaxConcurrent.
func TestHasherConfigFields(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	tests := []struct {
		name    string
		cfg     password.HasherConfig
		wantErr error
		// slots is how many hashes run at once.
		slots int
		// queue is how many callers wait in line while the slots are
		// busy; 0 means a caller that finds them busy fails at once.
		queue int
		// waitFails means a waiter fails with ErrBusy before a slot
		// frees (MaxWait passes).
		waitFails bool
	}{
		{name: "MaxConcurrent zero is GOMAXPROCS", cfg: password.HasherConfig{MaxWait: -1}, slots: procs},
		{name: "MaxConcurrent positive", cfg: password.HasherConfig{MaxConcurrent: 2, MaxWait: -1}, slots: 2},
		{name: "MaxConcurrent negative", cfg: password.HasherConfig{MaxConcurrent: -1}, wantErr: password.ErrInvalidParams},
		{name: "MaxConcurrent negative, waiting off", cfg: password.HasherConfig{MaxConcurrent: -3, MaxWait: -1, MaxQueue: -1}, wantErr: password.ErrInvalidParams},

		{name: "MaxWait zero waits", cfg: password.HasherConfig{MaxConcurrent: 1, MaxQueue: 1}, slots: 1, queue: 1},
		{name: "MaxWait positive", cfg: password.HasherConfig{MaxConcurrent: 1, MaxQueue: 1, MaxWait: time.Millisecond}, slots: 1, queue: 1, waitFails: true},
		{name: "MaxWait negative does not wait", cfg: password.HasherConfig{MaxConcurrent: 1, MaxQueue: 5, MaxWait: -time.Nanosecond}, slots: 1},

		{name: "MaxQueue zero is eight per slot", cfg: password.HasherConfig{MaxConcurrent: 1, MaxWait: longWait}, slots: 1, queue: 8},
		{name: "MaxQueue positive", cfg: password.HasherConfig{MaxConcurrent: 2, MaxQueue: 3, MaxWait: longWait}, slots: 2, queue: 3},
		{name: "MaxQueue negative is no line", cfg: password.HasherConfig{MaxConcurrent: 1, MaxQueue: -1, MaxWait: longWait}, slots: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateReader()
			cfg := tt.cfg
			cfg.Params = fastParams()
			cfg.Rand = g
			h, err := password.NewHasher(cfg)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, h)
				return
			}
			require.NoError(t, err)
			ctx := context.Background()

			holders := make([]chan error, tt.slots)
			for i := range holders {
				holders[i] = make(chan error, 1)
				go func() {
					_, err := h.Hash(ctx, "holder")
					holders[i] <- err
				}()
				select {
				case <-g.entered: // holds a slot
				case err := <-holders[i]:
					t.Fatalf("holder %d of %d got no slot: %v", i+1, tt.slots, err)
				}
			}
			waiters := make([]chan error, tt.queue)
			for i := range waiters {
				octx := newObservedContext(ctx)
				waiters[i] = make(chan error, 1)
				go func() { waiters[i] <- h.Verify(octx, goodPassword, goodHash) }()
				select {
				case <-octx.asked: // waiting in line
				case err := <-waiters[i]:
					t.Fatalf("waiter %d of %d did not wait: %v", i+1, tt.queue, err)
				}
			}

			// Every slot is busy and the line, if any, is full: the next
			// caller fails at once, without waiting.
			octx := newObservedContext(ctx)
			require.ErrorIs(t, h.Verify(octx, goodPassword, goodHash), password.ErrBusy)
			select {
			case <-octx.asked:
				t.Fatal("the caller waited for a slot")
			default:
			}

			if tt.waitFails {
				for _, w := range waiters {
					require.ErrorIs(t, <-w, password.ErrBusy, "MaxWait passed")
				}
			}
			for _, done := range holders {
				g.release <- struct{}{}
				require.NoError(t, <-done)
			}
			if !tt.waitFails {
				for _, w := range waiters {
					require.NoError(t, <-w, "a waiter in line got a slot")
				}
			}
			require.NoError(t, h.Verify(ctx, goodPassword, goodHash), "the slots are free again")
		})
	}
}

func TestHasherDefaults(t *testing.T) {
	h, err := password.NewHasher(password.HasherConfig{})
	require.NoError(t, err)
	assert.Equal(t, password.DefaultParams(), h.Params())

	var zero password.Hasher
	assert.Equal(t, password.DefaultParams(), zero.Params(), "the zero Hasher uses the default parameters")
	assert.True(t, zero.NeedsRehash(goodHash))
}

func TestHasherZeroValueHashes(t *testing.T) {
	var h password.Hasher
	encoded, err := h.Hash(context.Background(), "pw")
	require.NoError(t, err)
	p, err := password.Decode(encoded)
	require.NoError(t, err)
	assert.Equal(t, password.DefaultParams(), p)
	assert.False(t, h.NeedsRehash(encoded))
}

func TestHasherHashVerify(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.HasherConfig{MaxConcurrent: 2, MaxWait: longWait})
	assert.Equal(t, fastParams(), h.Params())

	encoded, err := h.Hash(ctx, "hunter2!")
	require.NoError(t, err)
	assert.False(t, h.NeedsRehash(encoded))
	assert.True(t, h.NeedsRehash(goodHash), "other parameters need a rehash")

	tests := []struct {
		name     string
		pw, hash string
		wantErr  error
	}{
		{"own hash", "hunter2!", encoded, nil},
		{"other tool's hash", goodPassword, goodHash, nil},
		{"wrong password", "hunter2", encoded, password.ErrMismatch},
		{"malformed", "hunter2!", "$argon2i$v=19$m=64,t=1,p=2$" + goodSalt + "$" + goodKey, password.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.Verify(ctx, tt.pw, tt.hash)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestHasherRandError(t *testing.T) {
	errRand := errors.New("entropy exhausted")
	h := newHasher(t, password.HasherConfig{Rand: iotest.ErrReader(errRand)})
	_, err := h.Hash(context.Background(), "pw")
	require.ErrorIs(t, err, errRand)

	// The failed call gave its slot back.
	g := newGateReader()
	h = newHasher(t, password.HasherConfig{MaxConcurrent: 1, MaxWait: longWait, Rand: g})
	done := holdSlot(t, h, g)
	g.release <- struct{}{}
	require.NoError(t, <-done)
}

// TestHasherBound runs more hashes than slots and counts, inside the salt
// read that each hash makes while holding its slot, how many run at once.
func TestHasherBound(t *testing.T) {
	const slots, callers = 2, 8
	g := newGateReader()
	h := newHasher(t, password.HasherConfig{MaxConcurrent: slots, MaxWait: longWait, Rand: g})

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "pw")
			errs <- err
		})
	}
	// Fill the slots, then let one hash finish at a time: each release
	// admits exactly one waiter.
	for range slots {
		<-g.entered
	}
	for range callers - slots {
		g.release <- struct{}{}
		<-g.entered
	}
	for range slots {
		g.release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(slots), g.peak.Load(), "hashes running at once")
}

func TestHasherBusy(t *testing.T) {
	ctx := context.Background()
	g := newGateReader()
	h := newHasher(t, password.HasherConfig{MaxConcurrent: 1, MaxWait: time.Millisecond, Rand: g})
	done := holdSlot(t, h, g)

	t.Run("Verify", func(t *testing.T) {
		err := h.Verify(ctx, goodPassword, goodHash)
		require.ErrorIs(t, err, password.ErrBusy)
		assert.Equal(t, "password: too many hashes in progress", err.Error())
	})
	t.Run("Hash", func(t *testing.T) {
		encoded, err := h.Hash(ctx, "pw")
		require.ErrorIs(t, err, password.ErrBusy)
		assert.Empty(t, encoded)
	})
	t.Run("malformed is refused without a slot", func(t *testing.T) {
		err := h.Verify(ctx, "pw", "garbage")
		require.ErrorIs(t, err, password.ErrMalformed)
		assert.NotErrorIs(t, err, password.ErrBusy)
	})

	g.release <- struct{}{}
	require.NoError(t, <-done)
	require.NoError(t, h.Verify(ctx, goodPassword, goodHash), "the slot is free again")
}

// TestHasherQueueFull holds the only slot, lets one caller wait in the
// one-place line, and checks that the next caller is refused at once.
func TestHasherQueueFull(t *testing.T) {
	g := newGateReader()
	h := newHasher(t, password.HasherConfig{MaxConcurrent: 1, MaxQueue: 1, MaxWait: longWait, Rand: g})
	done := holdSlot(t, h, g)

	octx := newObservedContext(context.Background())
	waiter := make(chan error, 1)
	go func() { waiter <- h.Verify(octx, goodPassword, goodHash) }()
	<-octx.asked // the waiter holds the place in line

	err := h.Verify(context.Background(), goodPassword, goodHash)
	require.ErrorIs(t, err, password.ErrBusy, "a full line refuses at once")
	_, err = h.Hash(context.Background(), "pw")
	require.ErrorIs(t, err, password.ErrBusy)

	g.release <- struct{}{}
	require.NoError(t, <-done)
	require.NoError(t, <-waiter, "the waiter in line got the slot")
	require.NoError(t, h.Verify(context.Background(), goodPassword, goodHash), "the line is free again")
}

func TestHasherContext(t *testing.T) {
	t.Run("already canceled, slot free", func(t *testing.T) {
		h := newHasher(t, password.HasherConfig{MaxWait: longWait})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := h.Hash(ctx, "pw")
		require.ErrorIs(t, err, context.Canceled)
		err = h.Verify(ctx, goodPassword, goodHash)
		require.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, password.ErrMismatch)
	})

	t.Run("canceled while waiting frees the waiter", func(t *testing.T) {
		g := newGateReader()
		h := newHasher(t, password.HasherConfig{MaxConcurrent: 1, MaxWait: longWait, Rand: g})
		done := holdSlot(t, h, g)

		ctx, cancel := context.WithCancel(context.Background())
		octx := newObservedContext(ctx)
		waiter := make(chan error, 1)
		go func() { waiter <- h.Verify(octx, goodPassword, goodHash) }()
		<-octx.asked // the waiter is entering its wait
		cancel()
		err := <-waiter
		require.ErrorIs(t, err, context.Canceled)
		assert.True(t, strings.HasPrefix(err.Error(), "password: "), err.Error())

		g.release <- struct{}{}
		require.NoError(t, <-done)
		require.NoError(t, h.Verify(context.Background(), goodPassword, goodHash), "the canceled waiter took no slot")
	})

	t.Run("deadline while waiting", func(t *testing.T) {
		g := newGateReader()
		h := newHasher(t, password.HasherConfig{MaxConcurrent: 1, MaxWait: longWait, Rand: g})
		done := holdSlot(t, h, g)

		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_, err := h.Hash(ctx, "pw")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, password.ErrBusy)

		g.release <- struct{}{}
		require.NoError(t, <-done)
	})
}

// TestHasherManyCallers hammers one Hasher from many goroutines (run with
// -race) and checks that every call succeeds and no slot leaks.
func TestHasherManyCallers(t *testing.T) {
	h := newHasher(t, password.HasherConfig{MaxConcurrent: 3, MaxQueue: 32, MaxWait: longWait})
	encoded, err := h.Hash(context.Background(), "pw")
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Go(func() {
			if i%2 == 0 {
				_, err := h.Hash(context.Background(), "pw")
				errs <- err
				return
			}
			errs <- h.Verify(context.Background(), "pw", encoded)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// observedContext reports, by closing asked, the first call of Done: a
// Hasher calls it only when it is about to wait for a slot, so a test can
// cancel a waiter that is really waiting, without sleeping.
type observedContext struct {
	context.Context
	asked chan struct{}
	once  sync.Once
}

func newObservedContext(ctx context.Context) *observedContext {
	return &observedContext{Context: ctx, asked: make(chan struct{})}
}

func (c *observedContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.asked) })
	return c.Context.Done()
}
