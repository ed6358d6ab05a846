package password_test

import (
	"context"
	"errors"
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
		{"negative MaxWait", password.HasherConfig{MaxWait: -time.Second}},
		{"negative MaxQueue", password.HasherConfig{MaxQueue: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := password.NewHasher(tt.cfg)
			require.ErrorIs(t, err, password.ErrInvalidParams)
			assert.Nil(t, h)
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
