package benchsrv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/bench/internal/benchsrv"
	"github.com/forgeauth/forgeauth/token"
)

// get sends GET MePath with the bearer token (none when empty).
func get(tb testing.TB, h http.Handler, tok string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, benchsrv.MePath, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func decodeUser(tb testing.TB, body []byte) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		tb.Fatalf("body %q: %v", body, err)
	}
	return m
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestServersAnswerTheSameUserJSON(t *testing.T) {
	st := settings(t)
	basic := newForgeauth(t, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic})
	complete := newForgeauth(t, benchsrv.ForgeauthConfig{Settings: st})
	builtin := newForgeauth(t, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic, Route: benchsrv.RouteBuiltin})
	ja, err := benchsrv.NewJWTAuth(st)
	if err != nil {
		t.Fatal(err)
	}
	gj, err := benchsrv.NewGolangJWT(st)
	if err != nil {
		t.Fatal(err)
	}
	bare := get(t, benchsrv.NewBare(), "")
	if bare.Code != http.StatusOK {
		t.Fatalf("bare: status %d", bare.Code)
	}
	want := decodeUser(t, bare.Body.Bytes())
	wantKeys := []string{"created_at", "email", "id", "is_active", "is_superuser", "is_verified", "last_login_at", "updated_at", "username"}
	if got := keys(want); !slices.Equal(got, wantKeys) {
		t.Fatalf("bare keys = %v, want %v", got, wantKeys)
	}

	tests := []struct {
		name string
		h    http.Handler
		tok  string
	}{
		{"forgeauth basic", basic.Handler, basic.Token},
		{"forgeauth complete", complete.Handler, complete.Token},
		{"forgeauth builtin", builtin.Handler, builtin.Token},
		{"jwtauth", ja, basic.Token},
		{"jwtauth, complete-mode token", ja, complete.Token},
		{"golang-jwt", gj, basic.Token},
		{"golang-jwt, complete-mode token", gj, complete.Token},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, tt.h, tt.tok)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if w.Body.Len() != bare.Body.Len() {
				t.Fatalf("body length %d, bare's %d:\n%s\n%s", w.Body.Len(), bare.Body.Len(), w.Body, bare.Body)
			}
			got := decodeUser(t, w.Body.Bytes())
			if !slices.Equal(keys(got), wantKeys) {
				t.Fatalf("keys = %v, want %v", keys(got), wantKeys)
			}
			for _, k := range []string{"username", "email", "is_active", "is_verified", "is_superuser"} {
				if got[k] != want[k] {
					t.Fatalf("%s = %v, bare says %v", k, got[k], want[k])
				}
			}
		})
	}
}

func TestForgeauthTokenIsTheUsers(t *testing.T) {
	st := settings(t)
	fa := newForgeauth(t, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic})
	c, err := fa.Service.VerifyAccessToken(fa.Token)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID != fa.User.ID || c.Subject != benchsrv.Username || c.Issuer != benchsrv.DefaultIssuer ||
		!slices.Equal(c.Audience, []string{benchsrv.DefaultAudience}) {
		t.Fatalf("claims = %+v, user %+v", c, fa.User)
	}
	if got := decodeUser(t, get(t, fa.Handler, fa.Token).Body.Bytes())["id"]; got != fa.User.ID {
		t.Fatalf("id = %v, want %v", got, fa.User.ID)
	}
}

func TestTokensAreDistinctAndGood(t *testing.T) {
	st := settings(t)
	fa := newForgeauth(t, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic, TokenCacheSize: -1})
	ja, err := benchsrv.NewJWTAuth(st)
	if err != nil {
		t.Fatal(err)
	}
	gj, err := benchsrv.NewGolangJWT(st)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := fa.Tokens(50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{fa.Token: true}
	for _, tok := range toks {
		if seen[tok] {
			t.Fatal("a token repeats")
		}
		seen[tok] = true
		for _, h := range []http.Handler{fa.Handler, ja, gj} {
			if w := get(t, h, tok); w.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
		}
	}
}

