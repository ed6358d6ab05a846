package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The User-Agents of the two devices of the end-to-end flow.
const (
	uaLaptop = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	uaPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

const (
	subjectVerify = "Verify your email"
	subjectReset  = "Reset your password"
)

func TestCompleteFlowSQLite(t *testing.T) {
	completeFlow(t, "sqlite:"+filepath.Join(t.TempDir(), "e2e.db"))
}

func TestCompleteFlowPostgres(t *testing.T) {
	completeFlow(t, postgresURL(t))
}

// postgresURL returns a DATABASE_URL for a fresh schema of the database
// FORGEAUTH_TEST_POSTGRES_URL names, dropped at the end of the test.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("FORGEAUTH_TEST_POSTGRES_URL")
	if base == "" {
		tb.Skip("set FORGEAUTH_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL")
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "forgeauth_e2e_" + hex.EncodeToString(b)

	db, err := sql.Open("pgx", base)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	_, err = db.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		_, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		assert.NoError(tb, err)
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// completeFlow runs every Complete-mode endpoint over real HTTP, with the
// codes read from emails delivered by real SMTP.
func completeFlow(t *testing.T, databaseURL string) {
	mb := startMailbox(t)
	ts := startServer(t, envOf(fastHashing, mb.env(), map[string]string{
		"DATABASE_URL":               databaseURL,
		"JWT_SECRET_KEY":             testSecret,
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
	}))
	laptop, phone, anon := ts.client(uaLaptop), ts.client(uaPhone), ts.client("")
	const (
		email = "alice@example.com"
		pw1   = "Corr3ct-Horse-Battery!"
		pw2   = "Purple-Monkey-Dishw4sher"
		pw3   = "Tr0ub4dor&3-Extended"
	)

	// Register, then verify with the emailed code.
	r := laptop.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "alice", "email": email, "password": pw1})
	r.expect(t, http.StatusCreated, "")
	userID := r.object(t)["id"]
	laptop.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "ALICE", "email": "other@example.com", "password": pw1}).
		expect(t, http.StatusConflict, "user_exists")

	m := mb.wait(t, email, subjectVerify, 0)
	from, err := m.Header.AddressList("From")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Name: "Forge Test", Address: "no-reply@example.com"}}, from)
	to, err := m.Header.AddressList("To")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Address: email}}, to)
	assert.NotEmpty(t, m.Header.Get("Message-Id"))
	code := mb.code(t, email, subjectVerify, 0)

	laptop.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": pw1}).
		expect(t, http.StatusForbidden, "email_not_verified")
	laptop.do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"email": email, "code": wrongCode(code)}).
		expect(t, http.StatusBadRequest, "invalid_code")
	r = laptop.do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"email": email, "code": code})
	r.expect(t, http.StatusOK, "")
	assert.Equal(t, true, r.object(t)["is_verified"])
	laptop.do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"email": email, "code": code}).
		expect(t, http.StatusBadRequest, "invalid_code")
	mb.wait(t, email, "Welcome to Forge Test", 0)
	// A verified address is taken; before verification a new registration
	// would have replaced the pending one.
	laptop.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "alice2", "email": "ALICE@example.com", "password": pw1}).
		expect(t, http.StatusConflict, "user_exists")

	// Two devices; the login name may be the email too.
	lt := laptop.login(t, "alice", pw1)
	pt := phone.login(t, email, pw1)
	require.NotEmpty(t, lt.Refresh)
	require.NotEqual(t, lt.SessionID, pt.SessionID)
	laptop.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": pw2}).
		expect(t, http.StatusUnauthorized, "invalid_credentials")

	r = laptop.do(t, "GET", "/api/v1/users/me", lt.Access, nil)
	r.expect(t, http.StatusOK, "")
	me := r.object(t)
	assert.Equal(t, userID, me["id"])
	assert.Equal(t, "alice", me["username"])
	assert.NotContains(t, string(r.Body), "argon2")
	assert.NotContains(t, me, "hashed_password")

	r = laptop.hello(t, lt.Access)
	r.expect(t, http.StatusOK, "")
	assert.Equal(t, "Hello, alice!", r.object(t)["message"])
	assert.Equal(t, "Hello, alice", anon.do(t, "GET", "/api/v1/public", lt.Access, nil).object(t)["message"])
	assert.Equal(t, "Hello, anonymous", anon.do(t, "GET", "/api/v1/public", "", nil).object(t)["message"])
	anon.do(t, "GET", "/api/v1/public", "not-a-token", nil).expect(t, http.StatusUnauthorized, "invalid_token")
	r = anon.hello(t, lt.Refresh)
	r.expect(t, http.StatusUnauthorized, "invalid_token")
	assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")

	// Refresh rotates; presenting the old token again revokes the family,
	// so the newest token of the laptop fails too.
	lt2 := refresh(t, laptop, lt.Refresh)
	require.NotEqual(t, lt.Refresh, lt2.Refresh)
	assert.Equal(t, lt.SessionID, lt2.SessionID)
	laptop.hello(t, lt2.Access).expect(t, http.StatusOK, "")
	refreshExpect(t, laptop, lt.Refresh, http.StatusUnauthorized, "invalid_refresh_token")
	refreshExpect(t, laptop, lt2.Refresh, http.StatusUnauthorized, "invalid_refresh_token")
	refreshExpect(t, laptop, "not-a-token", http.StatusUnauthorized, "invalid_refresh_token")

	// Devices: the laptop signs in again and sees both sessions.
	lt3 := laptop.login(t, "alice", pw1)
	devs := devices(t, laptop, lt3.Access)
	require.Len(t, devs, 2)
	byID := map[string]map[string]any{}
	for _, d := range devs {
		byID[d["id"].(string)] = d
	}
	require.Contains(t, byID, lt3.SessionID)
	require.Contains(t, byID, pt.SessionID)
	assert.Equal(t, true, byID[lt3.SessionID]["current"])
	assert.Equal(t, false, byID[pt.SessionID]["current"])
	assert.Equal(t, uaLaptop, byID[lt3.SessionID]["user_agent"])
	assert.Equal(t, uaPhone, byID[pt.SessionID]["user_agent"])
	assert.Equal(t, "mobile", byID[pt.SessionID]["device_type"])
	assert.Equal(t, "127.0.0.1", byID[pt.SessionID]["ip_address"])

	// Revoke the phone from the laptop.
	laptop.do(t, "DELETE", "/api/v1/auth/devices/"+pt.SessionID, lt3.Access, nil).expect(t, http.StatusNoContent, "")
	laptop.do(t, "DELETE", "/api/v1/auth/devices/"+pt.SessionID, lt3.Access, nil).expect(t, http.StatusNotFound, "not_found")
	refreshExpect(t, phone, pt.Refresh, http.StatusUnauthorized, "invalid_refresh_token")
	require.Len(t, devices(t, laptop, lt3.Access), 1)

	// Logout ends one session, and may be repeated.
	laptop.do(t, "POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": lt3.Refresh}).expect(t, http.StatusNoContent, "")
	laptop.do(t, "POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": lt3.Refresh}).expect(t, http.StatusNoContent, "")
	refreshExpect(t, laptop, lt3.Refresh, http.StatusUnauthorized, "invalid_refresh_token")

	// Logout-all ends every session and every access token issued before.
	lt4 := laptop.login(t, "alice", pw1)
	pt2 := phone.login(t, "alice", pw1)
	laptop.do(t, "POST", "/api/v1/auth/logout-all", lt4.Access, nil).expect(t, http.StatusNoContent, "")
	laptop.hello(t, lt4.Access).expect(t, http.StatusUnauthorized, "invalid_token")
	phone.hello(t, pt2.Access).expect(t, http.StatusUnauthorized, "invalid_token")
	refreshExpect(t, phone, pt2.Refresh, http.StatusUnauthorized, "invalid_refresh_token")
	refreshExpect(t, laptop, lt4.Refresh, http.StatusUnauthorized, "invalid_refresh_token")

	// Forgot and reset: the same answer for a stranger; the code comes by
	// email; every session ends; the old password stops working.
	pt3 := phone.login(t, "alice", pw1)
	r = anon.do(t, "POST", "/api/v1/auth/forgot-password", "", map[string]string{"email": email})
	r.expect(t, http.StatusAccepted, "")
	stranger := anon.do(t, "POST", "/api/v1/auth/forgot-password", "", map[string]string{"email": "nobody@example.com"})
	assert.Equal(t, r.Status, stranger.Status)
	assert.Equal(t, r.Body, stranger.Body)
	resetCode := mb.code(t, email, subjectReset, 0)
	anon.do(t, "POST", "/api/v1/auth/reset-password", "", map[string]string{"email": email, "code": wrongCode(resetCode), "new_password": pw2}).
		expect(t, http.StatusBadRequest, "invalid_code")
	anon.do(t, "POST", "/api/v1/auth/reset-password", "", map[string]string{"email": email, "code": resetCode, "new_password": "weak"}).
		expect(t, http.StatusUnprocessableEntity, "validation_failed")
	anon.do(t, "POST", "/api/v1/auth/reset-password", "", map[string]string{"email": email, "code": resetCode, "new_password": pw2}).
		expect(t, http.StatusNoContent, "")
	anon.do(t, "POST", "/api/v1/auth/reset-password", "", map[string]string{"email": email, "code": resetCode, "new_password": pw3}).
		expect(t, http.StatusBadRequest, "invalid_code")
	phone.hello(t, pt3.Access).expect(t, http.StatusUnauthorized, "invalid_token")
	refreshExpect(t, phone, pt3.Refresh, http.StatusUnauthorized, "invalid_refresh_token")
	laptop.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": pw1}).
		expect(t, http.StatusUnauthorized, "invalid_credentials")

	// Change password: the caller's old access token fails, its session
	// stays (the refresh token gives a new access token), and other
	// sessions end.
	lt5 := laptop.login(t, "alice", pw2)
	pt4 := phone.login(t, "alice", pw2)
	laptop.do(t, "POST", "/api/v1/auth/change-password", lt5.Access, map[string]string{"current_password": pw1, "new_password": pw3}).
		expect(t, http.StatusUnauthorized, "invalid_password")
	laptop.do(t, "POST", "/api/v1/auth/change-password", lt5.Access, map[string]string{"current_password": pw2, "new_password": pw3}).
		expect(t, http.StatusNoContent, "")
	laptop.hello(t, lt5.Access).expect(t, http.StatusUnauthorized, "invalid_token")
	phone.hello(t, pt4.Access).expect(t, http.StatusUnauthorized, "invalid_token")
	refreshExpect(t, phone, pt4.Refresh, http.StatusUnauthorized, "invalid_refresh_token")
	lt6 := refresh(t, laptop, lt5.Refresh)
	laptop.hello(t, lt6.Access).expect(t, http.StatusOK, "")
	laptop.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": pw2}).
		expect(t, http.StatusUnauthorized, "invalid_credentials")
	pt5 := phone.login(t, "alice", pw3)
	phone.hello(t, pt5.Access).expect(t, http.StatusOK, "")

	// Resend-verification answers alike for an account and a stranger.
	anon.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "bob", "email": "bob@example.com", "password": pw1}).
		expect(t, http.StatusCreated, "")
	mb.wait(t, "bob@example.com", subjectVerify, 0)
	r = anon.do(t, "POST", "/api/v1/auth/resend-verification", "", map[string]string{"email": "bob@example.com"})
	r.expect(t, http.StatusAccepted, "")
	assert.Equal(t, r.Body, anon.do(t, "POST", "/api/v1/auth/resend-verification", "", map[string]string{"email": "nobody@example.com"}).Body)

	// A graceful stop sends the mails still queued before run returns.
	anon.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "carol", "email": "carol@example.com", "password": pw1}).
		expect(t, http.StatusCreated, "")
	require.NoError(t, ts.stop(t))
	msgs, _ := mb.snapshot()
	_, ok := find(msgs, "carol@example.com", subjectVerify, 0)
	assert.True(t, ok, "the queued verification mail was sent before run returned")

	log := ts.Logs.String()
	for _, secret := range []string{pw1, pw2, pw3, code, resetCode, lt.Refresh, lt.Access} {
		assert.NotContains(t, log, secret, "a secret in the log")
	}
}

