package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/mailer"
)

func TestAsyncReserve(t *testing.T) {
	a, b := busyAsync(t, mailer.AsyncConfig{QueueSize: 2})

	r1, err := a.Reserve("ada@example.org")
	require.NoError(t, err)
	r2, err := a.Reserve("bob@example.org")
	require.NoError(t, err)
	_, err = a.Reserve("carol@example.org")
	require.ErrorIs(t, err, mailer.ErrQueueFull, "the reservations hold every slot")
	require.ErrorIs(t, a.Send(t.Context(), to(1)), mailer.ErrQueueFull, "Send too")

	require.NoError(t, r1.Send(t.Context(), testMessage), "a reservation does not fail for lack of room")
	_, err = a.Reserve("carol@example.org")
	require.ErrorIs(t, err, mailer.ErrQueueFull, "the message holds the slot")
	r1.Cancel() // after Send: does nothing
	_, err = a.Reserve("carol@example.org")
	require.ErrorIs(t, err, mailer.ErrQueueFull, "Cancel after Send does not free the message's slot")

	r2.Cancel()
	r3, err := a.Reserve("carol@example.org")
	require.NoError(t, err, "Cancel gave the slot back")
	r3.Cancel()

	b.Release()
	assert.Equal(t, testMessage, receive(t, b.started, "the reserved message"))
}

func TestReservationCancelIsIdempotent(t *testing.T) {
	a := newAsync(t, new(mailer.Recorder), mailer.AsyncConfig{QueueSize: 2})
	defer shutdown(t, a)
	r, err := a.Reserve("ada@example.org")
	require.NoError(t, err)
	_, err = a.Reserve("bob@example.org")
	require.NoError(t, err)

	r.Cancel()
	r.Cancel()
	_, err = a.Reserve("carol@example.org")
	require.NoError(t, err)
	_, err = a.Reserve("dave@example.org")
	require.ErrorIs(t, err, mailer.ErrQueueFull, "the second Cancel freed nothing more")
}

func TestReservationSendErrors(t *testing.T) {
	t.Run("after Cancel", func(t *testing.T) {
		rec := new(mailer.Recorder)
		a := newAsync(t, rec, mailer.AsyncConfig{})
		r, err := a.Reserve("ada@example.org")
		require.NoError(t, err)
		r.Cancel()
		require.ErrorIs(t, r.Send(t.Context(), testMessage), mailer.ErrReservationEnded)
		shutdown(t, a)
		assert.Empty(t, rec.Messages())
	})
	t.Run("twice", func(t *testing.T) {
		rec := new(mailer.Recorder)
		a := newAsync(t, rec, mailer.AsyncConfig{})
		r, err := a.Reserve("ada@example.org")
		require.NoError(t, err)
		require.NoError(t, r.Send(t.Context(), testMessage))
		require.ErrorIs(t, r.Send(t.Context(), testMessage), mailer.ErrReservationEnded)
		shutdown(t, a)
		assert.Len(t, rec.Messages(), 1)
	})
	t.Run("another recipient", func(t *testing.T) {
		rec := new(mailer.Recorder)
		a := newAsync(t, rec, mailer.AsyncConfig{QueueSize: 1})
		r, err := a.Reserve("bob@example.org")
		require.NoError(t, err)
		require.ErrorIs(t, r.Send(t.Context(), testMessage), mailer.ErrWrongRecipient)
		require.ErrorIs(t, r.Send(t.Context(), testMessage), mailer.ErrReservationEnded, "the failed Send ended it")
		r2, err := a.Reserve("ada@example.org")
		require.NoError(t, err, "and gave its slot back")
		r2.Cancel()
		shutdown(t, a)
		assert.Empty(t, rec.Messages())
	})
	t.Run("expired", func(t *testing.T) {
		clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		rec := new(mailer.Recorder)
		a := newAsync(t, rec, mailer.AsyncConfig{QueueSize: 1, ReservationTTL: time.Minute, Now: clock.Now})
		r, err := a.Reserve("ada@example.org")
		require.NoError(t, err)
		clock.Advance(time.Minute)
		require.ErrorIs(t, r.Send(t.Context(), testMessage), mailer.ErrReservationExpired)
		require.ErrorIs(t, r.Send(t.Context(), testMessage), mailer.ErrReservationExpired, "and stays so")
		r2, err := a.Reserve("ada@example.org")
		require.NoError(t, err, "the expired reservation gave its slot back")
		require.NoError(t, r2.Send(t.Context(), testMessage))
		shutdown(t, a)
		assert.Len(t, rec.Messages(), 1)
	})
	t.Run("after Shutdown", func(t *testing.T) {
		rec := new(mailer.Recorder)
		a := newAsync(t, rec, mailer.AsyncConfig{})
		r, err := a.Reserve("ada@example.org")
		require.NoError(t, err)
		shutdown(t, a)
		require.ErrorIs(t, r.Send(t.Context(), testMessage), mailer.ErrClosed)
		r.Cancel()
		_, err = a.Reserve("ada@example.org")
		require.ErrorIs(t, err, mailer.ErrClosed)
		assert.Empty(t, rec.Messages())
	})
}

