package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/mailer"
)

// guard bounds a wait that should end at once, so that a bug fails the
// test instead of hanging it.
const guard = 10 * time.Second

// receive waits for a value on ch, failing the test after guard.
func receive[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		tb.Fatalf("no %s after %s", what, guard)
		var zero T
		return zero
	}
}

// blocking is a Mailer whose sends wait until release is closed (or their
// ctx ends), announcing each start on started.
type blocking struct {
	started chan mailer.Message
	release chan struct{}
	once    sync.Once
}

func newBlocking() *blocking {
	return &blocking{started: make(chan mailer.Message, 1024), release: make(chan struct{})}
}

func (b *blocking) Send(ctx context.Context, m mailer.Message) error {
	b.started <- m
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *blocking) Release() { b.once.Do(func() { close(b.release) }) }

// to returns a distinct recipient for each i.
func to(i int) mailer.Message {
	m := testMessage
	m.To = fmt.Sprintf("user%d@example.org", i)
	return m
}

// busyAsync returns an Async whose only worker is busy with a message
// that waits for release; the queue is empty. Cleanup releases it and
// shuts it down.
func busyAsync(t *testing.T, cfg mailer.AsyncConfig) (*mailer.Async, *blocking) {
	t.Helper()
	b := newBlocking()
	cfg.Workers = 1
	if cfg.Logger == nil {
		cfg.Logger, _ = testLogger()
	}
	a := newAsync(t, b, cfg)
	t.Cleanup(func() {
		b.Release()
		require.NoError(t, a.Shutdown(context.Background()))
	})
	require.NoError(t, a.Send(t.Context(), to(-1)))
	receive(t, b.started, "first send")
	return a, b
}

// queueSize checks that exactly want messages can wait.
func queueSize(want int) func(*testing.T, mailer.AsyncConfig) {
	return func(t *testing.T, cfg mailer.AsyncConfig) {
		a, _ := busyAsync(t, cfg)
		for i := range want {
			require.NoError(t, a.Send(t.Context(), to(i)), "message %d", i)
		}
		require.ErrorIs(t, a.Send(t.Context(), to(want)), mailer.ErrQueueFull)
	}
}

// workers checks that want messages are sent at once, and no more.
func workers(want int) func(*testing.T, mailer.AsyncConfig) {
	return func(t *testing.T, cfg mailer.AsyncConfig) {
		b := newBlocking()
		cfg.QueueSize = 1
		cfg.Logger, _ = testLogger()
		a := newAsync(t, b, cfg)
		defer shutdown(t, a)
		defer b.Release()
		for i := range want {
			require.NoError(t, a.Send(t.Context(), to(i)))
			receive(t, b.started, "a worker's start")
		}
		// Every worker is busy: one more message waits, the next is refused.
		require.NoError(t, a.Send(t.Context(), to(want)))
		require.ErrorIs(t, a.Send(t.Context(), to(want+1)), mailer.ErrQueueFull)
		assert.Empty(t, b.started, "no worker left to start another send")
	}
}

// retries checks how many attempts a message always refused with a
// temporary error gets, and the waits between them.
func retries(attempts int, waits ...time.Duration) func(*testing.T, mailer.AsyncConfig) {
	return func(t *testing.T, cfg mailer.AsyncConfig) {
		var mu sync.Mutex
		tried := 0
		next := mailer.Func(func(context.Context, mailer.Message) error {
			mu.Lock()
			defer mu.Unlock()
			tried++
			return errGreylisted
		})
		clock := new(fakeClock)
		cfg.After = clock.After
		cfg.Logger, _ = testLogger()
		a := newAsync(t, next, cfg)
		require.NoError(t, a.Send(t.Context(), testMessage))
		shutdown(t, a)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, attempts, tried)
		if waits == nil {
			waits = []time.Duration{}
		}
		assert.Equal(t, waits, append([]time.Duration{}, clock.Waits()...))
	}
}

// sendTimeout checks the deadline of an attempt: about want from now, or
// none when want is 0.
func sendTimeout(want time.Duration) func(*testing.T, mailer.AsyncConfig) {
	return func(t *testing.T, cfg mailer.AsyncConfig) {
		left := make(chan time.Duration, 1)
		next := mailer.Func(func(ctx context.Context, _ mailer.Message) error {
			deadline, ok := ctx.Deadline()
			if !ok {
				left <- 0
				return nil
			}
			left <- time.Until(deadline)
			return nil
		})
		a := newAsync(t, next, cfg)
		defer shutdown(t, a)
		require.NoError(t, a.Send(t.Context(), testMessage))
		got := receive(t, left, "attempt")
		if want == 0 {
			assert.Zero(t, got, "no deadline")
			return
		}
		assert.LessOrEqual(t, got, want)
		assert.Greater(t, got, want-guard/2)
	}
}

// perRecipient checks that want reservations to one recipient hold, and
// no more; or, when want is 0, that only the queue's size limits them.
func perRecipient(want int) func(*testing.T, mailer.AsyncConfig) {
	return func(t *testing.T, cfg mailer.AsyncConfig) {
		a := newAsync(t, new(mailer.Recorder), cfg)
		defer shutdown(t, a)
		limit := want
		if want == 0 {
			limit = cfg.QueueSize
		}
		for i := range limit {
			_, err := a.Reserve("ada@example.org")
			require.NoError(t, err, "reservation %d", i)
		}
		_, err := a.Reserve("ada@example.org")
		require.ErrorIs(t, err, mailer.ErrQueueFull)
		if want == 0 {
			assert.NotErrorIs(t, err, mailer.ErrRecipientQueueFull)
			return
		}
		require.ErrorIs(t, err, mailer.ErrRecipientQueueFull)
		_, err = a.Reserve("bob@example.org")
		require.NoError(t, err, "another recipient has room")
	}
}

