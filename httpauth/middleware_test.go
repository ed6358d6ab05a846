package httpauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
)

// appMux is an application's own mux, its routes behind the middleware.
func appMux(h *httpauth.Handler) *http.ServeMux {
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if u, ok := httpauth.UserFrom(r.Context()); ok {
			who = "user " + u.Username
		} else if c, ok := httpauth.ClaimsFrom(r.Context()); ok {
			who = "claims " + c.Subject
		}
		fmt.Fprint(w, who)
	})
	mux := http.NewServeMux()
	h.Mount(mux)
	mux.Handle("GET /private", h.RequireUser(show))
	mux.Handle("GET /optional", h.OptionalUser(show))
	mux.Handle("GET /claims", h.RequireClaims(show))
	mux.Handle("GET /admin", h.RequireSuperuser(show))
	return mux
}

// serve sends one request to an http.Handler.
func serve(h http.Handler, method, path string, header http.Header) result {
	r := httptest.NewRequest(method, path, nil)
	for k, vs := range header {
		r.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestBearerParsing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "mia")
	tok := f.login(t, "mia").AccessToken
	app := appMux(f.h)

	tests := []struct {
		name      string
		header    http.Header
		path      string
		wantOK    bool
		challenge string // WWW-Authenticate on failure
	}{
		{"valid", bearer(tok), "/private", true, ""},
		{"lower-case scheme", http.Header{"Authorization": {"bearer " + tok}}, "/private", true, ""},
		{"upper-case scheme", http.Header{"Authorization": {"BEARER " + tok}}, "/private", true, ""},
		{"several spaces", http.Header{"Authorization": {"Bearer   " + tok}}, "/private", true, ""},
		{"no header", nil, "/private", false, `Bearer`},
		{"token in the query string only", nil, "/private?access_token=" + tok, false, `Bearer`},
		{"empty header", http.Header{"Authorization": {""}}, "/private", false, `Bearer error="invalid_token"`},
		{"scheme alone", http.Header{"Authorization": {"Bearer"}}, "/private", false, `Bearer error="invalid_token"`},
		{"scheme and space", http.Header{"Authorization": {"Bearer "}}, "/private", false, `Bearer error="invalid_token"`},
		{"basic scheme", http.Header{"Authorization": {"Basic bWlhOnB3"}}, "/private", false, `Bearer error="invalid_token"`},
		{"other scheme", http.Header{"Authorization": {"Token " + tok}}, "/private", false, `Bearer error="invalid_token"`},
		{"token with a space", http.Header{"Authorization": {"Bearer " + tok + " x"}}, "/private", false, `Bearer error="invalid_token"`},
		{"token with a bad character", http.Header{"Authorization": {"Bearer " + tok + "!"}}, "/private", false, `Bearer error="invalid_token"`},
		{"only padding", http.Header{"Authorization": {"Bearer ==="}}, "/private", false, `Bearer error="invalid_token"`},
		{"two headers", http.Header{"Authorization": {"Bearer " + tok, "Bearer " + tok}}, "/private", false, `Bearer error="invalid_token"`},
		{"tampered", bearer(tok[:len(tok)-2] + "xx"), "/private", false, `Bearer error="invalid_token"`},
		{"header at the limit", bearer(strings.Repeat("a", httpauth.MaxAuthorizationBytes-len("Bearer "))), "/private", false, `Bearer error="invalid_token"`},
		{"header over the limit", bearer(strings.Repeat("a", httpauth.MaxAuthorizationBytes)), "/private", false, `Bearer error="invalid_token"`},
		{"claims valid", bearer(tok), "/claims", true, ""},
		{"claims none", nil, "/claims", false, `Bearer`},
		{"claims bad", bearer("x.y.z"), "/claims", false, `Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serve(app, "GET", tt.path, tt.header)
			if tt.wantOK {
				require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
				return
			}
			res.problem(t, http.StatusUnauthorized, "invalid_token")
			assert.Equal(t, tt.challenge, res.header.Get("WWW-Authenticate"))
			assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
			assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
		})
	}
}

// TestHugeBearer: "Bearer " and a megabyte of dots is refused by the header
// bound before any parsing, so it allocates nothing near its size.
func TestHugeBearer(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	app := appMux(f.h)
	r := httptest.NewRequest("GET", "/private", nil)
	r.Header.Set("Authorization", "Bearer "+strings.Repeat(".", 1<<20))

	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, r)
	res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	res.problem(t, http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"))

	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		app.ServeHTTP(httptest.NewRecorder(), r)
	}
	runtime.ReadMemStats(&after)
	perRun := (after.TotalAlloc - before.TotalAlloc) / runs
	assert.Less(t, perRun, uint64(64<<10), "a 1 MiB header made %d bytes of garbage per request", perRun)
}

func TestRequireUserAndClaims(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "noah")
	tok := f.login(t, "noah").AccessToken
	app := appMux(f.h)
	ctx := context.Background()

	assert.Equal(t, "user noah", string(serve(app, "GET", "/private", bearer(tok)).body))
	assert.Equal(t, "claims noah", string(serve(app, "GET", "/claims", bearer(tok)).body), "RequireClaims sets no user")

	// The store is down: RequireUser fails closed, RequireClaims does not
	// need the store.
	f.store.setFault("UserByID", fmt.Errorf("%w: connection reset", store.ErrUnavailable))
	res := serve(app, "GET", "/private", bearer(tok))
	res.problem(t, http.StatusServiceUnavailable, "unavailable")
	assert.Equal(t, "1", res.header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, serve(app, "GET", "/claims", bearer(tok)).status)
	serve(app, "GET", "/optional", bearer(tok)).problem(t, http.StatusServiceUnavailable, "unavailable")
	serve(app, "GET", "/admin", bearer(tok)).problem(t, http.StatusServiceUnavailable, "unavailable")
	f.store.setFault("UserByID", nil)

	// A deleted user: RequireUser refuses at once; RequireClaims accepts
	// the token until it expires (its documented trade-off).
	u, err := f.store.UserByUsername(ctx, "noah")
	require.NoError(t, err)
	require.NoError(t, f.store.DeleteUser(ctx, u.ID))
	serve(app, "GET", "/private", bearer(tok)).problem(t, http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, http.StatusOK, serve(app, "GET", "/claims", bearer(tok)).status)

	// An expired token fails both.
	f.clock.Advance(31 * time.Minute)
	serve(app, "GET", "/claims", bearer(tok)).problem(t, http.StatusUnauthorized, "invalid_token")
	serve(app, "GET", "/private", bearer(tok)).problem(t, http.StatusUnauthorized, "invalid_token")
}

func TestOptionalUser(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "olga")
	tok := f.login(t, "olga").AccessToken
	app := appMux(f.h)

	res := serve(app, "GET", "/optional", nil)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "anonymous", string(res.body))
	assert.Equal(t, "user olga", string(serve(app, "GET", "/optional", bearer(tok)).body))

	// A token that is present but bad is refused, not served anonymously.
	res = serve(app, "GET", "/optional", bearer("bad.token.here"))
	res.problem(t, http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"))
	serve(app, "GET", "/optional", http.Header{"Authorization": {"Basic eDp5"}}).problem(t, http.StatusUnauthorized, "invalid_token")
}

func TestRequireSuperuser(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "pat")
	app := appMux(f.h)

	// A plain user is forbidden.
	serve(app, "GET", "/admin", bearer(f.login(t, "pat").AccessToken)).problem(t, http.StatusForbidden, "forbidden")
	serve(app, "GET", "/admin", nil).problem(t, http.StatusUnauthorized, "invalid_token")

	// A superuser (made in the store: there is no API for it) passes.
	hash, err := password.Hash(strongPW, testParams, nil)
	require.NoError(t, err)
	now := f.clock.Now()
	require.NoError(t, f.store.CreateUser(context.Background(), store.User{
		ID: "root-id", Username: "root", Email: "root@example.com", HashedPassword: hash,
		IsActive: true, IsVerified: true, IsSuperuser: true, CreatedAt: now, UpdatedAt: now,
	}))
	res := serve(app, "GET", "/admin", bearer(f.login(t, "root").AccessToken))
	assert.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, "user root", string(res.body))
	var me userBody
	f.do(t, req{method: "GET", path: prefix + "/users/me", bearer: f.login(t, "root").AccessToken}).json(t, http.StatusOK, &me)
	assert.True(t, me.IsSuperuser)
}

func TestContextAccessors(t *testing.T) {
	_, ok := httpauth.UserFrom(context.Background())
	assert.False(t, ok)
	_, ok = httpauth.ClaimsFrom(context.Background())
	assert.False(t, ok)
}
