package mailer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
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
	// MaxPerRecipient is how many messages to one recipient may wait at
	// once, reservations included, so that a flood to one address cannot
	// fill the queue for everyone; 0 means 4. Addresses are compared
	// folded to lower case, display names left out. A negative value turns
	// the limit off: only QueueSize applies.
	MaxPerRecipient int
	// ReservationTTL is how long a [Reservation] holds its slot when it is
	// neither sent nor canceled; 0 means 1 min. A negative value is an
	// error: a forgotten reservation must not hold its slot forever.
	ReservationTTL time.Duration
	// Logger receives the failures; nil means slog.Default(). Records carry
	// the recipient ("to"), the [Message.Kind] ("kind") and, for a failed
	// attempt, its number ("attempt") and error ("error"); never the subject
	// or the body, which a template may fill with a code.
	Logger *slog.Logger
	// After waits before a retry; nil means time.After. Tests set it so that
	// nothing really sleeps.
	After func(time.Duration) <-chan time.Time
	// Now tells the time for ReservationTTL; nil means time.Now. Tests set
	// it to move time without waiting.
	Now func() time.Time
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
//
// The queue has [AsyncConfig.QueueSize] slots, of which one recipient may
// hold [AsyncConfig.MaxPerRecipient]. A message holds its slot from the
// moment it is queued until a worker takes it. [Async.Send] queues a
// message or, when there is no room, drops it with [ErrQueueFull]. A caller
// that must know there is room before it does something it cannot undo
// (such as voiding a user's old code before mailing a new one) takes a slot
// first with [Async.Reserve], then fills it with [Reservation.Send], which
// does not fail for lack of room.
type Async struct {
	next            Mailer
	maxAttempts     int
	backoff         time.Duration
	maxBackoff      time.Duration
	sendTimeout     time.Duration
	queueSize       int
	maxPerRecipient int // 0: no limit
	reservationTTL  time.Duration
	log             *slog.Logger
	after           func(time.Duration) <-chan time.Time
	now             func() time.Time

	// mu guards the fields below and sending on queue. Every message in
	// queue and every live reservation holds one of the used slots, so
	// used <= queueSize = cap(queue) and sending on queue never blocks.
	mu       sync.Mutex
	closed   bool
	queue    chan job
	used     int
	byTo     map[string]int // the used slots per folded recipient
	reserved map[*Reservation]struct{}

	pending atomic.Int64  // enqueued and not finished
	done    chan struct{} // closed when every worker has returned
	abort   context.Context
	stop    context.CancelFunc
}

type job struct {
	ctx context.Context // the caller's values, without its cancellation
	m   Message
	to  string // m.To folded, the key of its slot in byTo
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
		{"ReservationTTL", cfg.ReservationTTL < 0},
	} {
		if f.negative {
			return nil, &ConfigError{Config: "AsyncConfig", Field: f.name, Err: errors.New("negative")}
		}
	}
	a := &Async{
		next:            next,
		maxAttempts:     cmp.Or(cfg.MaxAttempts, 5),
		maxBackoff:      cmp.Or(cfg.MaxBackoff, time.Minute),
		sendTimeout:     cmp.Or(cfg.SendTimeout, 30*time.Second),
		queueSize:       cmp.Or(cfg.QueueSize, 256),
		maxPerRecipient: max(cmp.Or(cfg.MaxPerRecipient, 4), 0),
		reservationTTL:  cmp.Or(cfg.ReservationTTL, time.Minute),
		log:             cfg.Logger,
		after:           cfg.After,
		now:             cfg.Now,
		byTo:            make(map[string]int),
		reserved:        make(map[*Reservation]struct{}),
		done:            make(chan struct{}),
	}
	a.queue = make(chan job, a.queueSize)
	a.backoff = min(cmp.Or(cfg.Backoff, time.Second), a.maxBackoff)
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.after == nil {
		a.after = time.After
	}
	if a.now == nil {
		a.now = time.Now
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
// response. A nil error means queued, not delivered.
//
// Send returns [ErrQueueFull] when the queue has no free slot and
// [ErrRecipientQueueFull] (which matches ErrQueueFull too) when m.To holds
// [AsyncConfig.MaxPerRecipient] slots already; the message is then dropped
// and logged. It returns [ErrClosed] once [Async.Shutdown] has begun.
func (a *Async) Send(ctx context.Context, m Message) error {
	to := foldAddress(m.To)
	a.mu.Lock()
	err := a.take(to)
	if err == nil {
		a.enqueue(ctx, m, to)
	}
	a.mu.Unlock()
	if errors.Is(err, ErrQueueFull) {
		a.log.ErrorContext(ctx, "mailer: queue full, email dropped",
			slog.String("to", m.To), slog.String("kind", string(m.Kind)))
	}
	return err
}

// Reserve takes a slot of the queue for one message to the address to,
// which [Reservation.Send] then fills without failing for lack of room.
// It returns [ErrQueueFull] when the queue has no free slot,
// [ErrRecipientQueueFull] (which matches ErrQueueFull too) when to holds
// [AsyncConfig.MaxPerRecipient] slots already, and [ErrClosed] once
// [Async.Shutdown] has begun. Nothing is logged: the caller decides.
//
// The caller must end every reservation, with [Reservation.Send] or
// [Reservation.Cancel]; calling Cancel in a defer right after Reserve does
// it on every path, since Cancel after Send does nothing. A reservation
// that is neither sent nor canceled holds its slot for
// [AsyncConfig.ReservationTTL], then expires: its slot goes back to the
// queue when a Reserve or Send needs room, and its Send returns
// [ErrReservationExpired]. [Async.Shutdown] does not wait for
// reservations; their Send returns [ErrClosed] once it has begun.
func (a *Async) Reserve(to string) (*Reservation, error) {
	key := foldAddress(to)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.take(key); err != nil {
		return nil, err
	}
	r := &Reservation{a: a, to: key, expires: a.now().Add(a.reservationTTL)}
	a.reserved[r] = struct{}{}
	return r, nil
}

// Reservation is a slot of an [Async]'s queue taken by [Async.Reserve] for
// one message to one recipient. Its methods are safe for concurrent use.
type Reservation struct {
	a       *Async
	to      string           // the recipient, folded
	expires time.Time        // when the slot may go back to the queue
	state   reservationState // guarded by a.mu
}

type reservationState int

const (
	reservationLive    reservationState = iota
	reservationEnded                    // sent or canceled
	reservationExpired                  // expired, its slot given back
)

// Send enqueues m in the reserved slot and returns at once, like
// [Async.Send] but without failing for lack of room: the delivery uses
// ctx's values but not its cancellation or deadline, and a nil error means
// queued, not delivered. Whatever it returns, the reservation is over
// afterwards: its slot holds m or is free again.
//
// Send returns [ErrReservationEnded] when Send or Cancel was called on the
// reservation before (and did not find it expired), [ErrReservationExpired]
// when [AsyncConfig.ReservationTTL]
// has passed since [Async.Reserve], [ErrClosed] once [Async.Shutdown] has
// begun, and [ErrWrongRecipient] when m.To is not the address reserved
// (compared folded to lower case, display names left out). m is dropped
// then, and not logged.
func (r *Reservation) Send(ctx context.Context, m Message) error {
	a := r.a
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case r.state == reservationEnded:
		return ErrReservationEnded
	case r.state == reservationExpired:
		return ErrReservationExpired
	}
	var err error
	switch {
	case a.closed:
		err = ErrClosed
	case !a.now().Before(r.expires):
		err = ErrReservationExpired
	case foldAddress(m.To) != r.to:
		err = ErrWrongRecipient
	}
	if err != nil {
		a.release(r)
		if err == ErrReservationExpired {
			r.state = reservationExpired
		}
		return err
	}
	r.state = reservationEnded
	delete(a.reserved, r)
	a.enqueue(ctx, m, r.to) // in the slot of r
	return nil
}

