package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

// cleaner answers from a list and reports each call.
type cleaner struct {
	answers []error
	calls   chan struct{}
}

func (c *cleaner) clean(context.Context) (int64, error) {
	var err error
	if len(c.answers) > 0 {
		err, c.answers = c.answers[0], c.answers[1:]
	}
	c.calls <- struct{}{}
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
			{name: "deleted", wantLog: `level=INFO msg="deleted expired records" count=3`},
			{name: "failed", err: errors.New("disk full"), wantLog: `level=WARN msg="deleting expired records failed" error="disk full"`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				c := &cleaner{answers: []error{tt.err}, calls: make(chan struct{}, 1)}
				logs := newLogBuffer()
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() {
					defer close(done)
					cleanExpired(ctx, c.clean, time.Hour, slog.New(slog.NewTextHandler(logs, nil)))
				}()
				select {
				case <-c.calls:
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

	t.Run("memstore is a Cleaner", func(t *testing.T) {
		_, ok := store.Store(memstore.New()).(store.Cleaner)
		require.True(t, ok)
	})
}
