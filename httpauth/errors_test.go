package httpauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/store"
)

// fakeLimiter answers what it is told and counts the keys it saw.
type fakeLimiter struct {
	mu   sync.Mutex
	res  ratelimit.Result
	err  error
	keys []string
}

func (l *fakeLimiter) Allow(_ context.Context, key string) (ratelimit.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, key)
	return l.res, l.err
}

func (l *fakeLimiter) Peek(context.Context, string) (ratelimit.Result, error) { return l.res, l.err }
func (l *fakeLimiter) Reset(context.Context, string) error                    { return l.err }
func (l *fakeLimiter) Refund(context.Context, string) error                   { return l.err }

func TestErrorStatuses(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	alice := f.verifiedUser(t, "alice")
	tok := f.login(t, "alice")
	ctx := context.Background()

	t.Run("400 invalid_code", func(t *testing.T) {
		f.register(t, "bruno")
		code := f.nextCode(t, "bruno@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		f.post(t, "/auth/verify-email", `{"email":"bruno@example.com","code":"`+wrong+`"}`).problem(t, http.StatusBadRequest, "invalid_code")
		f.post(t, "/auth/verify-email", `{"email":"nobody@example.com","code":"123456"}`).problem(t, http.StatusBadRequest, "invalid_code")
		f.post(t, "/auth/reset-password", `{"email":"alice@example.com","code":"123456","new_password":"`+otherStrongPW+`"}`).problem(t, http.StatusBadRequest, "invalid_code")
	})

	t.Run("401 invalid_credentials, one answer", func(t *testing.T) {
		wrongPW := f.post(t, "/auth/login", `{"username":"alice","password":"Wrong-Horse-7"}`)
		wrongPW.problem(t, http.StatusUnauthorized, "invalid_credentials")
		unknown := f.post(t, "/auth/login", `{"username":"nobody","password":"Wrong-Horse-7"}`)
		unknown.problem(t, http.StatusUnauthorized, "invalid_credentials")
		assert.Equal(t, string(wrongPW.body), string(unknown.body))
		assert.Empty(t, wrongPW.header.Get("WWW-Authenticate"), "a login failure is no bearer challenge")
	})

	t.Run("401 invalid_token", func(t *testing.T) {
		res := f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: "not.a.jwt"})
		res.problem(t, http.StatusUnauthorized, "invalid_token")
		assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"))
		// A refresh token is no access token.
		f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok.RefreshToken}).problem(t, http.StatusUnauthorized, "invalid_token")
	})

	t.Run("401 invalid_refresh_token", func(t *testing.T) {
		f.post(t, "/auth/refresh", `{"refresh_token":"garbage"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")
		f.post(t, "/auth/refresh", `{"refresh_token":"`+tok.AccessToken+`"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")
		f.post(t, "/auth/logout", `{"refresh_token":"garbage"}`).problem(t, http.StatusUnauthorized, "invalid_refresh_token")
	})

	t.Run("401 invalid_password", func(t *testing.T) {
		res := f.do(t, req{method: "POST", path: prefix + "/auth/change-password", bearer: tok.AccessToken,
			body: `{"current_password":"Wrong-Horse-7","new_password":"` + otherStrongPW + `"}`})
		res.problem(t, http.StatusUnauthorized, "invalid_password")
		assert.Empty(t, res.header.Get("WWW-Authenticate"))
	})

	t.Run("404 not_found device and route", func(t *testing.T) {
		f.do(t, req{method: "DELETE", path: prefix + "/auth/devices/no-such-device", bearer: tok.AccessToken}).problem(t, http.StatusNotFound, "not_found")
		f.do(t, req{method: "DELETE", path: prefix + "/auth/devices/" + strings.Repeat("x", 300), bearer: tok.AccessToken}).problem(t, http.StatusNotFound, "not_found")
		f.do(t, req{method: "GET", path: prefix + "/no/such/route"}).problem(t, http.StatusNotFound, "not_found")
	})

	t.Run("409 user_exists names the field", func(t *testing.T) {
		p := f.post(t, "/auth/register", `{"username":"ALICE","email":"new@example.com","password":"`+strongPW+`"}`).problem(t, http.StatusConflict, "user_exists")
		require.Len(t, p.Errors, 1)
		assert.Equal(t, "username", p.Errors[0].Field)
		p = f.post(t, "/auth/register", `{"username":"alice2","email":"Alice@Example.COM","password":"`+strongPW+`"}`).problem(t, http.StatusConflict, "user_exists")
		require.Len(t, p.Errors, 1)
		assert.Equal(t, "email", p.Errors[0].Field)
	})

	t.Run("422 validation_failed lists every rule", func(t *testing.T) {
		p := f.post(t, "/auth/register", `{"username":"weak","email":"weak@example.com","password":"abc"}`).problem(t, http.StatusUnprocessableEntity, "validation_failed")
		codes := map[string]bool{}
		for _, e := range p.Errors {
			assert.Equal(t, "password", e.Field)
			assert.NotEmpty(t, e.Message)
			codes[e.Code] = true
		}
		assert.True(t, codes["password_too_short"], "%v", p.Errors)
		assert.True(t, codes["password_no_upper"], "%v", p.Errors)
		assert.True(t, codes["password_no_digit"], "%v", p.Errors)
		assert.NotContains(t, p.Detail+fmt.Sprint(p.Errors), `"abc"`, "the value is not echoed")

		p = f.post(t, "/auth/register", `{"username":"mail","email":"not-an-email","password":"`+strongPW+`"}`).problem(t, http.StatusUnprocessableEntity, "validation_failed")
		require.NotEmpty(t, p.Errors)
		assert.Equal(t, "email", p.Errors[0].Field)
	})

	t.Run("403 inactive_user", func(t *testing.T) {
		f.verifiedUser(t, "ivan")
		ivan := f.login(t, "ivan")
		u, err := f.store.UserByUsername(ctx, "ivan")
		require.NoError(t, err)
		require.NoError(t, f.store.SetActive(ctx, u.ID, false, f.clock.Now()))
		f.post(t, "/auth/login", `{"username":"ivan","password":"`+strongPW+`"}`).problem(t, http.StatusForbidden, "inactive_user")
		f.post(t, "/auth/refresh", `{"refresh_token":"`+ivan.RefreshToken+`"}`).problem(t, http.StatusForbidden, "inactive_user")
		// A disabled user's access token stops working at once.
		f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: ivan.AccessToken}).problem(t, http.StatusUnauthorized, "invalid_token")
	})

	t.Run("500 internal leaks nothing", func(t *testing.T) {
		secret := "pq: SELECT secret FROM users WHERE hashed_password = '$argon2id$v=19$m=64'"
		f.store.setFault("CreateUser", errors.New(secret))
		defer f.store.setFault("CreateUser", nil)
		res := f.post(t, "/auth/register", `{"username":"leaky","email":"leaky@example.com","password":"`+strongPW+`"}`)
		p := res.problem(t, http.StatusInternalServerError, "internal")
		assert.Equal(t, "An internal error occurred.", p.Detail)
		for _, s := range []string{"SELECT", "secret", "argon2", "pq:", "auth:", "store"} {
			assert.NotContains(t, string(res.body), s)
		}
		assert.Contains(t, f.logs.String(), "SELECT secret", "the operator's log has the cause")
	})

	t.Run("503 unavailable fails closed", func(t *testing.T) {
		f.store.setFault("UserByID", fmt.Errorf("%w: dial tcp: connection refused", store.ErrUnavailable))
		defer f.store.setFault("UserByID", nil)
		res := f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken})
		p := res.problem(t, http.StatusServiceUnavailable, "unavailable")
		assert.Equal(t, "1", res.header.Get("Retry-After"))
		assert.NotContains(t, p.Detail, "dial")
		assert.NotContains(t, string(res.body), alice.ID)
	})

	t.Run("503 from a list", func(t *testing.T) {
		f.store.setFault("Sessions", fmt.Errorf("%w: broken pipe", store.ErrUnavailable))
		defer f.store.setFault("Sessions", nil)
		res := f.do(t, req{method: "GET", path: prefix + "/auth/devices", bearer: tok.AccessToken})
		res.problem(t, http.StatusServiceUnavailable, "unavailable")
		assert.Equal(t, "1", res.header.Get("Retry-After"))
	})

	t.Run("503 on the enumeration-safe routes and logout-all", func(t *testing.T) {
		f.store.setFault("UserByEmail", fmt.Errorf("%w: timeout", store.ErrUnavailable))
		f.store.setFault("RevokeAllSessions", fmt.Errorf("%w: timeout", store.ErrUnavailable))
		defer f.store.setFault("UserByEmail", nil)
		defer f.store.setFault("RevokeAllSessions", nil)
		for _, path := range []string{"/auth/resend-verification", "/auth/forgot-password"} {
			res := f.post(t, path, `{"email":"alice@example.com"}`)
			res.problem(t, http.StatusServiceUnavailable, "unavailable")
			assert.Equal(t, "1", res.header.Get("Retry-After"))
		}
		f.do(t, req{method: "POST", path: prefix + "/auth/logout-all", bearer: tok.AccessToken}).problem(t, http.StatusServiceUnavailable, "unavailable")
	})

	t.Run("429 rate_limited per account", func(t *testing.T) {
		f.verifiedUser(t, "judy")
		var last result
		for range 6 {
			last = f.post(t, "/auth/login", `{"username":"judy","password":"Wrong-Horse-7"}`)
		}
		last.problem(t, http.StatusTooManyRequests, "rate_limited")
		assert.NotEmpty(t, last.header.Get("Retry-After"))
	})
}

