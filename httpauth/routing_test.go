package httpauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

func TestRouting(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	tests := []struct {
		method, path string
		wantStatus   int
		wantAllow    string
	}{
		{"GET", "/auth/nope", 404, ""},
		{"GET", "", 404, ""},
		{"GET", "/", 404, ""},
		{"POST", "/users/me/x", 404, ""},
		{"GET", "/auth/register", 405, "POST"},
		{"PUT", "/auth/login", 405, "POST"},
		{"POST", "/users/me", 405, "GET, HEAD"},
		{"DELETE", "/auth/devices", 405, "GET, HEAD"},
		{"PATCH", "/auth/devices/abc", 405, "DELETE"},
		{"OPTIONS", "/auth/refresh", 405, "POST"},
		{"POST", "/openapi.json", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := f.do(t, req{method: tt.method, path: prefix + tt.path})
			if tt.wantStatus == 404 {
				res.problem(t, http.StatusNotFound, "not_found")
				return
			}
			res.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
			assert.Equal(t, tt.wantAllow, res.header.Get("Allow"))
			assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
		})
	}

	t.Run("HEAD users/me", func(t *testing.T) {
		res := f.do(t, req{method: "HEAD", path: prefix + "/users/me"})
		assert.Equal(t, http.StatusUnauthorized, res.status)
	})

	t.Run("basic mode: complete paths are 404 whatever the method", func(t *testing.T) {
		b := newFixture(t, fixtureOpts{basic: true})
		b.do(t, req{method: "GET", path: prefix + "/auth/refresh"}).problem(t, http.StatusNotFound, "not_found")
		b.do(t, req{method: "GET", path: prefix + "/auth/devices"}).problem(t, http.StatusNotFound, "not_found")
	})
}

// recordingMux is the smallest Mux: it records the patterns, the way a
// third-party router (chi) would receive them.
type recordingMux struct {
	patterns []string
	handlers []http.Handler
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.handlers = append(m.handlers, h)
}

