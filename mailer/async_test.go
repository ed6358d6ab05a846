package mailer_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/mailer"
)

// fakeClock is an AsyncConfig.After that records each wait and fires at
// once, so that retries need no real sleeping.
type fakeClock struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// never is an AsyncConfig.After that never fires.
func never(time.Duration) <-chan time.Time { return nil }

func testLogger() (*slog.Logger, *testutil.LogBuffer) {
	buf := testutil.NewLogBuffer()
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// scripted is a Mailer that answers each attempt with the next error of a
// script (nil delivers) and records what it delivered.
type scripted struct {
	mu       sync.Mutex
	script   []error
	attempts int
	Recorder mailer.Recorder
}

func (s *scripted) Send(ctx context.Context, m mailer.Message) error {
	s.mu.Lock()
	i := s.attempts
	s.attempts++
	s.mu.Unlock()
	if i < len(s.script) && s.script[i] != nil {
		return s.script[i]
	}
	return s.Recorder.Send(ctx, m)
}

func (s *scripted) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

var (
	errGreylisted = &mailer.SMTPError{Code: 451, Message: "try again later", Op: "rcpt"}
	errNoSuchUser = &mailer.SMTPError{Code: 550, Message: "no such user", Op: "rcpt"}
)

func newAsync(tb testing.TB, next mailer.Mailer, cfg mailer.AsyncConfig) *mailer.Async {
	tb.Helper()
	a, err := mailer.NewAsync(next, cfg)
	require.NoError(tb, err)
	return a
}

func shutdown(tb testing.TB, a *mailer.Async) {
	tb.Helper()
	require.NoError(tb, a.Shutdown(tb.Context()))
}

func TestAsyncRetriesTemporaryFailures(t *testing.T) {
	next := &scripted{script: []error{errGreylisted, context.DeadlineExceeded, nil}}
	clock := new(fakeClock)
	logger, logs := testLogger()
	a := newAsync(t, next, mailer.AsyncConfig{After: clock.After, Logger: logger})

	require.NoError(t, a.Send(t.Context(), testMessage))
	shutdown(t, a)

	assert.Equal(t, 3, next.Attempts())
	assert.Equal(t, []mailer.Message{testMessage}, next.Recorder.Messages())
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, clock.Waits(), "default backoff, doubled")
	assert.Contains(t, logs.String(), "will retry")
	assert.NotContains(t, logs.String(), "042137", "the body holds the code and is never logged")
}

func TestAsyncRetriesErrorsMarkedTemporary(t *testing.T) {
	// An application's own Mailer marks its failures with Temporary.
	next := &scripted{script: []error{
		fmt.Errorf("mail API: %w", apiError{temporary: true}),
		nil,
	}}
	clock := new(fakeClock)
	logger, _ := testLogger()
	a := newAsync(t, next, mailer.AsyncConfig{After: clock.After, Logger: logger})

	require.NoError(t, a.Send(t.Context(), testMessage))
	shutdown(t, a)

	assert.Equal(t, 2, next.Attempts())
	assert.Equal(t, []mailer.Message{testMessage}, next.Recorder.Messages())
}

func TestAsyncGivesUpAfterMaxAttempts(t *testing.T) {
	next := &scripted{script: []error{errGreylisted, errGreylisted, errGreylisted, errGreylisted}}
	clock := new(fakeClock)
	logger, logs := testLogger()
	a := newAsync(t, next, mailer.AsyncConfig{
		MaxAttempts: 4,
		Backoff:     time.Second,
		MaxBackoff:  3 * time.Second,
		After:       clock.After,
		Logger:      logger,
	})

	require.NoError(t, a.Send(t.Context(), testMessage))
	shutdown(t, a)

	assert.Equal(t, 4, next.Attempts())
	assert.Empty(t, next.Recorder.Messages())
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, clock.Waits(), "capped at MaxBackoff")
	assert.Contains(t, logs.String(), "giving up")
	assert.Contains(t, logs.String(), "attempt=4")
	assert.NotContains(t, logs.String(), "042137")
}

