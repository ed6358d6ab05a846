package reliability_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/mailer"
)

// The environment variables that point the tests at the shared services.
const (
	postgresURLVar = "FORGEAUTH_TEST_POSTGRES_URL"
	redisURLVar    = "FORGEAUTH_TEST_REDIS_URL"
)

// guard bounds every wait for something that happens in the background (a
// server starting, a mail arriving, a service recovering). It is a guard
// against a hang, never a measurement.
const guard = 60 * time.Second

const (
	apiPrefix = "/api/v1"
	// strongPW and newPW pass the default password policy.
	strongPW = "Correct-Horse-7"
	newPW    = "Battery-Staple-9"
	// secret is the token secret of the services under test.
	secret = "reliability-secret-0123456789abcdef"
)

// postgresURL returns the URL of the test database or skips the test.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(postgresURLVar)
	if u == "" {
		tb.Skipf("this test needs PostgreSQL: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", postgresURLVar)
	}
	return u
}

// redisURL returns the URL of the test Redis or skips the test.
func redisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(redisURLVar)
	if u == "" {
		tb.Skipf("this test needs Redis: set %s (e.g. redis://127.0.0.1:6379/0)", redisURLVar)
	}
	return u
}

// randomHex returns n random bytes in hex.
func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return hex.EncodeToString(b)
}

// withQuery returns rawURL with the query parameters set.
func withQuery(tb testing.TB, rawURL string, params map[string]string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(tb, err)
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// withHost returns rawURL pointing at host:port instead.
func withHost(tb testing.TB, rawURL, hostport string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(tb, err)
	u.Host = hostport
	return u.String()
}

// pgHost returns the host:port of a PostgreSQL URL.
func pgHost(tb testing.TB, rawURL string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(tb, err)
	if u.Port() == "" {
		return u.Hostname() + ":5432"
	}
	return u.Host
}

// pgSchema is a PostgreSQL schema of the test's own.
type pgSchema struct {
	name  string
	base  string  // the server's URL, as given
	admin *sql.DB // connections outside the schema's application name
}

// newPGSchema creates a schema for the test and drops it at the end. Open
// the test's stores with s.url, which sets search_path to it.
func newPGSchema(tb testing.TB) *pgSchema {
	tb.Helper()
	base := postgresURL(tb)
	s := &pgSchema{name: "forgeauth_rel_" + randomHex(tb, 6), base: base}
	admin, err := sql.Open("pgx", withQuery(tb, base, map[string]string{"application_name": "forgeauth_rel_admin"}))
	require.NoError(tb, err)
	admin.SetMaxOpenConns(2)
	s.admin = admin
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	_, err = admin.ExecContext(ctx, `CREATE SCHEMA `+s.name)
	require.NoError(tb, err, "create schema")
	// Registered first, so it runs after the cleanups that close the
	// test's pools.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+s.name+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", s.name, err)
		}
		_ = admin.Close()
	})
	return s
}

// url returns a URL of the server whose connections use the schema, carry
// the application name appName and commit without waiting for the disk
// (which changes nothing but what a crash of the server could lose). When
// hostport is not empty the URL points there (a proxy) instead.
func (s *pgSchema) url(tb testing.TB, appName, hostport string) string {
	tb.Helper()
	u := withQuery(tb, s.base, map[string]string{
		"search_path":        s.name,
		"application_name":   appName,
		"synchronous_commit": "off",
		"connect_timeout":    "10",
	})
	if hostport != "" {
		u = withHost(tb, u, hostport)
	}
	return u
}

// open opens a pool on the schema and closes it at the end of the test.
func (s *pgSchema) open(tb testing.TB, appName, hostport string, maxConns int) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", s.url(tb, appName, hostport))
	require.NoError(tb, err)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// terminate ends every backend with the application name and returns how