// wrongCode returns a 6-digit code that differs from code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func refresh(tb testing.TB, c *client, refreshToken string) tokens {
	tb.Helper()
	r := c.do(tb, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refreshToken})
	r.expect(tb, http.StatusOK, "")
	m := r.object(tb)
	t := tokens{Access: m["access_token"].(string), Refresh: m["refresh_token"].(string)}
	t.SessionID, _ = claims(tb, t.Access)["sid"].(string)
	return t
}

func refreshExpect(tb testing.TB, c *client, refreshToken string, status int, code string) {
	tb.Helper()
	c.do(tb, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refreshToken}).expect(tb, status, code)
}

func devices(tb testing.TB, c *client, access string) []map[string]any {
	tb.Helper()
	r := c.do(tb, "GET", "/api/v1/auth/devices", access, nil)
	r.expect(tb, http.StatusOK, "")
	var out []map[string]any
	require.NoError(tb, json.Unmarshal(r.Body, &out))
	return out
}

// Basic mode: an account works at once, and the Complete-mode routes do not
// exist.
func TestBasicMode(t *testing.T) {
	ts := startServer(t, envOf(fastHashing, map[string]string{
		"AUTH_MODE":      "basic",
		"DATABASE_URL":   "memory",
		"JWT_SECRET_KEY": testSecret,
	}))
	c := ts.client("test-client/1.0")
	const pw = "Corr3ct-Horse-Battery!"

	r := c.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "dave", "email": "dave@example.com", "password": pw})
	r.expect(t, http.StatusCreated, "")
	assert.Equal(t, true, r.object(t)["is_active"])

	tok := c.login(t, "dave", pw)
	assert.Empty(t, tok.Refresh, "no refresh token in Basic mode")
	r = c.do(t, "GET", "/api/v1/users/me", tok.Access, nil)
	r.expect(t, http.StatusOK, "")
	assert.Equal(t, "dave", r.object(t)["username"])
	c.hello(t, tok.Access).expect(t, http.StatusOK, "")

	for _, route := range []struct{ method, path string }{
		{"POST", "/api/v1/auth/verify-email"},
		{"POST", "/api/v1/auth/resend-verification"},
		{"POST", "/api/v1/auth/refresh"},
		{"POST", "/api/v1/auth/logout"},
		{"POST", "/api/v1/auth/logout-all"},
		{"POST", "/api/v1/auth/forgot-password"},
		{"POST", "/api/v1/auth/reset-password"},
		{"POST", "/api/v1/auth/change-password"},
		{"GET", "/api/v1/auth/devices"},
		{"DELETE", "/api/v1/auth/devices/x"},
	} {
		t.Run(route.method+" "+route.path, func(t *testing.T) {
			c.do(t, route.method, route.path, tok.Access, map[string]string{}).expect(t, http.StatusNotFound, "not_found")
		})
	}
	require.NoError(t, ts.stop(t))
	assert.Contains(t, ts.Logs.String(), "mode=basic store=memory mailer=log")
}

