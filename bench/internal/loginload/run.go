package loginload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/forgeauth/forgeauth/bench/internal/loadstat"
	"github.com/forgeauth/forgeauth/password"
)

// ErrInvalidConfig is returned, wrapped with the reason, by [Run] for a
// Config without a BaseURL, with no clients, or with neither a Duration nor
// a Requests count.
var ErrInvalidConfig = errors.New("loginload: invalid configuration")

// ErrUnexpectedStatus is returned, inside a *[StatusError], by [Register]
// when the server does not answer 201.
var ErrUnexpectedStatus = errors.New("loginload: unexpected status")

// StatusError is the answer of a request that did not succeed.
type StatusError struct {
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("loginload: unexpected status %d", e.Status)
}

// Unwrap returns [ErrUnexpectedStatus].
func (e *StatusError) Unwrap() error { return ErrUnexpectedStatus }

// Paths of the endpoints used, under the default prefix.
const (
	RegisterPath = "/api/v1/auth/register"
	LoginPath    = "/api/v1/auth/login"
)

// Config configures [Run]. BaseURL, Clients and one of Duration or
// Requests must be set.
type Config struct {
	// BaseURL is the server's root, e.g. "http://127.0.0.1:8081".
	// Required.
	BaseURL string
	// Username and Password are the credentials every client logs in with.
	Username, Password string
	// Clients is how many clients log in at once, each waiting for its
	// answer before it sends the next login. At least 1.
	Clients int
	// Duration is how long each client keeps starting logins; logins in
	// flight when it ends are finished and counted.
	Duration time.Duration
	// Requests, when positive, makes each client send exactly this many
	// logins and ignores Duration.
	Requests int
	// HonorRetryAfter makes a client that gets a 503 or 429 with a
	// Retry-After of n seconds wait that long (or until the run ends)
	// before its next login, as a well-behaved client does. By default the
	// clients retry at once: the worst case for the server.
	HonorRetryAfter bool
	// Now and Sleep are the clock (of the run's end and of the latencies)
	// and the wait for d or until ctx ends; nil means time.Now and a timer.
	// Tests replace them so that they never sleep.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration)
	// HTTPClient sends the requests; nil means a client keeping one idle
	// connection per client and a 30 s timeout per request.
	HTTPClient *http.Client
}

// Report is what a [Run] observed. Latencies are from sending the request
// to reading the whole answer.
type Report struct {
	Clients int
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration
	// OK holds the latency of every 200.
	OK []time.Duration
	// Unavailable holds the latency of every 503.
	Unavailable []time.Duration
	// UnavailableWithoutRetryAfter counts the 503s lacking a Retry-After
	// of at least one second.
	UnavailableWithoutRetryAfter int
	// RateLimited counts the 429s.
	RateLimited int
	// Waited is the total time the clients spent honouring Retry-After.
	Waited time.Duration
	// Other counts every other status by its code.
	Other map[int]int
	// TransportErrors counts requests that got no answer; FirstError is
	// the first of those errors.
	TransportErrors int
	FirstError      error
}

// Total is the number of requests that got an answer or failed.
func (r Report) Total() int {
	n := len(r.OK) + len(r.Unavailable) + r.RateLimited + r.TransportErrors
	for _, c := range r.Other {
		n += c
	}
	return n
}

// P50 is the median latency of the successful logins (0 when none).
func (r Report) P50() time.Duration { return loadstat.Percentile(r.OK, 50) }

// P99 is the 99th percentile of the successful logins' latency (0 when
// none).
func (r Report) P99() time.Duration { return loadstat.Percentile(r.OK, 99) }

// Other5xx counts the answers of status 500 to 599 other than 503.
func (r Report) Other5xx() int {
	n := 0
	for s, c := range r.Other {
		if s >= 500 && s <= 599 {
			n += c
		}
	}
	return n
}