// Cancel gives the slot back to the queue. It does nothing when the
// reservation was already sent, canceled or expired, so it may be called
// more than once, and after Send.
func (r *Reservation) Cancel() {
	a := r.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.state == reservationLive {
		a.release(r)
	}
}

// take claims a slot for the folded recipient to, reclaiming the expired
// reservations first when there is no room. a.mu must be held.
func (a *Async) take(to string) error {
	if a.closed {
		return ErrClosed
	}
	full := func() error {
		switch {
		case a.used >= a.queueSize:
			return ErrQueueFull
		case a.maxPerRecipient > 0 && a.byTo[to] >= a.maxPerRecipient:
			return ErrRecipientQueueFull
		}
		return nil
	}
	if full() != nil {
		now := a.now()
		for r := range a.reserved {
			if !now.Before(r.expires) {
				a.release(r)
				r.state = reservationExpired
			}
		}
		if err := full(); err != nil {
			return err
		}
	}
	a.used++
	a.byTo[to]++
	return nil
}

// release ends the live reservation r and frees its slot. a.mu must be
// held.
func (a *Async) release(r *Reservation) {
	r.state = reservationEnded
	delete(a.reserved, r)
	a.free(r.to)
}

// free gives back a slot of the folded recipient to. a.mu must be held.
func (a *Async) free(to string) {
	a.used--
	if a.byTo[to]--; a.byTo[to] <= 0 {
		delete(a.byTo, to)
	}
}

// enqueue queues m in a slot already taken for to. a.mu must be held and
// the Async not closed; the send does not block since every message in the
// queue holds a slot.
func (a *Async) enqueue(ctx context.Context, m Message, to string) {
	a.queue <- job{ctx: context.WithoutCancel(ctx), m: m, to: to}
	a.pending.Add(1)
}

// foldAddress returns the address that to names, in lower case, for
// counting the slots per recipient: "Ada <Ada@Example.org>" and
// "ada@example.org" are one recipient. A to that does not parse is taken
// whole, trimmed and in lower case.
func foldAddress(to string) string {
	if addr, err := mail.ParseAddress(to); err == nil {
		return strings.ToLower(addr.Address)
	}
	return strings.ToLower(strings.TrimSpace(to))
}

// Shutdown stops accepting messages and reservations and waits until the
// queued messages, retries included, are delivered or have failed for
// good. It does not wait for the reservations not yet sent: their
// [Reservation.Send] returns [ErrClosed], so stop the callers of
// [Async.Reserve] first (an HTTP server's Shutdown does, as it waits for
// the handlers). If ctx ends
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
		a.mu.Lock()
		a.free(j.to)
		a.mu.Unlock()
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
