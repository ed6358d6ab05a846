package loginload_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/bench/internal/benchsrv"
	"github.com/forgeauth/forgeauth/bench/internal/loginload"
	"github.com/forgeauth/forgeauth/password"
)

var testParams = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

const (
	user  = "loadtest"
	email = "loadtest@example.com"
	pw    = "Velvet-Orbit-Canyon-58?"
)

// childEnv makes the test binary act as a child server (see TestMain).
const childEnv = "LOGINLOAD_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		fmt.Println("some other line first")
		if err := benchsrv.Serve(ctx, 0, benchsrv.NewBare(), os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	case "silent":
		os.Exit(3)
	case "hang":
		select {}
	}
}

// startForgeauth serves a Basic-mode forgeauth server without the per-IP
// limit, with small hashing parameters, and registers the load account.
func startForgeauth(tb testing.TB) string {
	tb.Helper()
	fa, err := benchsrv.NewForgeauth(context.Background(), benchsrv.ForgeauthConfig{
		Settings:       benchsrv.Settings{Secret: bytes.Repeat([]byte("k"), 32)},
		Mode:           auth.ModeBasic,
		Password:       password.HasherConfig{Params: testParams},
		DisableIPLimit: true,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(fa.Handler)
	tb.Cleanup(ts.Close)
	if err := loginload.Register(context.Background(), ts.Client(), ts.URL, user, email, pw); err != nil {
		tb.Fatal(err)
	}
	return ts.URL
}

func TestRunAgainstForgeauth(t *testing.T) {
	url := startForgeauth(t)
	tests := []struct {
		name       string
		password   string
		wantOK     int
		wantStatus int // counted in Other
	}{
		{"right password", pw, 12, 0},
		// The account is throttled after 5 failures: 401s, then 429s.
		{"wrong password", "Wrong-Password-99!", 0, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := loginload.Run(context.Background(), loginload.Config{
				BaseURL: url, Username: user, Password: tt.password, Clients: 3, Requests: 4,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Total() != 12 || len(rep.OK) != tt.wantOK {
				t.Fatalf("total %d, ok %d; report %+v", rep.Total(), len(rep.OK), rep)
			}
			if tt.wantStatus != 0 && (rep.Other[tt.wantStatus] == 0 || rep.RateLimited == 0 || rep.Other[tt.wantStatus]+rep.RateLimited != 12) {
				t.Fatalf("other = %v, 429 x %d; want 12 x %d or 429", rep.Other, rep.RateLimited, tt.wantStatus)
			}
			if tt.wantOK > 0 && (rep.P50() <= 0 || rep.P99() < rep.P50()) {
				t.Fatalf("p50 %v, p99 %v", rep.P50(), rep.P99())
			}
			if rep.Clients != 3 || rep.TransportErrors != 0 {
				t.Fatalf("report %+v", rep)
			}
		})
	}
}

func TestRunForDuration(t *testing.T) {
	url := startForgeauth(t)
	rep, err := loginload.Run(context.Background(), loginload.Config{
		BaseURL: url, Username: user, Password: pw, Clients: 2, Duration: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.OK) == 0 || rep.Total() != len(rep.OK) {
		t.Fatalf("report %+v", rep)
	}
}

// TestRunCountsStatuses feeds Run a server that cycles through the answers
// a saturated server gives.
func TestRunCountsStatuses(t *testing.T) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != loginload.LoginPath || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		switch n.Add(1) % 6 {
		case 0:
			w.WriteHeader(http.StatusOK)
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable) // no Retry-After
		case 3:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 4:
			w.WriteHeader(http.StatusTooManyRequests)
		case 5:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer ts.Close()
	rep, err := loginload.Run(context.Background(), loginload.Config{BaseURL: ts.URL, Clients: 2, Requests: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.OK) != 2 || len(rep.Unavailable) != 6 || rep.UnavailableWithoutRetryAfter != 4 ||
		rep.RateLimited != 2 || rep.Other[500] != 2 || rep.Other5xx() != 2 || rep.Total() != 12 {
		t.Fatalf("report %+v", rep)
	}
}

func TestRunTransportErrors(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	rep, err := loginload.Run(context.Background(), loginload.Config{BaseURL: url, Clients: 2, Requests: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TransportErrors != 4 || rep.FirstError == nil || rep.Total() != 4 {
		t.Fatalf("report %+v", rep)
	}
	rep, err = loginload.Run(context.Background(), loginload.Config{BaseURL: "http://bad host", Clients: 1, Requests: 1})
	if err != nil || rep.TransportErrors != 1 {
		t.Fatalf("bad URL: err %v, report %+v", err, rep)
	}
}

func TestRunErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		cfg     loginload.Config
		wantErr error
	}{
		{"no URL", context.Background(), loginload.Config{Clients: 1, Requests: 1}, loginload.ErrInvalidConfig},
		{"no clients", context.Background(), loginload.Config{BaseURL: "http://x", Requests: 1}, loginload.ErrInvalidConfig},
		{"no end", context.Background(), loginload.Config{BaseURL: "http://x", Clients: 1}, loginload.ErrInvalidConfig},
		{"canceled", canceled, loginload.Config{BaseURL: "http://127.0.0.1:1", Clients: 1, Requests: 1}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := loginload.Run(tt.ctx, tt.cfg); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	url := startForgeauth(t) // has registered the account once
	err := loginload.Register(context.Background(), nil, url, user, email, pw)
	var se *loginload.StatusError
	if !errors.Is(err, loginload.ErrUnexpectedStatus) || !errors.As(err, &se) || se.Status != http.StatusConflict {
		t.Fatalf("second register: err = %v, want a 409 StatusError", err)
	}
	if err := loginload.Register(context.Background(), nil, "http://127.0.0.1:1", user, email, pw); err == nil || errors.Is(err, loginload.ErrUnexpectedStatus) {
		t.Fatalf("no server: err = %v, want a transport error", err)
	}
	if err := loginload.Register(context.Background(), nil, "://", user, email, pw); err == nil {
		t.Fatal("bad URL: no error")
	}
}

func TestHashTimes(t *testing.T) {
	d, err := loginload.HashTimes(3, pw, testParams)
	if err != nil || len(d) != 3 || d[0] <= 0 {
		t.Fatalf("HashTimes = %v, %v", d, err)
	}
	if d, err := loginload.HashTimes(0, pw, testParams); err != nil || len(d) != 1 {
		t.Fatalf("HashTimes(0) = %v, %v; want one time", d, err)
	}
	if _, err := loginload.HashTimes(1, pw, password.Params{}); !errors.Is(err, password.ErrInvalidParams) {
		t.Fatalf("invalid params: err = %v, want ErrInvalidParams", err)
	}
}

func TestRunHonorsRetryAfter(t *testing.T) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 1:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		case 3:
			w.WriteHeader(http.StatusServiceUnavailable) // nothing to honour
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer ts.Close()
	tests := []struct {
		name   string
		honor  bool
		want   time.Duration
		sleeps int
	}{
		{"honoured", true, 5 * time.Second, 2},
		{"ignored", false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.Store(0)
			var sleeps atomic.Int64
			rep, err := loginload.Run(context.Background(), loginload.Config{
				BaseURL: ts.URL, Clients: 1, Requests: 4, HonorRetryAfter: tt.honor,
				Sleep: func(context.Context, time.Duration) { sleeps.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Waited != tt.want || int(sleeps.Load()) != tt.sleeps || rep.Total() != 4 {
				t.Fatalf("waited %v in %d sleeps, want %v in %d; report %+v", rep.Waited, sleeps.Load(), tt.want, tt.sleeps, rep)
			}
		})
	}
}

// fakeClock is a clock that moves only when something sleeps on it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRunWaitEndsWithTheRun(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer ts.Close()
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	rep, err := loginload.Run(context.Background(), loginload.Config{
		BaseURL: ts.URL, Clients: 1, Duration: time.Minute, HonorRetryAfter: true,
		Now: clock.Now, Sleep: clock.Sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	// One answer, then a wait cut to the minute left, and the run is over.
	if rep.Total() != 1 || rep.Waited != time.Minute || rep.Elapsed != time.Minute {
		t.Fatalf("report %+v", rep)
	}
}

func childProcess(mode string) []string {
	return append(os.Environ(), childEnv+"="+mode)
}

func TestStartServer(t *testing.T) {
	ctx := context.Background()
	srv, err := loginload.StartServer(ctx, os.Args[0], []string{"-test.run=^$"}, childProcess("serve"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL() + benchsrv.MePath)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if peak, err := srv.PeakRSS(); err != nil || peak <= 0 {
		t.Fatalf("PeakRSS = %d, %v", peak, err)
	}
	if srv.PID() <= 0 || srv.Addr() == "" {
		t.Fatalf("pid %d, addr %q", srv.PID(), srv.Addr())
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStartServerErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		path    string
		env     []string
		wantErr error // nil: any error
	}{
		{"exits without an address", context.Background(), os.Args[0], childProcess("silent"), loginload.ErrNoAddress},
		{"context ends first", canceled, os.Args[0], childProcess("hang"), context.Canceled},
		{"no such program", context.Background(), "/nonexistent/forgeauth", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loginload.StartServer(tt.ctx, tt.path, []string{"-test.run=^$"}, tt.env, io.Discard)
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