func TestReservationExpiryFreesTheSlotForOthers(t *testing.T) {
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	a := newAsync(t, new(mailer.Recorder), mailer.AsyncConfig{
		QueueSize:       3,
		MaxPerRecipient: 1,
		ReservationTTL:  time.Minute,
		Now:             clock.Now,
	})
	defer shutdown(t, a)
	forgotten, err := a.Reserve("ada@example.org")
	require.NoError(t, err)
	_, err = a.Reserve("bob@example.org")
	require.NoError(t, err)

	clock.Advance(30 * time.Second)
	_, err = a.Reserve("ada@example.org")
	require.ErrorIs(t, err, mailer.ErrRecipientQueueFull)
	_, err = a.Reserve("carol@example.org")
	require.NoError(t, err)

	clock.Advance(30 * time.Second) // ada's and bob's reservations expire, not carol's
	_, err = a.Reserve("ada@example.org")
	require.NoError(t, err)
	_, err = a.Reserve("dave@example.org")
	require.NoError(t, err)
	_, err = a.Reserve("eve@example.org")
	require.ErrorIs(t, err, mailer.ErrQueueFull, "carol, ada and dave hold the three slots")

	require.ErrorIs(t, forgotten.Send(t.Context(), testMessage), mailer.ErrReservationExpired)
	forgotten.Cancel() // does nothing: its slot is someone else's now
	_, err = a.Reserve("eve@example.org")
	require.ErrorIs(t, err, mailer.ErrQueueFull)
}

func TestAsyncPerRecipientLimit(t *testing.T) {
	logger, logs := testLogger()
	a, _ := busyAsync(t, mailer.AsyncConfig{Logger: logger})

	r, err := a.Reserve("ada@example.org")
	require.NoError(t, err)
	require.NoError(t, r.Send(t.Context(), mailer.Message{To: "Ada Lovelace <Ada@Example.org>"}), "one recipient, folded")
	_, err = a.Reserve("ADA@example.org")
	require.NoError(t, err)
	require.NoError(t, a.Send(t.Context(), mailer.Message{To: " ada@EXAMPLE.org "}))
	require.NoError(t, a.Send(t.Context(), mailer.Message{To: "ada@example.org", Kind: mailer.Verification}))

	err = a.Send(t.Context(), mailer.Message{To: "ada@example.org", Kind: mailer.PasswordReset})
	require.ErrorIs(t, err, mailer.ErrRecipientQueueFull, "four per recipient by default, plain Send included")
	require.ErrorIs(t, err, mailer.ErrQueueFull)
	assert.Contains(t, logs.String(), `queue full, email dropped" to=ada@example.org kind=password_reset`)
	_, err = a.Reserve("Ada <ada@example.org>")
	require.ErrorIs(t, err, mailer.ErrRecipientQueueFull)

	require.NoError(t, a.Send(t.Context(), to(1)), "others have room")
}

