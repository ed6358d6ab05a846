package httpauth_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/golang-jwt/jwt/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/internal/fakeidp"
	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/oauthlogin"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/sqlstore"
	"github.com/forgeauth/forgeauth/token"
)

const appRedirect = "https://app.example.com/signed-in"

// oauthEnv is a Handler served on 127.0.0.1 with an OpenID provider
// ("acme") and GitHub ("github"), both played by one fake in the same
// process, and a browser that follows no redirect by itself.
type oauthEnv struct {
	idp     *fakeidp.Server
	srv     *httptest.Server
	svc     *auth.Service
	store   store.Store
	clock   *testutil.Clock
	mail    *mailer.Recorder
	doc     *openapi3.T
	browser *http.Client
}

type storeMaker struct {
	name string
	make func(testing.TB) store.Store
}

func oauthStores() []storeMaker {
	return []storeMaker{
		{"memory", func(testing.TB) store.Store { return memstore.New() }},
		{"sqlite", func(tb testing.TB) store.Store {
			db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(tb.TempDir(), "auth.db")))
			require.NoError(tb, err)
			tb.Cleanup(func() { _ = db.Close() })
			return migrated(tb, db, sqlstore.SQLite)
		}},
		{"postgres", func(tb testing.TB) store.Store {
			base := os.Getenv("FORGEAUTH_TEST_POSTGRES_URL")
			if base == "" {
				tb.Skip("set FORGEAUTH_TEST_POSTGRES_URL to run against PostgreSQL")
			}
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			db, err := sql.Open("pgx", base)
			require.NoError(tb, err)
			tb.Cleanup(func() { _ = db.Close() })
			return migrated(tb, db, sqlstore.Postgres, sqlstore.WithTablePrefix("oauth_"+hex.EncodeToString(b)+"_"))
		}},
	}
}

func migrated(tb testing.TB, db *sql.DB, d sqlstore.Dialect, opts ...sqlstore.Option) store.Store {
	tb.Helper()
	s, err := sqlstore.New(db, d, opts...)
	require.NoError(tb, err)
	require.NoError(tb, s.Migrate(context.Background()))
	return s
}

func newOAuthEnv(tb testing.TB, st store.Store, timeout time.Duration, mutate ...func(*auth.Config)) *oauthEnv {
	tb.Helper()
	e := &oauthEnv{store: st, clock: testutil.NewClock(time.Now().UTC().Truncate(time.Second)), mail: &mailer.Recorder{}}
	e.idp = fakeidp.New(tb, e.clock.Now)
	// The handler's URL must be known before the providers are made.
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	tb.Cleanup(e.srv.Close)
	callback := func(name string) string { return e.srv.URL + prefix + "/auth/oauth/" + name + "/callback" }
	ctx := context.Background()
	acme, err := oauthlogin.Discover(ctx, e.idp.Issuer(), oauthlogin.Config{
		Name: "acme", ClientID: e.idp.ClientID, ClientSecret: e.idp.ClientSecret,
		RedirectURL: callback("acme"), Timeout: timeout, Now: e.clock.Now,
	})
	require.NoError(tb, err)
	gh, err := oauthlogin.NewGitHub(oauthlogin.GitHubConfig{
		Config: oauthlogin.Config{Name: "github", ClientID: e.idp.ClientID, ClientSecret: e.idp.ClientSecret,
			RedirectURL: callback("github"), Timeout: timeout},
		AuthURL: e.idp.URL + "/login/oauth/authorize", TokenURL: e.idp.URL + "/login/oauth/access_token", APIURL: e.idp.URL,
	})
	require.NoError(tb, err)
	cfg := auth.Config{
		Store: st, Mailer: e.mail,
		Token:    token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
		Password: password.HasherConfig{Params: testParams},
		Now:      e.clock.Now,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		OAuth:    auth.OAuthConfig{Providers: []oauthlogin.Provider{acme, gh}, RedirectURIs: []string{appRedirect}},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	e.svc, err = auth.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = e.svc.Shutdown(context.Background()) })
	h, err := httpauth.New(e.svc, httpauth.Options{DisableIPLimit: true})
	require.NoError(tb, err)
	h.Mount(mux)
	e.doc = loadDoc(tb, h, "")
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// hop makes one request and checks the answer against the OpenAPI document
// when it is one of the handler's.
func (e *oauthEnv) hop(tb testing.TB, method, rawURL, body, bearer string, cookies ...*http.Cookie) (*http.Response, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, rawURL, rd)
	require.NoError(tb, err)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	res, err := e.browser.Do(r)
	require.NoError(tb, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	_ = res.Body.Close()
	if strings.HasPrefix(rawURL, e.srv.URL) {
		check, err := http.NewRequest(method, rawURL, strings.NewReader(body))
		require.NoError(tb, err)
		if body != "" {
			check.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			check.Header.Set("Authorization", "Bearer "+bearer)
		}
		checkOpenAPI(tb, e.doc, check, result{status: res.StatusCode, header: res.Header, body: b})
	}
	return res, b
}

