package httpauth_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/httpauth"
)

// hello is an application route beside the endpoints.
func hello(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) }

// TestMountUnderRouters: every route answers, through the router, the way
// it answers on the Handler itself, wherever the router hands the request
// on with the whole path (chi) or without a leading part of it
// (http.StripPrefix); the application's routes beside them still work.
func TestMountUnderRouters(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, h *httpauth.Handler) http.Handler
	}{
		{"chi Route, MountAt the prefix", func(t *testing.T, h *httpauth.Handler) http.Handler {
			r := chi.NewRouter()
			r.Route("/api/v1", func(sub chi.Router) {
				require.NoError(t, h.MountAt(sub, "/api/v1"))
				sub.Get("/hello", hello)
			})
			return r
		}},
		{"chi Route, MountAt a shorter path", func(t *testing.T, h *httpauth.Handler) http.Handler {
			r := chi.NewRouter()
			r.Route("/api", func(sub chi.Router) {
				require.NoError(t, h.MountAt(sub, "/api"))
				sub.Get("/v1/hello", hello)
			})
			return r
		}},
		{"chi Mount of the Handler", func(t *testing.T, h *httpauth.Handler) http.Handler {
			r := chi.NewRouter()
			r.Mount("/api/v1", h)
			r.Get("/api/v1/hello", hello)
			return r
		}},
		{"chi Mount of a sub-router", func(t *testing.T, h *httpauth.Handler) http.Handler {
			sub := chi.NewRouter()
			require.NoError(t, h.MountAt(sub, "/api/v1"))
			sub.Get("/hello", hello)
			r := chi.NewRouter()
			r.Mount("/api/v1", sub)
			return r
		}},
		{"chi root, Mount", func(t *testing.T, h *httpauth.Handler) http.Handler {
			r := chi.NewRouter()
			h.Mount(r)
			r.Get("/api/v1/hello", hello)
			return r
		}},
		{"StripPrefix of the Handler", func(t *testing.T, h *httpauth.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/api/v1/", http.StripPrefix("/api/v1", h))
			mux.HandleFunc("GET /api/v1/hello", hello)
			return mux
		}},
		{"StripPrefix of a ServeMux, MountAt the prefix", func(t *testing.T, h *httpauth.Handler) http.Handler {
			inner := http.NewServeMux()
			require.NoError(t, h.MountAt(inner, "/api/v1"))
			inner.HandleFunc("GET /hello", hello)
			mux := http.NewServeMux()
			mux.Handle("/api/v1/", http.StripPrefix("/api/v1", inner))
			return mux
		}},
		{"StripPrefix of a ServeMux, MountAt a shorter path", func(t *testing.T, h *httpauth.Handler) http.Handler {
			inner := http.NewServeMux()
			require.NoError(t, h.MountAt(inner, "/api/"))
			inner.HandleFunc("GET /v1/hello", hello)
			mux := http.NewServeMux()
			mux.Handle("/api/", http.StripPrefix("/api", inner))
			return mux
		}},
		{"StripPrefix of a chi sub-router", func(t *testing.T, h *httpauth.Handler) http.Handler {
			sub := chi.NewRouter()
			require.NoError(t, h.MountAt(sub, "/api/v1"))
			sub.Get("/hello", hello)
			mux := http.NewServeMux()
			mux.Handle("/api/v1/", http.StripPrefix("/api/v1", sub))
			return mux
		}},
		{"ServeMux root, MountAt /", func(t *testing.T, h *httpauth.Handler) http.Handler {
			mux := http.NewServeMux()
			require.NoError(t, h.MountAt(mux, "/"))
			mux.HandleFunc("GET /api/v1/hello", hello)
			return mux
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}})
			exerciseRoutes(t, f, tt.build(t, f.h))
		})
	}
}