func TestAsyncShutdownDoesNotWaitForReservations(t *testing.T) {
	a := newAsync(t, new(mailer.Recorder), mailer.AsyncConfig{})
	r, err := a.Reserve("ada@example.org")
	require.NoError(t, err)
	require.NoError(t, a.Send(t.Context(), to(1)))

	done := make(chan error, 1)
	go func() { done <- a.Shutdown(context.Background()) }()
	require.NoError(t, receive(t, done, "return from Shutdown"), "a reservation is not a dropped email")
	require.ErrorIs(t, r.Send(t.Context(), testMessage), mailer.ErrClosed)
}

// TestAsyncReserveConcurrent has 50 goroutines reserve, send and cancel
// while the only worker is busy, so that every message sent keeps its slot.
func TestAsyncReserveConcurrent(t *testing.T) {
	const (
		queueSize    = 10
		perRecipient = 2
		goroutines   = 50
		recipients   = 8
		rounds       = 20
	)
	a, _ := busyAsync(t, mailer.AsyncConfig{QueueSize: queueSize, MaxPerRecipient: perRecipient})

	// The test's own count of the slots held, by the goroutines'
	// reservations and the messages they sent. It goes up after Reserve
	// returns and down before Cancel, so it never exceeds the real count.
	var mu sync.Mutex
	held := map[string]int{}
	total := 0
	take := func(key string) {
		mu.Lock()
		defer mu.Unlock()
		held[key]++
		total++
		assert.LessOrEqual(t, total, queueSize, "slots held")
		assert.LessOrEqual(t, held[key], perRecipient, "slots held by %s", key)
	}
	give := func(key string) {
		mu.Lock()
		defer mu.Unlock()
		held[key]--
		total--
	}

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			key := fmt.Sprintf("user%d@example.org", g%recipients)
			addr := [...]string{key, strings.ToUpper(key), "User <" + key + ">"}[g%3]
			for i := range rounds {
				r, err := a.Reserve(addr)
				if err != nil {
					assert.ErrorIs(t, err, mailer.ErrQueueFull)
					continue
				}
				take(key)
				if (g+i)%2 == 0 {
					give(key)
					r.Cancel()
					continue
				}
				m := testMessage
				m.To = addr
				assert.NoError(t, r.Send(context.Background(), m))
			}
		})
	}
	wg.Wait()

	// Every recipient tried to send more than it may hold, so the sent
	// messages fill the queue, within each recipient's limit.
	assert.Equal(t, queueSize, total)
	for key, n := range held {
		assert.LessOrEqual(t, n, perRecipient, key)
	}
	_, err := a.Reserve("someone@example.org")
	require.ErrorIs(t, err, mailer.ErrQueueFull)
}

// TestAsyncReserveConcurrentShutdown has 50 goroutines reserve, send,
// cancel and forget reservations while Shutdown runs: nothing deadlocks,
// and every message accepted is delivered.
func TestAsyncReserveConcurrentShutdown(t *testing.T) {
	var delivered atomic.Int64
	next := mailer.Func(func(context.Context, mailer.Message) error {
		delivered.Add(1)
		return nil
	})
	logger, _ := testLogger()
	a := newAsync(t, next, mailer.AsyncConfig{QueueSize: 16, MaxPerRecipient: 3, Workers: 4, Logger: logger})

	var accepted atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Go(func() {
			<-start
			m := to(g % 10)
			for i := 0; ; i++ {
				var err error
				if g%5 == 0 {
					err = a.Send(context.Background(), m)
				} else {
					var r *mailer.Reservation
					if r, err = a.Reserve(m.To); err == nil {
						switch i % 3 {
						case 0:
							err = r.Send(context.Background(), m)
						case 1:
							r.Cancel()
						case 2: // forgotten
						}
					}
				}
				switch {
				case err == nil:
					if g%5 == 0 || i%3 == 0 {
						accepted.Add(1)
					}
				case errors.Is(err, mailer.ErrClosed):
					return
				default:
					assert.ErrorIs(t, err, mailer.ErrQueueFull)
				}
			}
		})
	}
	close(start)
	shut := make(chan error, 1)
	go func() { shut <- a.Shutdown(context.Background()) }()
	require.NoError(t, receive(t, shut, "return from Shutdown"))

	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	receive(t, finished, "end of the goroutines")
	assert.Equal(t, accepted.Load(), delivered.Load())
}