func TestAsyncDropsPermanentFailures(t *testing.T) {
	next := &scripted{script: []error{errNoSuchUser}}
	clock := new(fakeClock)
	logger, logs := testLogger()
	a := newAsync(t, next, mailer.AsyncConfig{After: clock.After, Logger: logger})

	require.NoError(t, a.Send(t.Context(), testMessage))
	shutdown(t, a)

	assert.Equal(t, 1, next.Attempts(), "a permanent failure is not retried")
	assert.Empty(t, clock.Waits())
	out := logs.String()
	assert.Contains(t, out, "level=ERROR")
	assert.Contains(t, out, "permanent failure")
	assert.Contains(t, out, "to=ada@example.org")
	assert.NotContains(t, out, "Verify your email", "the subject is not logged")
	assert.Contains(t, out, "550")
	assert.NotContains(t, out, "042137")
}

func TestAsyncQueueFull(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	next := mailer.Func(func(ctx context.Context, _ mailer.Message) error {
		started <- struct{}{}
		<-release
		return nil
	})
	logger, logs := testLogger()
	a := newAsync(t, next, mailer.AsyncConfig{QueueSize: 1, Workers: 1, Logger: logger})

	require.NoError(t, a.Send(t.Context(), testMessage))
	<-started                                            // the worker holds the first message
	require.NoError(t, a.Send(t.Context(), testMessage)) // the queue holds the second
	err := a.Send(t.Context(), testMessage)
	require.ErrorIs(t, err, mailer.ErrQueueFull)
	assert.Contains(t, logs.String(), "queue full")
	assert.NotContains(t, logs.String(), "042137")

	close(release)
	<-started
	shutdown(t, a)
}

func TestAsyncShutdownDrains(t *testing.T) {
	rec := new(mailer.Recorder)
	a := newAsync(t, rec, mailer.AsyncConfig{Workers: 3})
	const n = 20
	for i := range n {
		m := testMessage
		m.To = fmt.Sprintf("user%d@example.org", i)
		require.NoError(t, a.Send(t.Context(), m))
	}
	shutdown(t, a)
	assert.Len(t, rec.Messages(), n)

	err := a.Send(t.Context(), testMessage)
	require.ErrorIs(t, err, mailer.ErrClosed)
	require.NoError(t, a.Shutdown(t.Context()), "a second Shutdown returns at once")
}

func TestAsyncShutdownDeadline(t *testing.T) {
	t.Run("messages in flight and queued", func(t *testing.T) {
		started := make(chan struct{}, 1)
		next := mailer.Func(func(ctx context.Context, _ mailer.Message) error {
			started <- struct{}{}
			<-ctx.Done() // a server that hangs; Shutdown cancels the attempt
			return ctx.Err()
		})
		logger, logs := testLogger()
		a := newAsync(t, next, mailer.AsyncConfig{Workers: 1, Logger: logger, After: never})
		for range 3 {
			require.NoError(t, a.Send(t.Context(), testMessage))
		}
		<-started

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := a.Shutdown(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, err.Error(), "3 email(s) dropped")
		assert.Contains(t, logs.String(), "email dropped")
		assert.NotContains(t, logs.String(), "042137")
	})
	t.Run("waiting to retry", func(t *testing.T) {
		attempted := make(chan struct{}, 1)
		next := mailer.Func(func(context.Context, mailer.Message) error {
			attempted <- struct{}{}
			return errGreylisted
		})
		logger, _ := testLogger()
		a := newAsync(t, next, mailer.AsyncConfig{Logger: logger, After: never})
		require.NoError(t, a.Send(t.Context(), testMessage))
		<-attempted

		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err := a.Shutdown(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "1 email(s) dropped")
	})
}

type ctxKey struct{}