func TestIPLimit(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	mem, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 2, Window: time.Minute}, Now: clk.Now})
	require.NoError(t, err)
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{IPLimiter: mem}})
	body := `{"username":"nobody","password":"Wrong-Horse-7"}`
	for range 2 {
		f.post(t, "/auth/login", body).problem(t, http.StatusUnauthorized, "invalid_credentials")
	}
	res := f.post(t, "/auth/login", body)
	res.problem(t, http.StatusTooManyRequests, "rate_limited")
	assert.Equal(t, "30", res.header.Get("Retry-After"), "2 per minute: one more after 30 s")

	// Every auth endpoint counts; another client IP has its own budget.
	f.post(t, "/auth/forgot-password", `{"email":"a@example.com"}`).problem(t, http.StatusTooManyRequests, "rate_limited")
	f.do(t, req{method: "POST", path: prefix + "/auth/login", body: body, remoteAddr: "198.51.100.9:1"}).problem(t, http.StatusUnauthorized, "invalid_credentials")

	// users/me is not limited per IP.
	f.do(t, req{method: "GET", path: prefix + "/users/me"}).problem(t, http.StatusUnauthorized, "invalid_token")

	// The window slides.
	clk.Advance(30 * time.Second)
	f.post(t, "/auth/login", body).problem(t, http.StatusUnauthorized, "invalid_credentials")
}

func TestIPLimitKeysAndRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		res        ratelimit.Result
		err        error
		wantStatus int
		wantCode   string
		wantRetry  string
	}{
		{"allowed", ratelimit.Result{Allowed: true}, nil, http.StatusUnauthorized, "invalid_credentials", ""},
		{"denied, rounded up", ratelimit.Result{RetryAfter: 1500 * time.Millisecond}, nil, http.StatusTooManyRequests, "rate_limited", "2"},
		{"denied, under a second", ratelimit.Result{RetryAfter: time.Millisecond}, nil, http.StatusTooManyRequests, "rate_limited", "1"},
		{"denied, whole seconds", ratelimit.Result{RetryAfter: 7 * time.Second}, nil, http.StatusTooManyRequests, "rate_limited", "7"},
		{"denied, no delay given", ratelimit.Result{}, nil, http.StatusTooManyRequests, "rate_limited", "1"},
		{"denied, capped at a day", ratelimit.Result{RetryAfter: 1000 * time.Hour}, nil, http.StatusTooManyRequests, "rate_limited", "86400"},
		{"limiter down: fail closed", ratelimit.Result{}, errors.New("redis: connection refused"), http.StatusServiceUnavailable, "unavailable", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &fakeLimiter{res: tt.res, err: tt.err}
			f := newFixture(t, fixtureOpts{opts: httpauth.Options{
				IPLimiter:      l,
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			}})
			res := f.do(t, req{method: "POST", path: prefix + "/auth/login", body: `{"username":"x","password":"y"}`,
				remoteAddr: "10.0.0.1:1", header: http.Header{"X-Forwarded-For": {"203.0.113.5"}}})
			p := res.problem(t, tt.wantStatus, tt.wantCode)
			assert.Equal(t, tt.wantRetry, res.header.Get("Retry-After"))
			assert.NotContains(t, p.Detail, "redis")
			assert.Equal(t, []string{"httpauth:ip:203.0.113.5"}, l.keys, "keyed by the client IP behind the trusted proxy")
		})
	}
}

