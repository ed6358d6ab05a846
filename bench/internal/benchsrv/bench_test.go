package benchsrv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/bench/internal/benchsrv"
	"github.com/forgeauth/forgeauth/token"
)

// BenchmarkRoundTrip measures one GET /api/v1/users/me through each
// server's handler, in process (no network): "hot" sends the one token
// forgeauth issued at login, again and again, and "cold" sends 20,000
// distinct tokens round robin, twice as many as forgeauth's verified-token
// cache holds, so that every request pays the full token check. It is the
// CPU profile's subject:
//
//	go test -run '^$' -bench RoundTrip/cold/forgeauth -cpuprofile cpu.out ./internal/benchsrv
func BenchmarkRoundTrip(b *testing.B) {
	st := settings(b)
	fa := newForgeauth(b, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic})
	nocache := newForgeauth(b, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic, TokenCacheSize: -1})
	builtin := newForgeauth(b, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic, Route: benchsrv.RouteBuiltin})
	ja, err := benchsrv.NewJWTAuth(st)
	if err != nil {
		b.Fatal(err)
	}
	gj, err := benchsrv.NewGolangJWT(st)
	if err != nil {
		b.Fatal(err)
	}
	// The servers share the secret; each forgeauth server needs tokens of
	// its own user.
	many := func(fa *benchsrv.Forgeauth) []string {
		toks, err := fa.Tokens(20_000)
		if err != nil {
			b.Fatal(err)
		}
		return toks
	}
	faMany := many(fa)
	cases := []struct {
		name string
		h    http.Handler
		toks []string
	}{
		{"hot/forgeauth", fa.Handler, []string{fa.Token}},
		{"hot/forgeauth-nocache", nocache.Handler, []string{nocache.Token}},
		{"hot/forgeauth-builtin", builtin.Handler, []string{builtin.Token}},
		{"hot/bare", benchsrv.NewBare(), []string{fa.Token}},
		{"hot/jwtauth", ja, []string{fa.Token}},
		{"hot/golang-jwt", gj, []string{fa.Token}},
		{"cold/forgeauth", fa.Handler, faMany},
		{"cold/forgeauth-builtin", builtin.Handler, many(builtin)},
		{"cold/bare", benchsrv.NewBare(), faMany},
		{"cold/jwtauth", ja, faMany},
		{"cold/golang-jwt", gj, faMany},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			// One header value per token, made before the timer starts.
			hdrs := make([][]string, len(c.toks))
			for i, tok := range c.toks {
				hdrs[i] = []string{"Bearer " + tok}
			}
			req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, benchsrv.MePath, nil)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req.Header["Authorization"] = hdrs[i%len(hdrs)]
				i++
				w := newDiscardWriter()
				c.h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// BenchmarkAuthenticate isolates the service call RequireUser makes, with
// the verified-token cache (default size) and without, for one token sent
// again and again and for more distinct tokens than the cache holds; and
// the token check alone (no cache, no store).
func BenchmarkAuthenticate(b *testing.B) {
	st := settings(b)
	ctx := context.Background()
	cached := newForgeauth(b, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic})
	uncached := newForgeauth(b, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic, TokenCacheSize: -1})
	// Both services share the secret, so one set of tokens works for both;
	// the user ID differs, so each service gets its own.
	distinct := func(fa *benchsrv.Forgeauth) []string {
		m, err := token.New(token.Config{Secret: st.Secret, Issuer: benchsrv.DefaultIssuer, Audience: benchsrv.DefaultAudience})
		if err != nil {
			b.Fatal(err)
		}
		toks := make([]string, 20_000) // twice the default cache size
		for i := range toks {
			is, err := m.IssueAccess(token.Identity{UserID: fa.User.ID, Username: fa.User.Username})
			if err != nil {
				b.Fatal(err)
			}
			toks[i] = is.Token
		}
		return toks
	}
	cases := []struct {
		name string
		fa   *benchsrv.Forgeauth
		toks []string
	}{
		{"cache/same-token", cached, []string{cached.Token}},
		{"nocache/same-token", uncached, []string{uncached.Token}},
		{"cache/20k-tokens", cached, distinct(cached)},
		{"nocache/20k-tokens", uncached, distinct(uncached)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.fa.Service.Authenticate(ctx, c.toks[i%len(c.toks)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	b.Run("nocache/VerifyAccessToken", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := uncached.Service.VerifyAccessToken(uncached.Token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, so the benchmarks measure the handlers, not a recorder.
type discardWriter struct {
	hdr    http.Header
	status int
}

func newDiscardWriter() *discardWriter { return &discardWriter{hdr: http.Header{}} }

func (w *discardWriter) Header() http.Header { return w.hdr }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
