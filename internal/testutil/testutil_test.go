package testutil_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/internal/testutil"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := testutil.NewClock(t0)
	c.Advance(90 * time.Second)
	if got := c.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("Now = %v, want %v", got, t0.Add(90*time.Second))
	}
}

func TestLogBufferWaitFor(t *testing.T) {
	var l testutil.LogBuffer
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { fmt.Fprintf(&l, "line %d\n", i) })
	}
	got := l.WaitFor(t, "line 19", 10*time.Second, nil, func(log string) (string, bool) {
		return "found", strings.Contains(log, "line 19\n")
	})
	wg.Wait()
	if got != "found" {
		t.Fatalf("WaitFor = %q", got)
	}
	if n := strings.Count(l.String(), "\n"); n != 20 {
		t.Fatalf("%d lines, want 20", n)
	}
}

func TestLogBufferWaitForStop(t *testing.T) {
	l := testutil.NewLogBuffer()
	stop := make(chan struct{})
	go func() {
		fmt.Fprintln(l, "last words")
		close(stop)
	}()
	got := l.WaitFor(t, "last words", 10*time.Second, stop, func(log string) (string, bool) {
		return log, strings.Contains(log, "last words")
	})
	if !strings.Contains(got, "last words") {
		t.Fatalf("WaitFor = %q", got)
	}
}