// TestIPLimitIPv6Network: the addresses of one IPv6 /64 share one budget,
// so a client cannot escape the limit by rotating through its addresses;
// another /64 has its own; IPv4-mapped addresses count as IPv4.
func TestIPLimitIPv6Network(t *testing.T) {
	body := `{"username":"nobody","password":"Wrong-Horse-7"}`
	login := func(f *fixture, t *testing.T, remote string) result {
		return f.do(t, req{method: "POST", path: prefix + "/auth/login", body: body, remoteAddr: remote})
	}
	newLimited := func(t *testing.T, bits int) *fixture {
		clk := testutil.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
		mem, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: ratelimit.Rule{Limit: 2, Window: time.Minute}, Now: clk.Now})
		require.NoError(t, err)
		return newFixture(t, fixtureOpts{opts: httpauth.Options{IPLimiter: mem, IPv6PrefixLen: bits}})
	}

	t.Run("default: one /64 is one client", func(t *testing.T) {
		f := newLimited(t, 0)
		login(f, t, "[2001:db8:1:2::1]:1000").problem(t, http.StatusUnauthorized, "invalid_credentials")
		login(f, t, "[2001:db8:1:2::2]:1000").problem(t, http.StatusUnauthorized, "invalid_credentials")
		login(f, t, "[2001:db8:1:2:ffff:ffff:ffff:ffff]:1000").problem(t, http.StatusTooManyRequests, "rate_limited")
		login(f, t, "[2001:db8:1:3::1]:1000").problem(t, http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("a shorter prefix joins more addresses", func(t *testing.T) {
		f := newLimited(t, 48)
		login(f, t, "[2001:db8:1:2::1]:1000").problem(t, http.StatusUnauthorized, "invalid_credentials")
		login(f, t, "[2001:db8:1:3::1]:1000").problem(t, http.StatusUnauthorized, "invalid_credentials")
		login(f, t, "[2001:db8:1:4::1]:1000").problem(t, http.StatusTooManyRequests, "rate_limited")
		login(f, t, "[2001:db8:2::1]:1000").problem(t, http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("128: each address on its own", func(t *testing.T) {
		f := newLimited(t, 128)
		for _, remote := range []string{"[2001:db8:1:2::1]:1", "[2001:db8:1:2::2]:1", "[2001:db8:1:2::3]:1"} {
			login(f, t, remote).problem(t, http.StatusUnauthorized, "invalid_credentials")
		}
	})
	t.Run("ipv4-mapped counts with its IPv4 address", func(t *testing.T) {
		f := newLimited(t, 0)
		login(f, t, "203.0.113.5:1").problem(t, http.StatusUnauthorized, "invalid_credentials")
		login(f, t, "[::ffff:203.0.113.5]:2").problem(t, http.StatusUnauthorized, "invalid_credentials")
		login(f, t, "203.0.113.5:3").problem(t, http.StatusTooManyRequests, "rate_limited")
		login(f, t, "203.0.113.6:1").problem(t, http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestIPLimitKeys: the key the limiter is given for each kind of client.
func TestIPLimitKeys(t *testing.T) {
	tests := []struct {
		name, remote, xff string
		want              string
	}{
		{"ipv4", "203.0.113.5:1", "", "httpauth:ip:203.0.113.5"},
		{"ipv6 peer: its /64", "[2001:db8:1:2:3:4:5:6]:1", "", "httpauth:ip:2001:db8:1:2::/64"},
		{"ipv6 behind a trusted proxy", "10.0.0.1:1", "2001:db8:9:8:7:6:5:4", "httpauth:ip:2001:db8:9:8::/64"},
		{"ipv4-mapped peer", "[::ffff:203.0.113.5]:1", "", "httpauth:ip:203.0.113.5"},
		{"no IP address", "@", "", "httpauth:ip:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &fakeLimiter{res: ratelimit.Result{Allowed: true}}
			f := newFixture(t, fixtureOpts{opts: httpauth.Options{
				IPLimiter:      l,
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			}})
			r := req{method: "POST", path: prefix + "/auth/login", body: `{"username":"x","password":"y"}`, remoteAddr: tt.remote}
			if tt.xff != "" {
				r.header = http.Header{"X-Forwarded-For": {tt.xff}}
			}
			f.do(t, r).problem(t, http.StatusUnauthorized, "invalid_credentials")
			assert.Equal(t, []string{tt.want}, l.keys)
		})
	}
}

func TestDisableIPLimit(t *testing.T) {
	l := &fakeLimiter{res: ratelimit.Result{RetryAfter: time.Second}}
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{IPLimiter: l, DisableIPLimit: true}})
	f.post(t, "/auth/login", `{"username":"x","password":"y"}`).problem(t, http.StatusUnauthorized, "invalid_credentials")
	assert.Empty(t, l.keys)
}

// TestUnavailableFromService: a store that cannot be reached during a flow
// is a 503 with Retry-After.
func TestUnavailableFromService(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.store.setFault("UserByUsername", fmt.Errorf("%w: too many connections", store.ErrUnavailable))
	res := f.post(t, "/auth/login", `{"username":"alice","password":"`+strongPW+`"}`)
	res.problem(t, http.StatusServiceUnavailable, "unavailable")
	assert.Equal(t, "1", res.header.Get("Retry-After"))
}

// TestClientGone: a request whose client went away is not logged as an
// internal error.
func TestClientGone(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "gone")
	tok := f.login(t, "gone")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := f.newRequest(req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken}).WithContext(ctx)
	rec := httptestRecorder()
	f.h.ServeHTTP(rec, r)
	res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	res.problem(t, http.StatusServiceUnavailable, "unavailable")
	assert.NotContains(t, f.logs.String(), "internal error")
}

// TestInternalInMiddleware: an unexpected store error behind RequireUser is
// a generic 500, never the cause.
func TestInternalInMiddleware(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "mid")
	tok := f.login(t, "mid")
	f.store.setFault("UserByID", errors.New("sqlite: SELECT secret FROM users: disk I/O error"))
	res := serve(appMux(f.h), "GET", "/private", bearer(tok.AccessToken))
	res.problem(t, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(res.body), "SELECT")
	assert.NotContains(t, string(res.body), "sqlite")
	assert.Empty(t, res.header.Get("WWW-Authenticate"))
	assert.Contains(t, f.logs.String(), "httpauth: internal error")
}

// TestDefaultIPLimit: with no limiter given, 60 requests per minute per IP
// pass and the burst after them is refused.
func TestDefaultIPLimit(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	limited := 0
	for i := range 70 {
		res := f.post(t, "/auth/logout", `{}`)
		if i < 60 {
			res.problem(t, http.StatusBadRequest, "bad_request")
			continue
		}
		if res.status == http.StatusTooManyRequests {
			res.problem(t, http.StatusTooManyRequests, "rate_limited")
			limited++
		}
	}
	assert.Positive(t, limited, "the 61st to 70th requests of one burst are refused")
}
