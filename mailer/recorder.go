package mailer

import (
	"context"
	"slices"
	"sync"
)

// Recorder is the test mailer: it keeps every message it is given and lets
// a test wait for the next one to an address. The zero value is ready to
// use; a Recorder is safe for concurrent use and must not be copied after
// first use.
type Recorder struct {
	mu       sync.Mutex
	messages []Message
	waited   map[string]int // per recipient, how many messages Wait returned
	arrived  chan struct{}  // closed and replaced by every Send
}

// Send records m and wakes the callers of [Recorder.Wait]. It never fails.
func (r *Recorder) Send(_ context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.messages = append(r.messages, m)
	if r.arrived != nil {
		close(r.arrived)
		r.arrived = nil
	}
	return nil
}

// Messages returns a copy of every message recorded so far, in the order
// they were sent.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.messages)
}

// Wait returns the next message to the address to (compared exactly) that
// Wait has not returned yet, in the order they were sent, waiting until one
// arrives. It returns ctx.Err() when ctx ends first.
func (r *Recorder) Wait(ctx context.Context, to string) (Message, error) {
	for {
		r.mu.Lock()
		skip := r.waited[to]
		for _, m := range r.messages {
			if m.To != to {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if r.waited == nil {
				r.waited = make(map[string]int)
			}
			r.waited[to]++
			r.mu.Unlock()
			return m, nil
		}
		if r.arrived == nil {
			r.arrived = make(chan struct{})
		}
		arrived := r.arrived
		r.mu.Unlock()

		select {
		case <-arrived:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}