func TestMountPatterns(t *testing.T) {
	for _, tt := range []struct {
		name  string
		basic bool
		want  []string
	}{
		{"complete", false, []string{
			"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/users/me",
			"/api/v1/auth/verify-email", "/api/v1/auth/resend-verification", "/api/v1/auth/refresh",
			"/api/v1/auth/logout", "/api/v1/auth/logout-all", "/api/v1/auth/forgot-password",
			"/api/v1/auth/reset-password", "/api/v1/auth/change-password", "/api/v1/auth/devices",
			"/api/v1/auth/devices/{id}",
			"/api/v1/auth/oauth/providers", "/api/v1/auth/oauth/{provider}/authorize", "/api/v1/auth/oauth/{provider}/callback",
			"/api/v1/auth/oauth/exchange", "/api/v1/auth/oauth/{provider}/link", "/api/v1/auth/identities", "/api/v1/auth/identities/{id}",
			"/api/v1/openapi.json", "/api/v1/", "/api/v1/*",
		}},
		{"basic", true, []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/users/me", "/api/v1/openapi.json", "/api/v1/", "/api/v1/*"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{basic: tt.basic})
			var m recordingMux
			f.h.Mount(&m)
			assert.Equal(t, tt.want, m.patterns)
			for i, p := range m.patterns {
				assert.NotContains(t, p, " ", "method-less patterns: the Handler answers 405 itself")
				assert.Same(t, f.h, m.handlers[i])
			}
		})
	}
}

func TestMountOnServeMux(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	mux := http.NewServeMux()
	f.h.Mount(mux)
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })

	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) *http.Response {
		resp, err := srv.Client().Get(srv.URL + path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	assert.Equal(t, http.StatusOK, get("/hello").StatusCode, "the application's routes still work")
	assert.Equal(t, http.StatusOK, get("/api/v1/openapi.json").StatusCode)
	resp := get("/api/v1/users/me")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "Bearer", resp.Header.Get("WWW-Authenticate"))
	resp = get("/api/v1/unknown")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	resp = get("/api/v1/auth/login")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))

	// A device id reaches the handler through both muxes.
	r, err := http.NewRequest("DELETE", srv.URL+"/api/v1/auth/devices/abc", nil)
	require.NoError(t, err)
	resp, err = srv.Client().Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestPrefix(t *testing.T) {
	tests := []struct {
		name, prefix, wantBase string
	}{
		{"custom", "/auth-api/", "/auth-api"},
		{"nested", "/svc/v2", "/svc/v2"},
		{"root", "/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{opts: httpauth.Options{Prefix: tt.prefix}})
			wantServer := tt.wantBase
			if wantServer == "" {
				wantServer = "/"
			}
			assert.Equal(t, wantServer, f.doc.Servers[0].URL)
			res := f.do(t, req{method: "POST", path: tt.wantBase + "/auth/login", body: `{"username":"x","password":"y"}`})
			res.problem(t, http.StatusUnauthorized, "invalid_credentials")
			if tt.wantBase != "" {
				f.do(t, req{method: "POST", path: "/api/v1/auth/login", body: `{"username":"x","password":"y"}`}).problem(t, http.StatusNotFound, "not_found")
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	svc, err := auth.New(auth.Config{
		Store:    memstore.New(),
		Mailer:   &mailer.Recorder{},
		Token:    token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
		Password: password.HasherConfig{Params: testParams},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Shutdown(context.Background()) })

	tests := []struct {
		name string
		svc  *auth.Service
		opts httpauth.Options
	}{
		{"nil service", nil, httpauth.Options{}},
		{"relative prefix", svc, httpauth.Options{Prefix: "api"}},
		{"space in prefix", svc, httpauth.Options{Prefix: "/a b"}},
		{"wildcard in prefix", svc, httpauth.Options{Prefix: "/{x}"}},
		{"empty segment", svc, httpauth.Options{Prefix: "/a//b"}},
		{"dot segment", svc, httpauth.Options{Prefix: "/a/../b"}},
		{"double slash", svc, httpauth.Options{Prefix: "//"}},
		{"negative body limit", svc, httpauth.Options{MaxBodyBytes: -1}},
		{"negative IPv6 prefix length", svc, httpauth.Options{IPv6PrefixLen: -1}},
		{"IPv6 prefix length over 128", svc, httpauth.Options{IPv6PrefixLen: 129}},
		{"trusted origin not an origin", svc, httpauth.Options{TrustedOrigins: []string{"app.example.com"}}},
		{"trusted origin with a path", svc, httpauth.Options{TrustedOrigins: []string{"https://app.example.com/login"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := httpauth.New(tt.svc, tt.opts)
			assert.Nil(t, h)
			assert.True(t, errors.Is(err, httpauth.ErrInvalidOptions), "%v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "httpauth: "))
		})
	}

	for _, opts := range []httpauth.Options{{}, {IPv6PrefixLen: 1}, {IPv6PrefixLen: 128}, {TrustedOrigins: []string{"https://app.example.com", "http://localhost:3000"}}} {
		h, err := httpauth.New(svc, opts)
		require.NoError(t, err)
		require.NotNil(t, h)
	}
}

// TestBodyLimitBoundary: a body of exactly the limit is read; one byte more
// is 413.
func TestBodyLimitBoundary(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	build := func(size int) string {
		head, tail := `{"username":"`, `","password":"x"}`
		return head + strings.Repeat("a", size-len(head)-len(tail)) + tail
	}
	body := build(httpauth.DefaultMaxBodyBytes)
	require.Len(t, body, 16<<10)
	res := f.post(t, "/auth/login", body)
	assert.NotEqual(t, http.StatusRequestEntityTooLarge, res.status)
	f.post(t, "/auth/login", build(httpauth.DefaultMaxBodyBytes+1)).problem(t, http.StatusRequestEntityTooLarge, "payload_too_large")
}

// TestOpenAPICheckCatchesDrift: the document check used by every test
// refuses answers the document does not allow.
func TestOpenAPICheckCatchesDrift(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	user := `{"id":"1","username":"u","email":"u@example.com","is_active":true,"is_verified":true,"is_superuser":false,` +
		`"created_at":"2026-03-04T05:06:07Z","updated_at":"2026-03-04T05:06:07Z","last_login_at":null}`
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	problemHdr := http.Header{"Content-Type": {"application/problem+json"}}
	me := httptest.NewRequest("GET", prefix+"/users/me", nil)
	me.Header.Set("Authorization", "Bearer x")
	tests := []struct {
		name  string
		res   result
		valid bool
	}{
		{"valid user", result{status: 200, header: jsonHdr, body: []byte(user)}, true},
		{"hash in the user", result{status: 200, header: jsonHdr, body: []byte(strings.Replace(user, `"id"`, `"hashed_password":"$argon2id$","id"`, 1))}, false},
		{"time not RFC 3339", result{status: 200, header: jsonHdr, body: []byte(strings.Replace(user, `"2026-03-04T05:06:07Z"`, `"yesterday"`, 1))}, false},
		{"undocumented status", result{status: 418, header: problemHdr, body: []byte(`{}`)}, false},
		{"401 without challenge", result{status: 401, header: problemHdr, body: []byte(`{"type":"https://forgeauth.dev/problems/invalid_token","title":"Invalid token","status":401,"detail":"d","code":"invalid_token"}`)}, false},
		{"401 with another code", result{status: 401, header: http.Header{"Content-Type": {"application/problem+json"}, "Www-Authenticate": {"Bearer"}}, body: []byte(`{"type":"https://forgeauth.dev/problems/invalid_credentials","title":"t","status":401,"detail":"d","code":"invalid_credentials"}`)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := openAPIError(f.doc, me, tt.res)
			if tt.valid {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}
