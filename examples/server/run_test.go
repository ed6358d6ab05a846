package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With no environment at all the server runs: SQLite in the working
// directory, a random secret (with a warning), the log mailer, Complete mode.
func TestRunWithNoEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ts := startServer(t, func(string) string { return "" })
	c := ts.client("test-client/1.0")

	c.do(t, "GET", "/healthz", "", nil).expect(t, http.StatusOK, "")
	assert.Equal(t, "ok", c.do(t, "GET", "/healthz", "", nil).object(t)["status"])
	c.do(t, "GET", "/readyz", "", nil).expect(t, http.StatusOK, "")

	const pw = "Corr3ct-Horse-Battery!"
	r := c.do(t, "POST", "/api/v1/auth/register", "", map[string]string{
		"username": "alice", "email": "alice@example.com", "password": pw,
	})
	r.expect(t, http.StatusCreated, "")
	assert.Equal(t, false, r.object(t)["is_verified"])

	code := ts.Logs.logMailCode(t, "alice@example.com", "Verify your email", 0)
	c.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": pw}).
		expect(t, http.StatusForbidden, "email_not_verified")
	c.do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"email": "alice@example.com", "code": code}).
		expect(t, http.StatusOK, "")

	tok := c.login(t, "alice", pw)
	require.NotEmpty(t, tok.Refresh, "Complete mode issues refresh tokens")
	r = c.hello(t, tok.Access)
	r.expect(t, http.StatusOK, "")
	assert.Equal(t, "Hello, alice!", r.object(t)["message"])
	c.hello(t, "").expect(t, http.StatusUnauthorized, "invalid_token")

	require.NoError(t, ts.stop(t), "a graceful stop returns nil")

	log := ts.Logs.String()
	assert.Contains(t, log, "level=WARN msg=\"JWT_SECRET_KEY is not set")
	assert.Contains(t, log, "level=WARN msg=\"EMAIL_HOST is not set: mails, with their codes, go to this log", "the server warns that mails go to the log")
	assert.Contains(t, log, `mode=complete store=sqlite:forgeauth.db mailer=log`)
	assert.Contains(t, log, "server stopped")
	assert.NotContains(t, log, pw)
	assert.NotContains(t, log, tok.Access)
	_, err := os.Stat(filepath.Join(dir, "forgeauth.db"))
	require.NoError(t, err, "the database file is in the working directory")
}