// Run has cfg.Clients clients log in concurrently until cfg.Duration has
// passed (or each has sent cfg.Requests logins) and reports what they got.
// A failed request is counted, not returned: Run returns an error only
// for an invalid cfg ([ErrInvalidConfig]) or when ctx ends first (the
// report so far comes with ctx.Err()).
func Run(ctx context.Context, cfg Config) (Report, error) {
	switch {
	case cfg.BaseURL == "":
		return Report{}, fmt.Errorf("%w: no BaseURL", ErrInvalidConfig)
	case cfg.Clients < 1:
		return Report{}, fmt.Errorf("%w: Clients must be at least 1", ErrInvalidConfig)
	case cfg.Requests <= 0 && cfg.Duration <= 0:
		return Report{}, fmt.Errorf("%w: neither Duration nor Requests is set", ErrInvalidConfig)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = newHTTPClient(cfg.Clients)
	}
	body, err := json.Marshal(map[string]string{"username": cfg.Username, "password": cfg.Password})
	if err != nil {
		return Report{}, fmt.Errorf("loginload: %w", err)
	}
	url := cfg.BaseURL + LoginPath
	sleep, now := cfg.Sleep, cfg.Now
	if sleep == nil {
		sleep = sleepCtx
	}
	if now == nil {
		now = time.Now
	}

	start := now()
	deadline := start.Add(cfg.Duration)
	parts := make([]Report, cfg.Clients)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() {
			p := &parts[i]
			for n := 0; ctx.Err() == nil; n++ {
				if cfg.Requests > 0 && n >= cfg.Requests || cfg.Requests <= 0 && !now().Before(deadline) {
					return
				}
				wait := login(ctx, hc, now, url, body, p)
				if cfg.HonorRetryAfter && wait > 0 {
					if cfg.Requests <= 0 {
						wait = min(wait, deadline.Sub(now()))
					}
					if wait > 0 {
						sleep(ctx, wait)
						p.Waited += wait
					}
				}
			}
		})
	}
	wg.Wait()

	rep := Report{Clients: cfg.Clients, Elapsed: now().Sub(start), Other: map[int]int{}}
	for _, p := range parts {
		rep.OK = append(rep.OK, p.OK...)
		rep.Unavailable = append(rep.Unavailable, p.Unavailable...)
		rep.UnavailableWithoutRetryAfter += p.UnavailableWithoutRetryAfter
		rep.RateLimited += p.RateLimited
		rep.Waited += p.Waited
		rep.TransportErrors += p.TransportErrors
		if rep.FirstError == nil {
			rep.FirstError = p.FirstError
		}
		for s, c := range p.Other {
			rep.Other[s] += c
		}
	}
	return rep, ctx.Err()
}

// login sends one login and records its outcome in p. It returns the
// Retry-After of a 503 or 429, or 0.
func login(ctx context.Context, hc *http.Client, now func() time.Time, url string, body []byte, p *Report) time.Duration {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		p.fail(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := now()
	resp, err := hc.Do(req)
	if err != nil {
		p.fail(err)
		return 0
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := now().Sub(t0)
	if err != nil {
		p.fail(err)
		return 0
	}
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || retry < 1 {
		retry = 0
	}
	switch resp.StatusCode {
	case http.StatusOK:
		p.OK = append(p.OK, took)
		return 0
	case http.StatusServiceUnavailable:
		p.Unavailable = append(p.Unavailable, took)
		if retry == 0 {
			p.UnavailableWithoutRetryAfter++
		}
		return time.Duration(retry) * time.Second
	case http.StatusTooManyRequests:
		p.RateLimited++
		return time.Duration(retry) * time.Second
	default:
		if p.Other == nil {
			p.Other = map[int]int{}
		}
		p.Other[resp.StatusCode]++
		return 0
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (r *Report) fail(err error) {
	r.TransportErrors++
	if r.FirstError == nil {
		r.FirstError = err
	}
}

func newHTTPClient(clients int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        clients,
			MaxIdleConnsPerHost: clients,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// Register creates the account the clients log in with, through POST
// /api/v1/auth/register; hc nil means http.DefaultClient. It returns a
// *[StatusError] when the answer is not 201 (a 409 when the account
// exists), and the error of the request otherwise.
func Register(ctx context.Context, hc *http.Client, baseURL, username, email, pw string) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	body, err := json.Marshal(map[string]string{"username": username, "email": email, "password": pw})
	if err != nil {
		return fmt.Errorf("loginload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+RegisterPath, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("loginload: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("loginload: register: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return &StatusError{Status: resp.StatusCode}
	}
	return nil
}

// HashTimes hashes pw n times with params (n < 1 means 1), after one
// warm-up hash, and returns the time of each [password.Hash]. It returns
// the error of password.Hash.
func HashTimes(n int, pw string, params password.Params) ([]time.Duration, error) {
	n = max(n, 1)
	if _, err := password.Hash(pw, params, nil); err != nil {
		return nil, fmt.Errorf("loginload: %w", err)
	}
	d := make([]time.Duration, n)
	for i := range d {
		t0 := time.Now()
		if _, err := password.Hash(pw, params, nil); err != nil {
			return nil, fmt.Errorf("loginload: %w", err)
		}
		d[i] = time.Since(t0)
	}
	return d, nil
}