func TestAsyncDetachesFromCallerContext(t *testing.T) {
	type seen struct {
		value       any
		err         error
		hasDeadline bool
	}
	got := make(chan seen, 1)
	next := mailer.Func(func(ctx context.Context, _ mailer.Message) error {
		_, ok := ctx.Deadline()
		got <- seen{ctx.Value(ctxKey{}), ctx.Err(), ok}
		return nil
	})
	a := newAsync(t, next, mailer.AsyncConfig{})

	// The request is over (its ctx canceled) before the worker sends.
	ctx, cancel := context.WithCancel(context.WithValue(t.Context(), ctxKey{}, "request-id"))
	cancel()
	require.NoError(t, a.Send(ctx, testMessage))
	s := <-got
	assert.Equal(t, "request-id", s.value, "values are kept")
	assert.NoError(t, s.err, "cancellation is not")
	assert.True(t, s.hasDeadline, "each attempt is bounded by SendTimeout")
	shutdown(t, a)
}

func TestNewAsyncNilMailer(t *testing.T) {
	a, err := mailer.NewAsync(nil, mailer.AsyncConfig{})
	require.ErrorIs(t, err, mailer.ErrNilMailer)
	assert.Nil(t, a)
}

func TestAsyncConcurrentSends(t *testing.T) {
	rec := new(mailer.Recorder)
	a := newAsync(t, rec, mailer.AsyncConfig{QueueSize: 1000})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { assert.NoError(t, a.Send(context.Background(), to(i))) })
	}
	wg.Wait()
	shutdown(t, a)
	assert.Len(t, rec.Messages(), 50)
}

func TestAsyncLogsHoldNoCode(t *testing.T) {
	// A template that puts the code in the subject.
	dir := writeFiles(t, map[string]string{"verification.txt": `{{define "subject"}}Your code is {{.Code}}{{end}}`})
	m := render(t, loadTemplates(t, dir), mailer.Verification, sample)
	require.Equal(t, "Your code is 042137", m.Subject)

	check := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range append(want, "to=ada@example.org", "kind=verification") {
			assert.Contains(t, out, w)
		}
		assert.NotContains(t, out, "042137")
		assert.NotContains(t, out, "Your code is")
	}
	t.Run("permanent failure", func(t *testing.T) {
		logger, logs := testLogger()
		a := newAsync(t, &scripted{script: []error{errNoSuchUser}}, mailer.AsyncConfig{Logger: logger})
		require.NoError(t, a.Send(t.Context(), m))
		shutdown(t, a)
		check(t, logs.String(), "permanent failure", "attempt=1", "550")
	})
	t.Run("retry and giving up", func(t *testing.T) {
		logger, logs := testLogger()
		next := &scripted{script: []error{errGreylisted, errGreylisted}}
		a := newAsync(t, next, mailer.AsyncConfig{Logger: logger, MaxAttempts: 2, After: new(fakeClock).After})
		require.NoError(t, a.Send(t.Context(), m))
		shutdown(t, a)
		check(t, logs.String(), "will retry", "giving up", "attempt=2", "451")
	})
	t.Run("queue full", func(t *testing.T) {
		logger, logs := testLogger()
		a, _ := busyAsync(t, mailer.AsyncConfig{Logger: logger, QueueSize: 1})
		require.NoError(t, a.Send(t.Context(), m))
		require.ErrorIs(t, a.Send(t.Context(), m), mailer.ErrQueueFull)
		check(t, logs.String(), "queue full")
	})
	t.Run("dropped at shutdown", func(t *testing.T) {
		logger, logs := testLogger()
		b := newBlocking()
		a := newAsync(t, b, mailer.AsyncConfig{Logger: logger, Workers: 1})
		require.NoError(t, a.Send(t.Context(), m))
		require.NoError(t, a.Send(t.Context(), m))
		receive(t, b.started, "first send")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		require.ErrorIs(t, a.Shutdown(ctx), context.Canceled)
		check(t, logs.String(), "shutting down, email dropped")
	})
}
