package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

// cleaner is a store whose DeleteExpired answers from a list and reports
// each call.
type cleaner struct {
	store.Store
	answers []error
	calls   chan time.Time
}

func (c *cleaner) DeleteExpired(_ context.Context, before time.Time) (int64, error) {
	var err error
	if len(c.answers) > 0 {
		err, c.answers = c.answers[0], c.answers[1:]
	}
	c.calls <- before
	if err != nil {
		return 0, err
	}
	return 3, nil
}

func TestCleanExpired(t *testing.T) {
	t.Run("runs at once and stops with ctx", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			err     error
			wantLog string
		}{
			{name: "deleted", wantLog: `level=INFO msg="deleted expired tokens and codes" count=3`},
			{name: "failed", err: errors.New("disk full"), wantLog: `level=WARN msg="deleting expired tokens and codes failed" error="disk full"`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				c := &cleaner{answers: []error{tt.err}, calls: make(chan time.Time, 1)}
				logs := newLogBuffer()
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() {
					defer close(done)
					cleanExpired(ctx, c, time.Hour, slog.New(slog.NewTextHandler(logs, nil)))
				}()
				select {
				case before := <-c.calls:
					assert.False(t, before.IsZero())
				case <-time.After(waitTimeout):
					t.Fatal("DeleteExpired was not called at start")
				}
				logs.waitFor(t, "cleanup log line", func(log string) (string, bool) {
					return "", strings.Contains(log, tt.wantLog)
				})
				cancel()
				select {
				case <-done:
				case <-time.After(waitTimeout):
					t.Fatal("cleanExpired did not stop with its context")
				}
			})
		}
	})

	t.Run("store without Cleaner", func(t *testing.T) {
		type plain struct{ store.Store }
		// Returns at once: the context never ends.
		cleanExpired(context.Background(), plain{memstore.New()}, time.Hour, slog.New(slog.DiscardHandler))
	})

	t.Run("memstore is a Cleaner", func(t *testing.T) {
		_, ok := store.Store(memstore.New()).(store.Cleaner)
		require.True(t, ok)
	})
}