// Every bad variable stops run before it serves, with an error naming the
// variable and no secret in it.
func TestRunConfigErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	brokenTemplates := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(brokenTemplates, "verification.html"), []byte("<p>{{.Code</p>"), 0o600))

	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
		secret  string // must not appear in the error or the log
	}{
		{name: "ftp database", env: map[string]string{"DATABASE_URL": "ftp://x"}, wantVar: "DATABASE_URL"},
		{name: "empty sqlite path", env: map[string]string{"DATABASE_URL": "sqlite:"}, wantVar: "DATABASE_URL"},
		{name: "sqlite memory", env: map[string]string{"DATABASE_URL": "sqlite::memory:"}, wantVar: "DATABASE_URL"},
		{name: "sqlite in a missing directory", env: map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")}, wantVar: "DATABASE_URL"},
		{name: "bad postgres URL", env: map[string]string{"DATABASE_URL": "postgres://u:hunter2-pw@[::1"}, wantVar: "DATABASE_URL", secret: "hunter2-pw"},
		{name: "unreachable postgres", env: map[string]string{"DATABASE_URL": "postgres://u:hunter2-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=5"}, wantVar: "DATABASE_URL", secret: "hunter2-pw"},
		{name: "trusted proxies", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, nonsense"}, wantVar: "TRUSTED_PROXIES"},
		{name: "auth mode", env: map[string]string{"AUTH_MODE": "x"}, wantVar: "AUTH_MODE"},
		{name: "short secret", env: map[string]string{"JWT_SECRET_KEY": "s3cr3t-value"}, wantVar: "JWT_SECRET_KEY", secret: "s3cr3t-value"},
		{name: "algorithm", env: map[string]string{"JWT_SECRET_KEY": testSecret, "JWT_ALGORITHM": "none"}, wantVar: "JWT_ALGORITHM"},
		{name: "access ttl", env: map[string]string{"JWT_ACCESS_TOKEN_EXPIRATION": "soon"}, wantVar: "JWT_ACCESS_TOKEN_EXPIRATION"},
		{name: "hash memory", env: map[string]string{"PASSWORD_HASH_MEMORY_KIB": "lots"}, wantVar: "PASSWORD_HASH_MEMORY_KIB"},
		{name: "hash parameters together", env: map[string]string{"PASSWORD_HASH_MEMORY_KIB": "8", "PASSWORD_HASH_PARALLELISM": "16"}, wantVar: "PASSWORD_HASH_PARALLELISM"},
		{name: "rate limit negative", env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "-1"}, wantVar: "AUTH_RATE_LIMIT_PER_MINUTE"},
		{name: "rate limit word", env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "many"}, wantVar: "AUTH_RATE_LIMIT_PER_MINUTE"},
		{name: "broken template", env: map[string]string{"EMAIL_TEMPLATE_DIR": brokenTemplates}, wantVar: "EMAIL_TEMPLATE_DIR"},
		{name: "missing template dir", env: map[string]string{"EMAIL_TEMPLATE_DIR": filepath.Join(brokenTemplates, "nope")}, wantVar: "EMAIL_TEMPLATE_DIR"},
		{name: "smtp without sender", env: map[string]string{"EMAIL_HOST": "127.0.0.1"}, wantVar: "EMAIL_FROM_EMAIL"},
		{name: "smtp port", env: map[string]string{"EMAIL_HOST": "127.0.0.1", "EMAIL_FROM_EMAIL": "a@example.com", "EMAIL_PORT": "99999"}, wantVar: "EMAIL_PORT"},
		{name: "smtp sender", env: map[string]string{"EMAIL_HOST": "127.0.0.1", "EMAIL_FROM_EMAIL": "not an address"}, wantVar: "EMAIL_FROM_EMAIL"},
		{name: "smtp tls flag", env: map[string]string{"EMAIL_HOST": "127.0.0.1", "EMAIL_FROM_EMAIL": "a@example.com", "EMAIL_USE_TLS": "maybe"}, wantVar: "EMAIL_USE_TLS"},
		{name: "redis scheme", env: map[string]string{"REDIS_URL": "ftp://x"}, wantVar: "REDIS_URL"},
		{name: "redis unreachable", env: map[string]string{"REDIS_URL": "redis://:hunter2-pw@127.0.0.1:1/0"}, wantVar: "REDIS_URL", secret: "hunter2-pw"},
		{name: "redis bad URL", env: map[string]string{"REDIS_URL": "redis://:hunter2-pw@[::1"}, wantVar: "REDIS_URL", secret: "hunter2-pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The default database, sqlite:forgeauth.db, is not created:
			// every value is checked before anything is opened.
			log, err := runErr(t, envOf(fastHashing, tt.env))
			t.Log(err)
			require.ErrorContains(t, err, tt.wantVar)
			if tt.secret != "" {
				assert.NotContains(t, err.Error(), tt.secret)
				assert.NotContains(t, log, tt.secret)
			}
			assert.NotContains(t, log, "listening", "run must fail before it serves")
			assert.NoFileExists(t, "forgeauth.db")
		})
	}

	t.Run("address", func(t *testing.T) {
		err := run(t.Context(), envOf(map[string]string{"DATABASE_URL": "memory", "ADDR": "256.0.0.1:99999"}), nil, newLogBuffer())
		require.ErrorContains(t, err, "ADDR")
	})
}

