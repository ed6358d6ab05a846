package mailer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// AsyncConfig configures [NewAsync]. The zero value gives the defaults.
//
// In every field, zero means the default the field's comment gives. A
// negative value turns the feature off where the comment says it can be
// turned off; everywhere else [NewAsync] refuses it with a [*ConfigError].
type AsyncConfig struct {
	// QueueSize is how many messages may wait for a worker; 0 means 256.
	// It cannot be turned off: a negative value is an error.
	QueueSize int
	// Workers is how many messages are sent at once; 0 means 2. A negative
	// value is an error.
	Workers int
	// MaxAttempts is how many times a message is tried, the first time
	// included; 0 means 5, and 1 means no retry. A negative value is an
	// error.
	MaxAttempts int
	// Backoff is the wait before the first retry, doubled before each of the
	// following ones up to MaxBackoff; 0 means 1 s. A negative value is an
	// error.
	Backoff time.Duration
	// MaxBackoff caps the wait between two attempts, the first one included;
	// 0 means 1 min. A negative value is an error.
	MaxBackoff time.Duration
	// SendTimeout bounds each attempt; 0 means 30 s. A negative value turns
	// the bound off: an attempt then lasts as long as the Mailer lets it
	// (SMTP has its own [SMTPConfig.Timeout]), and [Async.Shutdown] still
	// cancels it when its ctx ends.
	SendTimeout time.Duration
	// Logger receives the failures; nil means slog.Default(). Records carry
	// the recipient ("to"), the [Message.Kind] ("kind") and, for a failed
	// attempt, its number ("attempt") and error ("error"); never the subject
	// or the body, which a template may fill with a code.
	Logger *slog.Logger
	// After waits before a retry; nil means time.After. Tests set it so that
	// nothing really sleeps.
	After func(time.Duration) <-chan time.Time
}

// Async sends messages in the background through another [Mailer], so that
// a request handler answers without waiting for the mail server, and retries
// the failures that [IsTemporary] calls temporary with exponential backoff.
// Permanent failures are logged once and dropped. Create it with
// [NewAsync] (the zero value is not usable) and stop it with
// [Async.Shutdown]; it is safe for concurrent use.
//
// A worker retries its message itself, so while the server fails
// temporarily each worker waits out its message's backoff before taking the
// next one; the queue absorbs the rest.
type Async struct {
	next        Mailer
	maxAttempts int
	backoff     time.Duration
	maxBackoff  time.Duration
	sendTimeout time.Duration
	log         *slog.Logger
	after       func(time.Duration) <-chan time.Time

	mu     sync.Mutex // guards closed and sending on queue
	closed bool
	queue  chan job

	pending atomic.Int64  // enqueued and not finished
	done    chan struct{} // closed when every worker has returned
	abort   context.Context
	stop    context.CancelFunc
}

type job struct {
	ctx context.Context // the caller's values, without its cancellation
	m   Message
}

// NewAsync starts cfg.Workers goroutines that send through next and returns
// the Async that feeds them. Call [Async.Shutdown] to stop the workers.
//
// NewAsync returns [ErrNilMailer] when next is nil, and a [*ConfigError]
// (matching [ErrInvalidConfig]) naming the field when a field of cfg that
// cannot be turned off is negative; it starts no goroutine then.
func NewAsync(next Mailer, cfg AsyncConfig) (*Async, error) {
	if next == nil {
		return nil, ErrNilMailer
	}
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"QueueSize", cfg.QueueSize < 0},
		{"Workers", cfg.Workers < 0},
		{"MaxAttempts", cfg.MaxAttempts < 0},
		{"Backoff", cfg.Backoff < 0},
		{"MaxBackoff", cfg.MaxBackoff < 0},
	} {
		if f.negative {
			return nil, &ConfigError{Config: "AsyncConfig", Field: f.name, Err: errors.New("negative")}
		}
	}
	a := &Async{
		next:        next,
		maxAttempts: cmp.Or(cfg.MaxAttempts, 5),
		maxBackoff:  cmp.Or(cfg.MaxBackoff, time.Minute),
		sendTimeout: cmp.Or(cfg.SendTimeout, 30*time.Second),
		log:         cfg.Logger,
		after:       cfg.After,
		queue:       make(chan job, cmp.Or(cfg.QueueSize, 256)),
		done:        make(chan struct{}),
	}
	a.backoff = min(cmp.Or(cfg.Backoff, time.Second), a.maxBackoff)
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.after == nil {
		a.after = time.After
	}
	a.abort, a.stop = context.WithCancel(context.Background())

	var wg sync.WaitGroup
	for range cmp.Or(cfg.Workers, 2) {
		wg.Go(a.work)
	}
	go func() {
		wg.Wait()
		close(a.done)
	}()
	return a, nil
}