// exerciseRoutes sends requests of every kind through router and checks
// each answer, against the OpenAPI document too.
func exerciseRoutes(t *testing.T, f *fixture, router http.Handler) {
	t.Helper()
	send := func(r req) result {
		t.Helper()
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, f.newRequest(r))
		res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		checkOpenAPI(t, f.doc, f.newRequest(r), res)
		return res
	}

	var u userBody
	send(req{method: "POST", path: prefix + "/auth/register", body: `{"username":"routed","email":"routed@example.com","password":"` + strongPW + `"}`}).
		json(t, http.StatusCreated, &u)
	assert.Equal(t, "routed", u.Username)
	send(req{method: "POST", path: prefix + "/auth/verify-email", body: `{"email":"routed@example.com","code":"` + f.nextCode(t, "routed@example.com") + `"}`}).
		json(t, http.StatusOK, &u)
	var tok tokenBody
	send(req{method: "POST", path: prefix + "/auth/login", body: `{"username":"routed","password":"` + strongPW + `"}`}).
		json(t, http.StatusOK, &tok)
	send(req{method: "GET", path: prefix + "/users/me", bearer: tok.AccessToken}).json(t, http.StatusOK, &u)
	assert.Equal(t, "routed", u.Username)
	send(req{method: "GET", path: prefix + "/users/me"}).problem(t, http.StatusUnauthorized, "invalid_token")

	var devs []deviceBody
	send(req{method: "GET", path: prefix + "/auth/devices", bearer: tok.AccessToken}).json(t, http.StatusOK, &devs)
	require.Len(t, devs, 1)
	send(req{method: "DELETE", path: prefix + "/auth/devices/no-such-device", bearer: tok.AccessToken}).problem(t, http.StatusNotFound, "not_found")
	send(req{method: "DELETE", path: prefix + "/auth/devices/" + devs[0].ID, bearer: tok.AccessToken}).expectNoContent(t)

	var doc map[string]any
	send(req{method: "GET", path: prefix + "/openapi.json"}).json(t, http.StatusOK, &doc)
	assert.Equal(t, prefix, doc["servers"].([]any)[0].(map[string]any)["url"])

	for _, path := range []string{"/nope", "/auth/nope", "/users/me/x", "/"} {
		send(req{method: "GET", path: prefix + path}).problem(t, http.StatusNotFound, "not_found")
	}
	res := send(req{method: "GET", path: prefix + "/auth/login"})
	res.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "POST", res.header.Get("Allow"))

	res = send(req{method: "GET", path: prefix + "/hello"})
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "hello", string(res.body))
}

// TestMountAtErrors: a mount that could never route a request to an
// endpoint is refused, with nothing registered.
func TestMountAtErrors(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		mux    bool
		base   string
		want   string
	}{
		{"nil router", "", false, "/api/v1", "nil router"},
		{"another version", "", true, "/api/v2", `the prefix "/api/v1" is not under "/api/v2"`},
		{"deeper than the prefix", "", true, "/api/v1/auth", `the prefix "/api/v1" is not under "/api/v1/auth"`},
		{"a prefix of a segment", "", true, "/ap", `the prefix "/api/v1" is not under "/ap"`},
		{"root prefix under a path", "/", true, "/api", `the prefix "/" is not under "/api"`},
		{"relative base", "", true, "api", `base "api" does not start with /`},
		{"base with a wildcard", "", true, "/{x}", "holds a character"},
		{"base not clean", "", true, "/a/../api", "is not a clean path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{opts: httpauth.Options{Prefix: tt.prefix}})
			var m *recordingMux
			var err error
			if tt.mux {
				m = &recordingMux{}
				err = f.h.MountAt(m, tt.base)
				assert.Empty(t, m.patterns, "nothing is registered")
			} else {
				err = f.h.MountAt(nil, tt.base)
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, httpauth.ErrInvalidMount), "%v", err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "httpauth: "))
		})
	}
}

// TestMountAtPatterns: the patterns are relative to the base.
func TestMountAtPatterns(t *testing.T) {
	f := newFixture(t, fixtureOpts{basic: true})
	for _, tt := range []struct {
		base string
		want []string
	}{
		{"/api/v1", []string{"/auth/register", "/auth/login", "/users/me", "/openapi.json", "/", "/*"}},
		{"/api/v1/", []string{"/auth/register", "/auth/login", "/users/me", "/openapi.json", "/", "/*"}},
		{"/api", []string{"/v1/auth/register", "/v1/auth/login", "/v1/users/me", "/v1/openapi.json", "/v1/", "/v1/*"}},
		{"/", []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/users/me", "/api/v1/openapi.json", "/api/v1/", "/api/v1/*"}},
		{"", []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/users/me", "/api/v1/openapi.json", "/api/v1/", "/api/v1/*"}},
	} {
		t.Run(tt.base, func(t *testing.T) {
			var m recordingMux
			require.NoError(t, f.h.MountAt(&m, tt.base))
			assert.Equal(t, tt.want, m.patterns)
		})
	}
}

// TestStrippedPathOnTheHandler: the Handler served directly also takes a
// path without its prefix, but a path under another prefix is still 404,
// and a prefix whose segments look like an endpoint's keeps both readings.
func TestStrippedPathOnTheHandler(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{Prefix: "/auth"}})
	login := `{"username":"x","password":"y"}`
	f.do(t, req{method: "POST", path: "/auth/auth/login", body: login}).problem(t, http.StatusUnauthorized, "invalid_credentials")
	f.do(t, req{method: "POST", path: "/auth/login", body: login}).problem(t, http.StatusUnauthorized, "invalid_credentials")
	f.do(t, req{method: "POST", path: "/api/v1/auth/login", body: login}).problem(t, http.StatusNotFound, "not_found")
	res := f.do(t, req{method: "GET", path: "/users/me/"})
	res.problem(t, http.StatusNotFound, "not_found")
	res = f.do(t, req{method: "PUT", path: "/auth/login"})
	res.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "POST", res.header.Get("Allow"))

	var doc map[string]any
	require.NoError(t, json.Unmarshal(f.do(t, req{method: "GET", path: "/openapi.json"}).body, &doc))
	assert.Equal(t, "/auth", doc["servers"].([]any)[0].(map[string]any)["url"])
}