// many it ended.
func (s *pgSchema) terminate(ctx context.Context, appName string) (int, error) {
	var n int
	err := s.admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()`, appName).Scan(&n)
	return n, err
}

// awaitNoBackends waits until the server has ended every backend with the
// application name: after a cut, a backend may still be carrying out the
// last statement it was sent, and the test must not read the rows before
// that statement has committed or rolled back.
func (s *pgSchema) awaitNoBackends(tb testing.TB, appName string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int
		err := s.admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&n)
		require.NoError(tb, err, "backends of %s still there after %s", appName, guard)
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%d backends of %s still there after %s", n, appName, guard)
		case <-tick.C:
		}
	}
}

// newClock starts half-way through a second of the present: a revocation
// then takes effect at the next whole second, as it does in real life,
// rather than at the very instant the clock stands still on.
func newClock() *testutil.Clock {
	return testutil.NewClock(time.Now().UTC().Truncate(time.Second).Add(500 * time.Millisecond))
}

// logBuffer collects log output from several goroutines (or a process),
// with the waits these tests need.
type logBuffer struct{ *testutil.LogBuffer }

func newLogBuffer() *logBuffer { return &logBuffer{testutil.NewLogBuffer()} }

// waitFor waits until match finds something in the log, or fails the test
// after guard, or as soon as stop is closed (a process that exited).
func (l *logBuffer) waitFor(tb testing.TB, what string, stop <-chan struct{}, match func(log string) (string, bool)) string {
	tb.Helper()
	return l.WaitFor(tb, what, guard, stop, match)
}

// logger returns a text logger writing to l.
func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// codeRE finds a six-digit code that is not part of a longer number.
var codeRE = regexp.MustCompile(`(?:^|\D)(\d{6})(?:\D|$)`)

// mailCode waits for the next message to to on rec and returns its code.
func mailCode(tb testing.TB, rec *mailer.Recorder, to string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	for {
		m, err := rec.Wait(ctx, to)
		require.NoError(tb, err, "waiting for a mail with a code to %s", to)
		if c := codeRE.FindStringSubmatch(m.Text); c != nil {
			return c[1]
		}
	}
}

// client speaks to one server over HTTP.
type client struct {
	base string
	hc   *http.Client
}

func newClient(tb testing.TB, base string) *client {
	tb.Helper()
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	tb.Cleanup(tr.CloseIdleConnections)
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: guard}}
}

// answer is one HTTP answer and how long it took.
type answer struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
	took         time.Duration
	err          error // a transport error; status is 0 then
}

// do sends one request; body is a JSON value (a string is sent as is).
func (c *client) do(ctx context.Context, method, path, bearer string, body any) answer {
	var rd io.Reader
	if body != nil {
		b, ok := body.(string)
		if !ok {
			raw, err := json.Marshal(body)
			if err != nil {
				return answer{method: method, path: path, err: err}
			}
			b = string(raw)
		}
		rd = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{method: method, path: path, err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{method: method, path: path, err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: b, err: err, took: time.Since(start)}
}

// post is do with POST under the API prefix, for the test goroutine.
func (c *client) post(tb testing.TB, path, bearer string, body any) answer {
	tb.Helper()
	a := c.do(context.Background(), "POST", apiPrefix+path, bearer, body)
	require.NoError(tb, a.err, "POST %s", path)
	return a
}

// get is do with GET, for the test goroutine; path is absolute.
func (c *client) get(tb testing.TB, path, bearer string) answer {
	tb.Helper()
	a := c.do(context.Background(), "GET", path, bearer, nil)
	require.NoError(tb, a.err, "GET %s", path)
	return a
}

// problemCode returns the "code" of a problem document, or "".
func (a answer) problemCode() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(a.body, &p)
	return p.Code
}

// expect checks the status and, for an error, the problem code.
func (a answer) expect(tb testing.TB, status int, code string) answer {
	tb.Helper()
	require.NoError(tb, a.err)
	require.Equal(tb, status, a.status, "%s %s: %s", a.method, a.path, a.body)
	if code != "" {
		require.Equal(tb, code, a.problemCode(), "%s %s: %s", a.method, a.path, a.body)
	}
	return a
}

// decode decodes a JSON answer into v.
func (a answer) decode(tb testing.TB, v any) {
	tb.Helper()
	require.NoError(tb, json.Unmarshal(a.body, v), "%s %s: %s", a.method, a.path, a.body)
}

// tokens is the token JSON.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// userJSON is the part of the user JSON the tests read.
type userJSON struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	IsVerified bool   `json:"is_verified"`
}

// leakWords are texts that must never reach a client: traces of SQL, of
// the drivers, of the network and of the storage.
var leakWords = []string{"sql", "pq:", "pgx", "postgres", "select ", "insert ", "update ", "dial tcp",
	"127.0.0.1", "sqlite", "busy", "locked", "$argon2", "connection", "sqlstore", "panic", "goroutine"}

// leaks returns the leak words found in body, compared case-insensitively.
func leaks(body []byte) []string {
	low := strings.ToLower(string(body))
	var found []string
	for _, w := range leakWords {
		if strings.Contains(low, w) {
			found = append(found, w)
		}
	}
	return found
}

// checkAnswer checks what every answer must be, whatever the flow: not a
// 500, nothing internal in the body, errors as problem documents whose
// status matches, and a Retry-After on every 429 and 503. It returns a
// description of what is wrong, or "".
func checkAnswer(a answer) string {
	switch {
	case a.err != nil:
		return "transport error: " + a.err.Error()
	case a.status == http.StatusInternalServerError:
		return "500: " + string(a.body)
	}
	if a.status >= 300 {
		if found := leaks(a.body); len(found) > 0 {
			return "the body holds " + strings.Join(found, ", ") + ": " + string(a.body)
		}
	} else if bytes.Contains(a.body, []byte("$argon2")) || bytes.Contains(a.body, []byte("hashed_password")) {
		// Success bodies hold tokens, whose base64 may spell anything,
		// but never a hash.
		return "the body holds a password hash: " + string(a.body)
	}
	if a.status >= 400 {
		if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
			return strconv.Itoa(a.status) + " with Content-Type " + ct
		}
		var p struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
		}
		if err := json.Unmarshal(a.body, &p); err != nil || p.Status != a.status || p.Code == "" {
			return "not a problem document of status " + strconv.Itoa(a.status) + ": " + string(a.body)
		}
	}
	if a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable {
		if n, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || n < 1 {
			return strconv.Itoa(a.status) + " without a valid Retry-After: " + strconv.Quote(a.header.Get("Retry-After"))
		}
	}
	return ""
}

// tally counts answers by a key, safely from several goroutines.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) add(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[key]++
}

func (t *tally) get(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[key]
}

// String lists the counts in key order.
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.n))
	for k := range t.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Itoa(t.n[k])
	}
	return strings.Join(parts, " ")
}

// quantiles describes a set of durations for a report: min, median, p90
// and max.
func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[int(q*float64(len(s)-1))].Round(10 * time.Microsecond) }
	return "n=" + strconv.Itoa(len(s)) + " min=" + at(0).String() + " p50=" + at(0.5).String() +
		" p90=" + at(0.9).String() + " max=" + at(1).String()
}

// noSecretsIn checks that none of the secrets appears in a log.
func noSecretsIn(tb testing.TB, log string, secrets ...string) {
	tb.Helper()
	assert.NotContains(tb, log, "$argon2id$", "a password hash is logged")
	for _, s := range secrets {
		if s != "" && strings.Contains(log, s) {
			tb.Errorf("a secret (%.12s...) is in the log", s)
		}
	}
}

// errRE finds the error of a log line written by the text handler.
var errRE = regexp.MustCompile(`\berr(?:or)?="((?:[^"\\]|\\.)*)"`)

// numbersRE finds the parts of an error text that vary from one run to the
// next (ports, process ids, addresses).
var numbersRE = regexp.MustCompile(`[0-9]+`)

// logCauses returns the distinct errors of the log lines holding msg, with
// their digits replaced by '#', most frequent first, at most n of them.
func logCauses(log, msg string, n int) []string {
	var t tally
	for line := range strings.Lines(log) {
		if !strings.Contains(line, msg) {
			continue
		}
		if m := errRE.FindStringSubmatch(line); m != nil {
			t.add(numbersRE.ReplaceAllString(m[1], "#"))
		}
	}
	keys := make([]string, 0, len(t.n))
	for k := range t.n {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return t.n[keys[i]] > t.n[keys[j]] || t.n[keys[i]] == t.n[keys[j]] && keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	for i, k := range keys {
		keys[i] = strconv.Itoa(t.n[k]) + "× " + k
	}
	return keys
}