// Send enqueues m and returns at once; the delivery uses ctx's values but
// not its cancellation or deadline, since a request's ctx ends with the
// response. Send returns [ErrQueueFull] when the queue is full (the message
// is dropped and logged) and [ErrClosed] once [Async.Shutdown] has begun.
// A nil error means queued, not delivered.
func (a *Async) Send(ctx context.Context, m Message) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	var queued bool
	select {
	case a.queue <- job{ctx: context.WithoutCancel(ctx), m: m}:
		a.pending.Add(1)
		queued = true
	default:
	}
	a.mu.Unlock()
	if !queued {
		a.log.ErrorContext(ctx, "mailer: queue full, email dropped",
			slog.String("to", m.To), slog.String("kind", string(m.Kind)))
		return ErrQueueFull
	}
	return nil
}

// Shutdown stops accepting messages and waits until the queued ones,
// retries included, are delivered or have failed for good. If ctx ends
// first, the attempts in progress are canceled, the waits are cut short and
// the messages left are dropped (each logged); Shutdown then returns an
// error wrapping ctx.Err() that gives how many were dropped. It returns nil
// when nothing was dropped. Shutdown may be called again; once the workers
// have stopped it returns nil.
func (a *Async) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()

	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
	}
	a.stop()
	<-a.done
	if dropped := a.pending.Load(); dropped > 0 {
		return fmt.Errorf("mailer: shutdown: %d email(s) dropped: %w", dropped, ctx.Err())
	}
	return nil
}

func (a *Async) work() {
	for j := range a.queue {
		if a.deliver(j) {
			a.pending.Add(-1)
		} else {
			a.log.WarnContext(j.ctx, "mailer: shutting down, email dropped",
				slog.String("to", j.m.To), slog.String("kind", string(j.m.Kind)))
		}
	}
}

// deliver tries j until it is sent, fails for good or the Async is
// aborted; it returns false in the last case.
func (a *Async) deliver(j job) bool {
	wait := a.backoff
	for attempt := 1; ; attempt++ {
		if a.abort.Err() != nil {
			return false
		}
		err := a.attempt(j)
		if err == nil {
			return true
		}
		if a.abort.Err() != nil {
			return false
		}
		attrs := []any{
			slog.String("to", j.m.To),
			slog.String("kind", string(j.m.Kind)),
			slog.Int("attempt", attempt),
			slog.String("error", err.Error()),
		}
		if !IsTemporary(err) {
			a.log.ErrorContext(j.ctx, "mailer: permanent failure, email dropped", attrs...)
			return true
		}
		if attempt >= a.maxAttempts {
			a.log.ErrorContext(j.ctx, "mailer: temporary failure, giving up", attrs...)
			return true
		}
		a.log.WarnContext(j.ctx, "mailer: temporary failure, will retry",
			append(attrs, slog.Duration("retry_in", wait))...)
		select {
		case <-a.after(wait):
		case <-a.abort.Done():
			return false
		}
		wait = min(2*wait, a.maxBackoff)
	}
}

func (a *Async) attempt(j job) error {
	var ctx context.Context
	var cancel context.CancelFunc
	if a.sendTimeout > 0 {
		ctx, cancel = context.WithTimeout(j.ctx, a.sendTimeout)
	} else {
		ctx, cancel = context.WithCancel(j.ctx) // so that Shutdown can cancel it
	}
	defer cancel()
	stop := context.AfterFunc(a.abort, cancel)
	defer stop()
	return a.next.Send(ctx, j.m)
}