// AUTH_RATE_LIMIT_PER_MINUTE limits each client IP, and TRUSTED_PROXIES
// decides which address is the client's.
func TestIPRateLimit(t *testing.T) {
	const limit = 3
	tests := []struct {
		name    string
		proxies string
		wantIP  string // the client IP the server sees for a request forwarded for 203.0.113.7
		shared  bool   // whether the forwarded clients share the proxy's limit
	}{
		{name: "no trusted proxy", proxies: "", wantIP: "127.0.0.1", shared: true},
		{name: "trusted loopback", proxies: "10.0.0.0/8, 127.0.0.1", wantIP: "203.0.113.7", shared: false},
		{name: "trusted loopback CIDR", proxies: "127.0.0.0/8", wantIP: "203.0.113.7", shared: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, envOf(fastHashing, map[string]string{
				"AUTH_MODE":                  "basic",
				"DATABASE_URL":               "memory",
				"JWT_SECRET_KEY":             testSecret,
				"AUTH_RATE_LIMIT_PER_MINUTE": strconv.Itoa(limit),
				"TRUSTED_PROXIES":            tt.proxies,
			}))
			first := &client{base: ts.URL, ua: "first", xff: "203.0.113.7"}
			second := &client{base: ts.URL, ua: "second", xff: "198.51.100.9"}
			wrong := map[string]string{"username": "nobody", "password": "Wrong-Passw0rd!"}
			for range limit {
				first.do(t, "POST", "/api/v1/auth/login", "", wrong).expect(t, http.StatusUnauthorized, "invalid_credentials")
			}
			r := first.do(t, "POST", "/api/v1/auth/login", "", wrong)
			r.expect(t, http.StatusTooManyRequests, "rate_limited")
			assert.NotEmpty(t, r.Header.Get("Retry-After"))

			r = second.do(t, "POST", "/api/v1/auth/login", "", wrong)
			if tt.shared {
				r.expect(t, http.StatusTooManyRequests, "rate_limited")
			} else {
				r.expect(t, http.StatusUnauthorized, "invalid_credentials")
			}
			// Routes outside the auth endpoints are not limited.
			first.do(t, "GET", "/healthz", "", nil).expect(t, http.StatusOK, "")

			require.NoError(t, ts.stop(t))
			assert.Contains(t, ts.Logs.String(), "status=429 duration=")
			assert.Contains(t, ts.Logs.String(), "ip="+tt.wantIP+"\n")
		})
	}
}

// A request in flight when the server is told to stop is finished, and
// then run returns nil.
func TestGracefulShutdownFinishesRequests(t *testing.T) {
	ts := startServer(t, envOf(fastHashing, map[string]string{
		"AUTH_MODE":      "basic",
		"DATABASE_URL":   "memory",
		"JWT_SECRET_KEY": testSecret,
	}))

	// The client sends the body only after the server's handler asked for
	// it (100 Continue): from then on the request is in flight.
	body, bodyW := io.Pipe()
	req, err := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/api/v1/auth/register", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	inFlight := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got100Continue: func() { close(inFlight) },
	}))
	transport := &http.Transport{ExpectContinueTimeout: waitTimeout}
	t.Cleanup(transport.CloseIdleConnections)
	type result struct {
		status int
		close  bool
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := transport.RoundTrip(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		_ = resp.Body.Close()
		done <- result{status: resp.StatusCode, close: resp.Close}
	}()
	select {
	case <-inFlight:
	case <-time.After(waitTimeout):
		t.Fatal("the server never asked for the body")
	}

	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop(t) }()
	// Shutdown closes the listener first: once a dial is refused, the
	// server is shutting down with the request still in flight.
	addr := strings.TrimPrefix(ts.URL, "http://")
	deadline := time.Now().Add(waitTimeout)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		_ = c.Close()
		require.True(t, time.Now().Before(deadline), "the listener stayed open")
	}
	_, err = io.WriteString(bodyW, `{"username":"frank","email":"frank@example.com","password":"Corr3ct-Horse-Battery!"}`)
	require.NoError(t, err)
	require.NoError(t, bodyW.Close())

	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusCreated, res.status)
	assert.True(t, res.close, "answered while shutting down (no keep-alive)")
	require.NoError(t, <-stopped)
}

func TestMemoryLimit(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "PASSWORD_HASH_MEMORY_KIB" {
				return v
			}
			return ""
		}
	}
	const mib = 1 << 20
	tests := []struct {
		name  string
		kib   string
		procs int
		want  int64
	}{
		{"default parameters, two CPUs", "", 2, 2*19456*1024 + 64*mib},
		{"configured memory", "65536", 4, 4*64*mib + 64*mib},
		{"unusable value counts as the default", "lots", 1, 19456*1024 + 64*mib},
		{"over the cap counts as the default", "999999999", 1, 19456*1024 + 64*mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := memoryLimit(env(tt.kib), tt.procs); got != tt.want {
				t.Errorf("memoryLimit = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWithDeadline(t *testing.T) {
	var got time.Time
	h := withDeadline(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		var ok bool
		got, ok = r.Context().Deadline()
		if !ok {
			t.Error("the request context has no deadline")
		}
	}), time.Minute)
	before := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got.Before(before.Add(time.Minute)) || got.After(time.Now().Add(time.Minute)) {
		t.Errorf("deadline %v is not a minute after the request", got)
	}
}