// With REDIS_URL the limits are counted in Redis, so two instances share
// them: failed logins on both add up.
func TestRedisSharedLimits(t *testing.T) {
	redisURL := os.Getenv("FORGEAUTH_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set FORGEAUTH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run against Redis")
	}
	env := envOf(fastHashing, map[string]string{
		"AUTH_MODE":                  "basic",
		"DATABASE_URL":               "sqlite:" + filepath.Join(t.TempDir(), "shared.db"),
		"JWT_SECRET_KEY":             testSecret,
		"REDIS_URL":                  redisURL,
		"AUTH_LOGIN_MAX_FAILURES":    "3",
		"AUTH_RATE_LIMIT_PER_MINUTE": "1000",
	})
	one := startServer(t, env)
	a := one.client("instance-one")
	const pw = "Corr3ct-Horse-Battery!"
	// A name of its own, so that runs sharing one Redis do not meet.
	name := "erin" + strconv.FormatInt(time.Now().UnixNano(), 36)
	r := a.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": name, "email": name + "@example.com", "password": pw})
	r.expect(t, http.StatusCreated, "")

	opt, err := redis.ParseURL(redisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	// The limits are keyed by a digest of the name typed (and the client
	// network), never by the name or the account.
	failureKeys := func() []string {
		keys, err := rdb.Keys(context.Background(), "forgeauth:login-failures*").Result()
		require.NoError(t, err)
		return keys
	}
	before := len(failureKeys())
	t.Cleanup(func() { _ = rdb.Close() })

	two := startServer(t, env)
	b := two.client("instance-two")
	wrong := map[string]string{"username": name, "password": "Wrong-Passw0rd!"}
	a.do(t, "POST", "/api/v1/auth/login", "", wrong).expect(t, http.StatusUnauthorized, "invalid_credentials")
	a.do(t, "POST", "/api/v1/auth/login", "", wrong).expect(t, http.StatusUnauthorized, "invalid_credentials")
	b.do(t, "POST", "/api/v1/auth/login", "", wrong).expect(t, http.StatusUnauthorized, "invalid_credentials")

	// The third failure, counted by the second instance, reaches the limit
	// of both: even the right password is refused now.
	r = b.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": pw})
	r.expect(t, http.StatusTooManyRequests, "rate_limited")
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	a.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": pw}).
		expect(t, http.StatusTooManyRequests, "rate_limited")

	keys := failureKeys()
	assert.Greater(t, len(keys), before, "the failure counts are Redis keys")
	for _, k := range keys {
		assert.NotContains(t, k, name, "no name in a key")
	}
	assert.Contains(t, one.Logs.String(), "rate_limits=redis")
}