// reservationTTL checks that a reservation holds its slot for want.
func reservationTTL(want time.Duration) func(*testing.T, mailer.AsyncConfig) {
	return func(t *testing.T, cfg mailer.AsyncConfig) {
		clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		cfg.QueueSize = 1
		cfg.Now = clock.Now
		a := newAsync(t, new(mailer.Recorder), cfg)
		defer shutdown(t, a)
		_, err := a.Reserve("ada@example.org")
		require.NoError(t, err)
		clock.Advance(want - time.Nanosecond)
		_, err = a.Reserve("bob@example.org")
		require.ErrorIs(t, err, mailer.ErrQueueFull, "still held")
		clock.Advance(time.Nanosecond)
		_, err = a.Reserve("bob@example.org")
		require.NoError(t, err, "expired")
	}
}

func TestAsyncConfig(t *testing.T) {
	tests := []struct {
		name  string
		cfg   mailer.AsyncConfig
		field string                               // the field NewAsync refuses; empty when cfg is valid
		check func(*testing.T, mailer.AsyncConfig) // what cfg does, when valid
	}{
		{"QueueSize/zero means 256", mailer.AsyncConfig{}, "", queueSize(256)},
		{"QueueSize/positive", mailer.AsyncConfig{QueueSize: 3}, "", queueSize(3)},
		{"QueueSize/negative", mailer.AsyncConfig{QueueSize: -1}, "QueueSize", nil},

		{"Workers/zero means 2", mailer.AsyncConfig{}, "", workers(2)},
		{"Workers/positive", mailer.AsyncConfig{Workers: 3}, "", workers(3)},
		{"Workers/negative", mailer.AsyncConfig{Workers: -1}, "Workers", nil},

		{"MaxAttempts/zero means 5", mailer.AsyncConfig{}, "", retries(5, time.Second, 2*time.Second, 4*time.Second, 8*time.Second)},
		{"MaxAttempts/positive", mailer.AsyncConfig{MaxAttempts: 1}, "", retries(1)},
		{"MaxAttempts/negative", mailer.AsyncConfig{MaxAttempts: -1}, "MaxAttempts", nil},

		{"Backoff/zero means 1s", mailer.AsyncConfig{MaxAttempts: 3}, "", retries(3, time.Second, 2*time.Second)},
		{"Backoff/positive", mailer.AsyncConfig{MaxAttempts: 3, Backoff: 5 * time.Second}, "", retries(3, 5*time.Second, 10*time.Second)},
		{"Backoff/negative", mailer.AsyncConfig{Backoff: -time.Second}, "Backoff", nil},

		{"MaxBackoff/zero means 1min", mailer.AsyncConfig{MaxAttempts: 4, Backoff: 40 * time.Second}, "", retries(4, 40*time.Second, time.Minute, time.Minute)},
		{"MaxBackoff/positive caps the first wait too", mailer.AsyncConfig{MaxAttempts: 3, Backoff: 3 * time.Second, MaxBackoff: 2 * time.Second}, "", retries(3, 2*time.Second, 2*time.Second)},
		{"MaxBackoff/negative", mailer.AsyncConfig{MaxBackoff: -time.Second}, "MaxBackoff", nil},

		{"SendTimeout/zero means 30s", mailer.AsyncConfig{}, "", sendTimeout(30 * time.Second)},
		{"SendTimeout/positive", mailer.AsyncConfig{SendTimeout: 5 * time.Minute}, "", sendTimeout(5 * time.Minute)},
		{"SendTimeout/negative means no bound", mailer.AsyncConfig{SendTimeout: -1}, "", sendTimeout(0)},

		{"MaxPerRecipient/zero means 4", mailer.AsyncConfig{}, "", perRecipient(4)},
		{"MaxPerRecipient/positive", mailer.AsyncConfig{MaxPerRecipient: 2}, "", perRecipient(2)},
		{"MaxPerRecipient/negative means no limit", mailer.AsyncConfig{MaxPerRecipient: -1, QueueSize: 6}, "", perRecipient(0)},

		{"ReservationTTL/zero means 1min", mailer.AsyncConfig{}, "", reservationTTL(time.Minute)},
		{"ReservationTTL/positive", mailer.AsyncConfig{ReservationTTL: 10 * time.Second}, "", reservationTTL(10 * time.Second)},
		{"ReservationTTL/negative", mailer.AsyncConfig{ReservationTTL: -time.Second}, "ReservationTTL", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.field == "" {
				tt.check(t, tt.cfg)
				return
			}
			a, err := mailer.NewAsync(new(mailer.Recorder), tt.cfg)
			assert.Nil(t, a)
			require.ErrorIs(t, err, mailer.ErrInvalidConfig)
			cfgErr, ok := errors.AsType[*mailer.ConfigError](err)
			require.True(t, ok)
			assert.Equal(t, "AsyncConfig", cfgErr.Config)
			assert.Equal(t, tt.field, cfgErr.Field)
			assert.Equal(t, "mailer: invalid AsyncConfig."+tt.field+": negative", err.Error())
		})
	}
}
