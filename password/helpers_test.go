package password_test

import (
	"context"
	"encoding/base64"
	"sync/atomic"
	"testing"

	"github.com/forgeauth/forgeauth/password"
)

// fastParams are valid and cheap: tests that are not about the defaults use
// them so the package's tests stay fast.
func fastParams() password.Params {
	return password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// mustHash hashes pw with p or fails the test.
func mustHash(tb testing.TB, pw string, p password.Params) string {
	tb.Helper()
	encoded, err := password.Hash(pw, p, nil)
	if err != nil {
		tb.Fatalf("Hash: %v", err)
	}
	return encoded
}

// gateReader is a salt source that holds every reader until the test lets
// it go. A Hasher reads its Rand while holding a slot, so the readers
// inside Read at one moment are hashes running at that moment: the gate
// counts them and remembers the peak.
type gateReader struct {
	entered chan struct{} // receives one value per reader that arrived
	release chan struct{} // each value lets one reader go
	cur     atomic.Int32
	peak    atomic.Int32
}

func newGateReader() *gateReader {
	return &gateReader{entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateReader) Read(p []byte) (int, error) {
	n := g.cur.Add(1)
	for {
		old := g.peak.Load()
		if n <= old || g.peak.CompareAndSwap(old, n) {
			break
		}
	}
	g.entered <- struct{}{}
	<-g.release
	g.cur.Add(-1)
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}

// newHasher returns a Hasher over cfg with fastParams when cfg.Params is
// zero, or fails the test.
func newHasher(tb testing.TB, cfg password.HasherConfig) *password.Hasher {
	tb.Helper()
	if cfg.Params == (password.Params{}) {
		cfg.Params = fastParams()
	}
	h, err := password.NewHasher(cfg)
	if err != nil {
		tb.Fatalf("NewHasher: %v", err)
	}
	return h
}

// holdSlot starts a Hash on h whose salt read blocks on g, waits until it
// holds a slot, and returns a channel that yields its error once the gate
// releases it.
func holdSlot(tb testing.TB, h *password.Hasher, g *gateReader) <-chan error {
	tb.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "holder")
		done <- err
	}()
	<-g.entered
	return done
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
