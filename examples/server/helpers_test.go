package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/internal/testutil"
)

// waitTimeout bounds every wait of these tests for something the server
// does in the background (a log line, an email, run returning). It is a
// guard against a hang, never a measurement.
const waitTimeout = 30 * time.Second

// fastHashing keeps password hashing cheap in tests.
var fastHashing = map[string]string{
	"PASSWORD_HASH_MEMORY_KIB": "64",
	"PASSWORD_HASH_ITERATIONS": "1",
}

// testSecret is a JWT secret for tests that set one.
const testSecret = "test-secret-test-secret-test-secret-0123"

// envOf returns a getenv over the union of the maps (later maps win).
func envOf(maps ...map[string]string) func(string) string {
	env := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			env[k] = v
		}
	}
	return func(name string) string { return env[name] }
}

// logBuffer is the server's log output, with the waits these tests need.
type logBuffer struct{ *testutil.LogBuffer }

func newLogBuffer() *logBuffer { return &logBuffer{testutil.NewLogBuffer()} }

// waitFor waits until match finds something in the log and returns it.
func (l *logBuffer) waitFor(tb testing.TB, what string, match func(log string) (string, bool)) string {
	tb.Helper()
	return l.WaitFor(tb, what+" in the log", waitTimeout, nil, match)
}

// codeRE finds a 6-digit code that is not part of a longer number.
var codeRE = regexp.MustCompile(`(?:^|\D)(\d{6})(?:\D|$)`)

// logMailCode returns the code in the n-th (from 0) email that the log
// mailer logged for to with subject.
func (l *logBuffer) logMailCode(tb testing.TB, to, subject string, n int) string {
	tb.Helper()
	prefix := `msg="mailer: email not sent (development mailer)" to=` + to + ` subject="` + subject + `" text=`
	return l.waitFor(tb, "email to "+to, func(log string) (string, bool) {
		var seen int
		for line := range strings.Lines(log) {
			_, text, ok := strings.Cut(line, prefix)
			if !ok {
				continue
			}
			if seen == n {
				m := codeRE.FindStringSubmatch(text)
				return m[1], m != nil
			}
			seen++
		}
		return "", false
	})
}

// testServer is run serving on a loopback listener.
type testServer struct {
	URL  string
	Logs *logBuffer

	cancel context.CancelFunc
	done   chan error
}

// startServer runs the server with the environment env on 127.0.0.1:0.
// The server stops at the end of the test, if the test has not stopped it.
func startServer(tb testing.TB, env func(string) string) *testServer {
	tb.Helper()
	return startServerOn(tb, listenLoopback(tb), env)
}

// listenLoopback listens on 127.0.0.1:0, for a test that needs the
// server's URL in its environment (PUBLIC_URL) before it starts.
func listenLoopback(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	return ln
}

// startServerOn runs the server with the environment env on ln.
func startServerOn(tb testing.TB, ln net.Listener, env func(string) string) *testServer {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{
		URL:    "http://" + ln.Addr().String(),
		Logs:   newLogBuffer(),
		cancel: cancel,
		done:   make(chan error, 1),
	}
	go func() { ts.done <- run(ctx, env, ln, ts.Logs) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(waitTimeout):
			tb.Errorf("run did not return after its context ended")
		}
	})
	return ts
}

// stop ends the server's context and returns what run returned.
func (ts *testServer) stop(tb testing.TB) error {
	tb.Helper()
	ts.cancel()
	select {
	case err := <-ts.done:
		ts.done <- err // for Cleanup
		return err
	case <-time.After(waitTimeout):
		tb.Fatalf("run did not return after its context ended")
		return nil
	}
}

// client talks to a test server as one device.
type client struct {
	base string
	ua   string
	xff  string // X-Forwarded-For, when not empty
}

func (ts *testServer) client(userAgent string) *client {
	return &client{base: ts.URL, ua: userAgent}
}

// response is an answer read in full.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request with a JSON body (when body is not nil) and the bearer
// token (when not empty).
func (c *client) do(tb testing.TB, method, path, bearer string, body any) response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(tb, err)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	require.NoError(tb, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	if c.xff != "" {
		req.Header.Set("X-Forwarded-For", c.xff)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// object decodes the body as a JSON object.
func (r response) object(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// expect checks the status and, for a problem document, its code.
func (r response) expect(tb testing.TB, status int, code string) {
	tb.Helper()
	require.Equal(tb, status, r.Status, "body: %s", r.Body)
	if code != "" {
		require.Equal(tb, "application/problem+json", r.Header.Get("Content-Type"))
		require.Equal(tb, code, r.object(tb)["code"], "body: %s", r.Body)
	}
}

// tokens is a token response.
type tokens struct {
	Access, Refresh string
	SessionID       string // the access token's sid claim
}

// login signs in and returns the tokens.
func (c *client) login(tb testing.TB, username, pw string) tokens {
	tb.Helper()
	r := c.do(tb, "POST", "/api/v1/auth/login", "", map[string]string{"username": username, "password": pw})
	r.expect(tb, http.StatusOK, "")
	m := r.object(tb)
	require.Equal(tb, "bearer", m["token_type"])
	t := tokens{Access: m["access_token"].(string)}
	if rt, ok := m["refresh_token"].(string); ok {
		t.Refresh = rt
	}
	t.SessionID, _ = claims(tb, t.Access)["sid"].(string)
	return t
}

// claims decodes a JWT's payload without verifying it.
func claims(tb testing.TB, jwt string) map[string]any {
	tb.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(tb, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(tb, err)
	var m map[string]any
	require.NoError(tb, json.Unmarshal(b, &m))
	return m
}

// hello calls the protected example route.
func (c *client) hello(tb testing.TB, access string) response {
	tb.Helper()
	return c.do(tb, "GET", "/api/v1/hello", access, nil)
}

// runErr runs the server with env on a fresh listener and returns its error,
// which must come before the server serves.
func runErr(tb testing.TB, env func(string) string) (log string, err error) {
	tb.Helper()
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, lerr)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	logs := newLogBuffer()
	err = run(ctx, env, ln, logs)
	if errors.Is(err, context.DeadlineExceeded) || err == nil {
		tb.Fatalf("run served instead of failing at start (err %v); log:\n%s", err, logs)
	}
	// run closed the listener.
	_, aerr := ln.Accept()
	require.ErrorIs(tb, aerr, net.ErrClosed)
	return logs.String(), err
}