// issue makes a token with a manager configured by cfg (secret and clock
// defaulted) for the bench user.
func issue(tb testing.TB, cfg token.Config, refresh bool, username string) string {
	tb.Helper()
	if cfg.Secret == nil {
		cfg.Secret = settings(tb).Secret
	}
	if cfg.Issuer == "" {
		cfg.Issuer = benchsrv.DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = benchsrv.DefaultAudience
	}
	m, err := token.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	id := token.Identity{UserID: benchsrv.FixtureUser().ID, Username: username, SessionID: "s1"}
	var is token.Issued
	if refresh {
		is, err = m.IssueRefresh(id)
	} else {
		is, err = m.IssueAccess(id)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return is.Token
}

func TestBadTokensAreRefused(t *testing.T) {
	st := settings(t)
	fa := newForgeauth(t, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic})
	ja, err := benchsrv.NewJWTAuth(st)
	if err != nil {
		t.Fatal(err)
	}
	gj, err := benchsrv.NewGolangJWT(st)
	if err != nil {
		t.Fatal(err)
	}
	past := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	tests := []struct {
		name string
		tok  string
	}{
		{"no token", ""},
		{"junk", "not.a.token"},
		{"tampered", fa.Token[:len(fa.Token)-2] + "AA"},
		{"other secret", issue(t, token.Config{Secret: bytes.Repeat([]byte("o"), 32)}, false, benchsrv.Username)},
		{"other issuer", issue(t, token.Config{Issuer: "someone-else"}, false, benchsrv.Username)},
		{"other audience", issue(t, token.Config{Audience: "another-api"}, false, benchsrv.Username)},
		{"expired", issue(t, token.Config{Now: past}, false, benchsrv.Username)},
		{"refresh token", issue(t, token.Config{}, true, benchsrv.Username)},
		{"unknown user", issue(t, token.Config{}, false, "nobody")},
		{"other algorithm", issue(t, token.Config{Algorithm: "HS384", Secret: bytes.Repeat(st.Secret, 2)}, false, benchsrv.Username)},
		{"not bearer", "Basic " + fa.Token},
	}
	servers := []struct {
		name string
		h    http.Handler
	}{{"forgeauth", fa.Handler}, {"jwtauth", ja}, {"golang-jwt", gj}}
	for _, srv := range servers {
		for _, tt := range tests {
			t.Run(srv.name+"/"+tt.name, func(t *testing.T) {
				w := get(t, srv.h, tt.tok)
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401; body %s", w.Code, w.Body)
				}
				if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
				}
			})
		}
	}
}

func TestSettingsFromEnv(t *testing.T) {
	secret := strings.Repeat("s", 32)
	tests := []struct {
		name    string
		env     map[string]string
		want    benchsrv.Settings
		wantErr error
	}{
		{"defaults", map[string]string{"JWT_SECRET_KEY": secret},
			benchsrv.Settings{Secret: []byte(secret), Issuer: benchsrv.DefaultIssuer, Audience: benchsrv.DefaultAudience}, nil},
		{"given", map[string]string{"JWT_SECRET_KEY": secret, "JWT_ISSUER": "i", "JWT_AUDIENCE": "a"},
			benchsrv.Settings{Secret: []byte(secret), Issuer: "i", Audience: "a"}, nil},
		{"missing secret", map[string]string{}, benchsrv.Settings{}, benchsrv.ErrWeakSecret},
		{"short secret", map[string]string{"JWT_SECRET_KEY": secret[:31]}, benchsrv.Settings{}, benchsrv.ErrWeakSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := benchsrv.SettingsFromEnv(func(k string) string { return tt.env[k] })
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got.Secret, tt.want.Secret) || got.Issuer != tt.want.Issuer || got.Audience != tt.want.Audience {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret[:31]) {
				t.Fatal("the error shows the secret")
			}
		})
	}
}

func TestConstructorErrors(t *testing.T) {
	st := settings(t)
	quiet := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	tests := []struct {
		name    string
		cfg     benchsrv.ForgeauthConfig
		wantErr error // nil: any error
	}{
		{"weak secret", benchsrv.ForgeauthConfig{Settings: benchsrv.Settings{Secret: []byte("short")}}, benchsrv.ErrWeakSecret},
		{"unknown route", benchsrv.ForgeauthConfig{Settings: st, Route: "elsewhere"}, benchsrv.ErrInvalidConfig},
		{"unknown mode", benchsrv.ForgeauthConfig{Settings: st, Mode: "extreme"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Password.Params = testParams
			tt.cfg.Logger = quiet
			_, err := benchsrv.NewForgeauth(ctx, tt.cfg)
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	t.Run("canceled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := benchsrv.NewForgeauth(cctx, benchsrv.ForgeauthConfig{Settings: st, Logger: quiet})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("jwtauth weak secret", func(t *testing.T) {
		if _, err := benchsrv.NewJWTAuth(benchsrv.Settings{}); !errors.Is(err, benchsrv.ErrWeakSecret) {
			t.Fatalf("err = %v, want ErrWeakSecret", err)
		}
	})
	t.Run("golang-jwt weak secret", func(t *testing.T) {
		if _, err := benchsrv.NewGolangJWT(benchsrv.Settings{}); !errors.Is(err, benchsrv.ErrWeakSecret) {
			t.Fatalf("err = %v, want ErrWeakSecret", err)
		}
	})
}

// lineWriter hands the first line written to it to a channel.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w.lines <- strings.TrimSpace(string(p)):
	default:
	}
	return len(p), nil
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := lineWriter{lines: make(chan string, 1)}
	errc := make(chan error, 1)
	go func() { errc <- benchsrv.Serve(ctx, 0, benchsrv.NewBare(), out) }()

	var addr string
	select {
	case line := <-out.lines:
		var ok bool
		if addr, ok = strings.CutPrefix(line, "listening on "); !ok {
			t.Fatalf("first line %q", line)
		}
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
		t.Fatalf("address %q (%v), want 127.0.0.1", addr, err)
	}
	resp, err := http.Get("http://" + addr + benchsrv.MePath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(benchsrv.Username)) {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}

	// The port is taken while the server runs.
	_, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	if err := benchsrv.Serve(ctx, p, benchsrv.NewBare(), io.Discard); err == nil {
		t.Fatal("a second Serve on a taken port succeeded")
	}

	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
}
