// Package testutil holds the test doubles that several packages' tests
// share: a settable clock and a log buffer that a test can wait on. It is
// imported only by tests.
package testutil

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock; tests move it instead of sleeping. It is safe
// for concurrent use; pass its Now method where a Now func() time.Time is
// wanted.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// LogBuffer collects output written by several goroutines (a logger, a
// child process) and wakes a reader waiting for something to appear. The
// zero value is ready to use.
type LogBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

// NewLogBuffer returns an empty buffer.
func NewLogBuffer() *LogBuffer { return &LogBuffer{} }

// Write appends p and wakes the waiters.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.buf.Write(p)
}

// Snapshot returns the output so far and a channel closed at the next
// write.
func (l *LogBuffer) Snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.buf.String(), l.changed
}

// String returns the output so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// WaitFor waits until match finds something in the output and returns it.
// It fails the test after timeout, or when stop is closed (a process that
// ended) and the output still does not match; a nil stop never closes.
func (l *LogBuffer) WaitFor(tb testing.TB, what string, timeout time.Duration, stop <-chan struct{}, match func(log string) (string, bool)) string {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		log, changed := l.Snapshot()
		if s, ok := match(log); ok {
			return s
		}
		select {
		case <-changed:
		case <-stop:
			if s, ok := match(l.String()); ok {
				return s
			}
			tb.Fatalf("no %s: the process ended; its output:\n%s", what, l.String())
		case <-deadline.C:
			tb.Fatalf("no %s after %s:\n%s", what, timeout, log)
		}
	}
}