func flowCookie(tb testing.TB, res *http.Response) *http.Cookie {
	tb.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "__Host-forgeauth-oauth" {
			return c
		}
	}
	tb.Fatalf("no flow cookie in %v", res.Header["Set-Cookie"])
	return nil
}

// begin asks the handler to start a sign-in and returns the provider URL
// and the flow cookie.
func (e *oauthEnv) begin(tb testing.TB, provider string) (string, *http.Cookie) {
	tb.Helper()
	res, _ := e.hop(tb, "GET", e.srv.URL+prefix+"/auth/oauth/"+provider+"/authorize?redirect_uri="+url.QueryEscape(appRedirect), "", "")
	require.Equal(tb, http.StatusFound, res.StatusCode)
	c := flowCookie(tb, res)
	assert.True(tb, c.HttpOnly && c.Secure && c.SameSite == http.SameSiteLaxMode && c.Path == "/", "flow cookie attributes: %+v", c)
	return res.Header.Get("Location"), c
}

// approve follows the provider's (auto-approving) authorization and
// returns the callback URL it redirects to.
func (e *oauthEnv) approve(tb testing.TB, providerURL string) string {
	tb.Helper()
	require.True(tb, strings.HasPrefix(providerURL, e.idp.URL), "the redirect goes to the provider: %s", providerURL)
	u, err := url.Parse(providerURL)
	require.NoError(tb, err)
	q := u.Query()
	require.Equal(tb, "S256", q.Get("code_challenge_method"))
	require.NotEmpty(tb, q.Get("code_challenge"))
	require.NotEmpty(tb, q.Get("state"))
	res, _ := e.hop(tb, "GET", providerURL, "", "")
	require.Equal(tb, http.StatusFound, res.StatusCode)
	return res.Header.Get("Location")
}

// callback delivers the callback and returns the fragment of the redirect
// to the application.
func (e *oauthEnv) callback(tb testing.TB, callbackURL string, cookies ...*http.Cookie) url.Values {
	tb.Helper()
	res, body := e.hop(tb, "GET", callbackURL, "", "", cookies...)
	require.Equal(tb, http.StatusFound, res.StatusCode, "body: %s", body)
	loc := res.Header.Get("Location")
	base, frag, ok := strings.Cut(loc, "#")
	require.True(tb, ok, "a fragment in %s", loc)
	require.Equal(tb, appRedirect, base)
	v, err := url.ParseQuery(frag)
	require.NoError(tb, err)
	return v
}

// signIn runs the whole redirect chain and returns the fragment.
func (e *oauthEnv) signIn(tb testing.TB, provider string) url.Values {
	tb.Helper()
	to, c := e.begin(tb, provider)
	return e.callback(tb, e.approve(tb, to), c)
}

func (e *oauthEnv) exchange(tb testing.TB, code string) (*http.Response, []byte) {
	tb.Helper()
	return e.hop(tb, "POST", e.srv.URL+prefix+"/auth/oauth/exchange", `{"code":"`+code+`","device_name":"laptop"}`, "")
}

func (e *oauthEnv) tokens(tb testing.TB, code string) tokenBody {
	tb.Helper()
	res, body := e.exchange(tb, code)
	require.Equal(tb, http.StatusOK, res.StatusCode, "body: %s", body)
	var t tokenBody
	require.NoError(tb, jsonUnmarshal(body, &t))
	require.NotEmpty(tb, t.AccessToken)
	require.NotEmpty(tb, t.RefreshToken)
	return t
}

func (e *oauthEnv) me(tb testing.TB, access string) userBody {
	tb.Helper()
	res, body := e.hop(tb, "GET", e.srv.URL+prefix+"/users/me", "", access)
	require.Equal(tb, http.StatusOK, res.StatusCode)
	var u userBody
	require.NoError(tb, jsonUnmarshal(body, &u))
	return u
}

// noUser asserts that no account holds the email.
func (e *oauthEnv) noUser(tb testing.TB, email string) {
	tb.Helper()
	_, err := e.store.UserByEmail(context.Background(), email)
	require.ErrorIs(tb, err, store.ErrNotFound, "an account was created for %s", email)
}

