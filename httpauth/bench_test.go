package httpauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
)

func BenchmarkRequireClaims(b *testing.B) {
	benchMiddleware(b, func(f *fixture) func(http.Handler) http.Handler { return f.h.RequireClaims })
}

func BenchmarkRequireUser(b *testing.B) {
	benchMiddleware(b, func(f *fixture) func(http.Handler) http.Handler { return f.h.RequireUser })
}

// benchMiddleware measures one middleware around an empty handler, with a
// valid access token.
func benchMiddleware(b *testing.B, mw func(*fixture) func(http.Handler) http.Handler) {
	f := newFixture(b, fixtureOpts{noCheck: true})
	f.verifiedUser(b, "bench")
	tok := f.login(b, "bench").AccessToken
	h := mw(f)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkRequireUserManyTokens sends 256 distinct access tokens (each
// of its own session) round robin through RequireUser with a cache of 64,
// so that every request pays the full token check and the session look-up:
// the cold path.
func BenchmarkRequireUserManyTokens(b *testing.B) {
	f := newFixture(b, fixtureOpts{
		noCheck: true,
		opts:    httpauth.Options{DisableIPLimit: true},
		mutate:  func(c *auth.Config) { c.TokenCacheSize = 64; c.LoginMaxFailures = -1 },
	})
	f.verifiedUser(b, "bench")
	reqs := make([]*http.Request, 256)
	for i := range reqs {
		reqs[i] = httptest.NewRequest("GET", "/", nil)
		reqs[i].Header.Set("Authorization", "Bearer "+f.login(b, "bench").AccessToken)
	}
	h := f.h.RequireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, reqs[i%len(reqs)])
		i++
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkHugeBearer(b *testing.B) {
	f := newFixture(b, fixtureOpts{noCheck: true})
	h := f.h.RequireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+strings.Repeat(".", 1<<20))
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"email":"someone@example.com","code":"123456","new_password":"Correct-Horse-7"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := httpauth.DecodeJSON(body, "email", "code", "new_password"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientIP(b *testing.B) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:443"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 10.1.1.1, 10.2.2.2")
	b.ReportAllocs()
	for b.Loop() {
		if httpauth.ClientIP(r, trusted) != "203.0.113.9" {
			b.Fatal("wrong IP")
		}
	}
}

func BenchmarkParseUserAgent(b *testing.B) {
	ua := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	b.ReportAllocs()
	for b.Loop() {
		httpauth.ParseUserAgent(ua)
	}
}

// BenchmarkLogin measures a whole Complete-mode login over the handler
// (JSON in, tokens out, a session stored) at the test hashing parameters,
// so the figure is the adapter's and the flow's cost rather than Argon2id's.
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b, fixtureOpts{noCheck: true, opts: httpauth.Options{DisableIPLimit: true}})
	f.verifiedUser(b, "bench")
	body := `{"username":"bench","password":"` + strongPW + `"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", prefix+"/auth/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