// passwordUser registers and verifies an account with a password.
func (e *oauthEnv) passwordUser(tb testing.TB, name, email string) {
	tb.Helper()
	res, body := e.hop(tb, "POST", e.srv.URL+prefix+"/auth/register", `{"username":"`+name+`","email":"`+email+`","password":"`+strongPW+`"}`, "")
	require.Equal(tb, http.StatusCreated, res.StatusCode, "body: %s", body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := e.mail.Wait(ctx, email)
	require.NoError(tb, err)
	code := codePattern.FindString(msg.Text)
	res, body = e.hop(tb, "POST", e.srv.URL+prefix+"/auth/verify-email", `{"email":"`+email+`","code":"`+code+`"}`, "")
	require.Equal(tb, http.StatusOK, res.StatusCode, "body: %s", body)
}

func (e *oauthEnv) login(tb testing.TB, name string) tokenBody {
	tb.Helper()
	res, body := e.hop(tb, "POST", e.srv.URL+prefix+"/auth/login", `{"username":"`+name+`","password":"`+strongPW+`"}`, "")
	require.Equal(tb, http.StatusOK, res.StatusCode, "body: %s", body)
	var t tokenBody
	require.NoError(tb, jsonUnmarshal(body, &t))
	return t
}

func problemCode(tb testing.TB, body []byte) string {
	tb.Helper()
	var p problemBody
	require.NoError(tb, jsonUnmarshal(body, &p))
	return p.Code
}

// TestOAuthSignUpSignInExchange runs the whole chain on every store: a new
// provider account makes a verified account without a password, the
// exchange code signs in once and only within 60 seconds (SECURITY 37),
// and the next sign-in finds the same account by its subject.
func TestOAuthSignUpSignInExchange(t *testing.T) {
	for _, sm := range oauthStores() {
		t.Run(sm.name, func(t *testing.T) {
			e := newOAuthEnv(t, sm.make(t), 0)
			frag := e.signIn(t, "acme")
			require.Empty(t, frag.Get("error"))
			code := frag.Get("code")
			require.NotEmpty(t, code)
			tok := e.tokens(t, code)
			me := e.me(t, tok.AccessToken)
			assert.Equal(t, "ada@example.com", me.Email)
			assert.True(t, me.IsVerified, "the provider verified the email")
			u, err := e.store.UserByID(context.Background(), me.ID)
			require.NoError(t, err)
			assert.Empty(t, u.HashedPassword, "no password")

			// Once only.
			res, body := e.exchange(t, code)
			require.Equal(t, http.StatusBadRequest, res.StatusCode)
			assert.Equal(t, "invalid_code", problemCode(t, body))

			// Within 60 seconds only.
			late := e.signIn(t, "acme").Get("code")
			e.clock.Advance(60 * time.Second)
			res, body = e.exchange(t, late)
			require.Equal(t, http.StatusBadRequest, res.StatusCode)
			assert.Equal(t, "invalid_code", problemCode(t, body))

			again := e.tokens(t, e.signIn(t, "acme").Get("code"))
			assert.Equal(t, me.ID, e.me(t, again.AccessToken).ID, "found by (provider, subject)")

			// The same person through GitHub is another provider account
			// with an email that now has an account: not linked silently.
			assert.Equal(t, "account_exists", e.signIn(t, "github").Get("error"))
		})
	}
}

// TestOAuthRedirectURIAllowList: a redirect_uri outside the list is 400
// before any redirect, and no flow begins (SECURITY 37).
func TestOAuthRedirectURIAllowList(t *testing.T) {
	e := newOAuthEnv(t, memstore.New(), 0)
	for _, q := range []string{
		"?redirect_uri=" + url.QueryEscape("https://evil.example.com/steal"),
		"?redirect_uri=" + url.QueryEscape(appRedirect+"/more"),
		"?redirect_uri=" + url.QueryEscape(appRedirect) + "&redirect_uri=" + url.QueryEscape("https://evil.example.com/"),
		"",
	} {
		res, body := e.hop(t, "GET", e.srv.URL+prefix+"/auth/oauth/acme/authorize"+q, "", "")
		require.Equal(t, http.StatusBadRequest, res.StatusCode, q)
		assert.Equal(t, "invalid_redirect_uri", problemCode(t, body))
		assert.Empty(t, res.Header.Get("Location"))
		assert.Empty(t, res.Cookies())
	}
	res, body := e.hop(t, "GET", e.srv.URL+prefix+"/auth/oauth/nope/authorize?redirect_uri="+url.QueryEscape(appRedirect), "", "")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Equal(t, "not_found", problemCode(t, body))

	// Link checks the list too.
	e.passwordUser(t, "bob", "bob@example.com")
	tok := e.login(t, "bob")
	res, body = e.hop(t, "POST", e.srv.URL+prefix+"/auth/oauth/acme/link",
		`{"current_password":"`+strongPW+`","redirect_uri":"https://evil.example.com/"}`, tok.AccessToken)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Equal(t, "invalid_redirect_uri", problemCode(t, body))
}

// TestOAuthCallbackDefences: each defence of SECURITY 36, attacked; the
// callback signs no one in and creates nothing.
func TestOAuthCallbackDefences(t *testing.T) {
	for _, tt := range []struct {
		name string
		// attack runs a flow and returns the fragment's error, or "" when
		// the handler answered 400 without a redirect.
		attack func(t *testing.T, e *oauthEnv) string
		want   string
	}{
		{"state missing", func(t *testing.T, e *oauthEnv) string {
			to, c := e.begin(t, "acme")
			cb, _ := url.Parse(e.approve(t, to))
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
			res, body := e.hop(t, "GET", cb.String(), "", "", c)
			require.Equal(t, http.StatusBadRequest, res.StatusCode)
			assert.Equal(t, "invalid_state", problemCode(t, body))
			return ""
		}, ""},
		{"cookie missing (login CSRF: someone else's callback)", func(t *testing.T, e *oauthEnv) string {
			to, _ := e.begin(t, "acme")
			return e.callback(t, e.approve(t, to)).Get("error")
		}, "invalid_state"},
		{"cookie of another flow", func(t *testing.T, e *oauthEnv) string {
			_, mine := e.begin(t, "acme")
			theirs, _ := e.begin(t, "acme")
			return e.callback(t, e.approve(t, theirs), mine).Get("error")
		}, "invalid_state"},
		{"cookie forged", func(t *testing.T, e *oauthEnv) string {
			to, c := e.begin(t, "acme")
			c.Value = c.Value[:len(c.Value)-2] + "AA"
			return e.callback(t, e.approve(t, to), c).Get("error")
		}, "invalid_state"},
		{"callback replayed", func(t *testing.T, e *oauthEnv) string {
			to, c := e.begin(t, "acme")
			cb := e.approve(t, to)
			e.callback(t, cb, c)
			e.noUserReset(t)
			res, body := e.hop(t, "GET", cb, "", "", c)
			require.Equal(t, http.StatusBadRequest, res.StatusCode)
			assert.Equal(t, "invalid_state", problemCode(t, body))
			return ""
		}, ""},
		{"code of another flow (PKCE verifier does not match)", func(t *testing.T, e *oauthEnv) string {
			stolenFrom, _ := e.begin(t, "acme")
			stolen, _ := url.Parse(e.approve(t, stolenFrom))
			to, c := e.begin(t, "acme")
			cb, _ := url.Parse(e.approve(t, to))
			q := cb.Query()
			q.Set("code", stolen.Query().Get("code"))
			cb.RawQuery = q.Encode()
			return e.callback(t, cb.String(), c).Get("error")
		}, "invalid_id_token"},
		{"nonce replayed", func(t *testing.T, e *oauthEnv) string {
			old, _ := url.Parse(e.mustBegin(t))
			e.idp.SetClaims(func(c jwt.MapClaims) { c["nonce"] = old.Query().Get("nonce") })
			return e.signIn(t, "acme").Get("error")
		}, "invalid_id_token"},
		{"nonce missing", func(t *testing.T, e *oauthEnv) string {
			e.idp.SetClaims(func(c jwt.MapClaims) { delete(c, "nonce") })
			return e.signIn(t, "acme").Get("error")
		}, "invalid_id_token"},
		{"ID token of another audience", func(t *testing.T, e *oauthEnv) string {
			e.idp.SetClaims(func(c jwt.MapClaims) { c["aud"] = "another-client" })
			return e.signIn(t, "acme").Get("error")
		}, "invalid_id_token"},
		{"ID token of another issuer", func(t *testing.T, e *oauthEnv) string {
			e.idp.SetClaims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" })
			return e.signIn(t, "acme").Get("error")
		}, "invalid_id_token"},
		{"ID token expired", func(t *testing.T, e *oauthEnv) string {
			e.idp.SetClaims(func(c jwt.MapClaims) { c["exp"] = e.clock.Now().Add(-time.Minute).Unix() })
			return e.signIn(t, "acme").Get("error")
		}, "invalid_id_token"},
		{"provider error", func(t *testing.T, e *oauthEnv) string {
			to, c := e.begin(t, "acme")
			cb, _ := url.Parse(e.approve(t, to))
			q := cb.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			cb.RawQuery = q.Encode()
			return e.callback(t, cb.String(), c).Get("error")
		}, "access_denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newOAuthEnv(t, memstore.New(), 0)
			assert.Equal(t, tt.want, tt.attack(t, e))
			e.noUser(t, "ada@example.com")
		})
	}
}

// mustBegin starts a flow and returns the provider URL.
func (e *oauthEnv) mustBegin(tb testing.TB) string {
	tb.Helper()
	to, _ := e.begin(tb, "acme")
	return to
}

// noUserReset removes the account the first, honest callback made, so
// that the replay is judged alone.
func (e *oauthEnv) noUserReset(tb testing.TB) {
	tb.Helper()
	u, err := e.store.UserByEmail(context.Background(), "ada@example.com")
	require.NoError(tb, err)
	require.NoError(tb, e.store.DeleteUser(context.Background(), u.ID))
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
