package httpauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// testParams are cheap Argon2id parameters: these tests are about HTTP, the
// password package covers the defaults.
var testParams = authtest.Params()

const (
	prefix        = "/api/v1"
	strongPW      = "Correct-Horse-7"
	otherStrongPW = "Battery-Staple-9"
	firefoxLinux  = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
	acceptedBody  = `{"detail":"If the account exists, an email has been sent."}` + "\n"
)

// faultyStore wraps a store. While a fault is set for a method, the method
// returns that error instead of calling the real store.
type faultyStore struct {
	store.Store
	mu     sync.Mutex
	faults map[string]error
}

func (s *faultyStore) setFault(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults == nil {
		s.faults = map[string]error{}
	}
	s.faults[method] = err
}

func (s *faultyStore) fault(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[method]
}

func (s *faultyStore) CreateUser(ctx context.Context, u store.User) error {
	if err := s.fault("CreateUser"); err != nil {
		return err
	}
	return s.Store.CreateUser(ctx, u)
}

// ReplaceUnverifiedUser is how Complete-mode registration creates a user:
// it fails with the "CreateUser" fault.
func (s *faultyStore) ReplaceUnverifiedUser(ctx context.Context, u store.User) error {
	if err := s.fault("CreateUser"); err != nil {
		return err
	}
	return s.Store.ReplaceUnverifiedUser(ctx, u)
}

// UserWithSession is how an authenticated request loads its user: it
// fails with the "UserByID" fault.
func (s *faultyStore) UserWithSession(ctx context.Context, id, sid string, at time.Time) (store.User, error) {
	if err := s.fault("UserByID"); err != nil {
		return store.User{}, err
	}
	return s.Store.UserWithSession(ctx, id, sid, at)
}

func (s *faultyStore) UserByID(ctx context.Context, id string) (store.User, error) {
	if err := s.fault("UserByID"); err != nil {
		return store.User{}, err
	}
	return s.Store.UserByID(ctx, id)
}

func (s *faultyStore) UserByUsername(ctx context.Context, name string) (store.User, error) {
	if err := s.fault("UserByUsername"); err != nil {
		return store.User{}, err
	}
	return s.Store.UserByUsername(ctx, name)
}

func (s *faultyStore) UserByEmail(ctx context.Context, email string) (store.User, error) {
	if err := s.fault("UserByEmail"); err != nil {
		return store.User{}, err
	}
	return s.Store.UserByEmail(ctx, email)
}

func (s *faultyStore) RevokeAllSessions(ctx context.Context, userID string, at time.Time) error {
	if err := s.fault("RevokeAllSessions"); err != nil {
		return err
	}
	return s.Store.RevokeAllSessions(ctx, userID, at)
}

func (s *faultyStore) RevokeFamily(ctx context.Context, userID, familyID string, at time.Time) error {
	if err := s.fault("RevokeFamily"); err != nil {
		return err
	}
	return s.Store.RevokeFamily(ctx, userID, familyID, at)
}

func (s *faultyStore) Sessions(ctx context.Context, userID string, at time.Time) ([]store.Session, error) {
	if err := s.fault("Sessions"); err != nil {
		return nil, err
	}
	return s.Store.Sessions(ctx, userID, at)
}

// fixture is a Handler over a real auth.Service on a memstore, with a
// recording mailer, a fixed clock and captured logs. Every answer it gets is
// checked against the handler's OpenAPI document.
type fixture struct {
	h     *httpauth.Handler
	svc   *auth.Service
	store *faultyStore
	mail  *mailer.Recorder
	clock *testutil.Clock
	logs  *testutil.LogBuffer
	doc   *openapi3.T
	basic bool
}

type fixtureOpts struct {
	basic   bool
	opts    httpauth.Options
	mutate  func(*auth.Config)
	noCheck bool // skip the OpenAPI check (a test of the check itself)
}

func newFixture(tb testing.TB, fo fixtureOpts) *fixture {
	tb.Helper()
	f := &fixture{
		store: &faultyStore{Store: memstore.New()},
		mail:  &mailer.Recorder{},
		clock: testutil.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)),
		logs:  testutil.NewLogBuffer(),
		basic: fo.basic,
	}
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := auth.Config{
		Store:    f.store,
		Mailer:   f.mail,
		Token:    token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
		Password: password.HasherConfig{Params: testParams},
		Now:      f.clock.Now,
		Logger:   logger,
	}
	if fo.basic {
		cfg.Mode = auth.ModeBasic
	}
	if fo.mutate != nil {
		fo.mutate(&cfg)
	}
	svc, err := auth.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	})
	f.svc = svc
	opts := fo.opts
	if opts.Logger == nil {
		opts.Logger = logger
	}
	f.h, err = httpauth.New(svc, opts)
	require.NoError(tb, err)
	if !fo.noCheck {
		f.doc = loadDoc(tb, f.h, opts.Prefix)
	}
	return f
}

// docCache keeps the loaded documents by content: loading one costs tens of
// milliseconds, and most fixtures serve one of two documents. Tests read the
// documents only.
var docCache = struct {
	sync.Mutex
	docs map[string]*openapi3.T
}{docs: map[string]*openapi3.T{}}

// loadDoc fetches and loads the handler's OpenAPI document.
func loadDoc(tb testing.TB, h http.Handler, pfx string) *openapi3.T {
	tb.Helper()
	if pfx == "" {
		pfx = prefix
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", strings.TrimSuffix(pfx, "/")+"/openapi.json", nil))
	require.Equal(tb, http.StatusOK, rec.Code)

	docCache.Lock()
	defer docCache.Unlock()
	if doc, ok := docCache.docs[rec.Body.String()]; ok {
		return doc
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(rec.Body.Bytes())
	require.NoError(tb, err)
	require.NoError(tb, doc.Validate(loader.Context))
	docCache.docs[rec.Body.String()] = doc
	return doc
}

// result is a recorded answer.
type result struct {
	status int
	header http.Header
	body   []byte
}

// req describes one request for fixture.do.
type req struct {
	method, path string
	body         string
	contentType  string // "" means application/json when there is a body
	bearer       string
	header       http.Header
	remoteAddr   string
}

// do serves r and checks the answer against the OpenAPI document.
func (f *fixture) do(tb testing.TB, r req) result {
	tb.Helper()
	hr := f.newRequest(r)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, hr)
	res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if f.doc != nil {
		checkOpenAPI(tb, f.doc, f.newRequest(r), res)
	}
	return res
}

func (f *fixture) newRequest(r req) *http.Request {
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	} else if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	if r.remoteAddr != "" {
		hr.RemoteAddr = r.remoteAddr
	}
	return hr
}

// post sends a JSON body.
func (f *fixture) post(tb testing.TB, path, body string) result {
	tb.Helper()
	return f.do(tb, req{method: "POST", path: prefix + path, body: body})
}

// checkOpenAPI validates one answer against the document.
func checkOpenAPI(tb testing.TB, doc *openapi3.T, r *http.Request, res result) {
	tb.Helper()
	require.NoError(tb, openAPIError(doc, r, res))
}

// openAPIError checks one answer against the document: an answer of a
// documented operation must have a documented status, headers and body, a
// request that succeeded must be a documented request, and the 404 and 405
// of unknown paths and methods must be problem documents.
func openAPIError(doc *openapi3.T, r *http.Request, res result) error {
	route, params := findRoute(doc, r)
	if route == nil {
		if res.status != http.StatusNotFound && res.status != http.StatusMethodNotAllowed {
			return nil
		}
		if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
			return fmt.Errorf("%d answer with Content-Type %q", res.status, ct)
		}
		var v any
		if err := json.Unmarshal(res.body, &v); err != nil {
			return err
		}
		return doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if res.status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("request %s %s does not match the OpenAPI document: %w", r.Method, r.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.status,
		Header:                 res.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("answer %d to %s %s does not match the OpenAPI document: %w (body %s)", res.status, r.Method, r.URL.Path, err, res.body)
	}
	return nil
}

// findRoute matches r against the document's paths under its server URL.
func findRoute(doc *openapi3.T, r *http.Request) (*routers.Route, map[string]string) {
	base := strings.TrimSuffix(doc.Servers[0].URL, "/")
	rest, ok := strings.CutPrefix(r.URL.Path, base)
	if !ok {
		return nil, nil
	}
	for path, item := range doc.Paths.Map() {
		params, ok := matchPath(path, rest)
		if !ok {
			continue
		}
		op := item.GetOperation(r.Method)
		if op == nil {
			return nil, nil
		}
		return &routers.Route{Spec: doc, Path: path, PathItem: item, Method: r.Method, Operation: op}, params
	}
	return nil, nil
}

func matchPath(template, path string) (map[string]string, bool) {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return nil, false
	}
	params := map[string]string{}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if ps[i] == "" {
				return nil, false
			}
			params[t[1:len(t)-1]] = ps[i]
			continue
		}
		if t != ps[i] {
			return nil, false
		}
	}
	return params, true
}

// problemBody is a decoded problem document.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field   string `json:"field"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// problem decodes res as a problem with the status and code.
func (res result) problem(tb testing.TB, status int, code string) problemBody {
	tb.Helper()
	require.Equal(tb, status, res.status, "body: %s", res.body)
	require.Equal(tb, "application/problem+json", res.header.Get("Content-Type"))
	var p problemBody
	require.NoError(tb, json.Unmarshal(res.body, &p))
	require.Equal(tb, code, p.Code, "body: %s", res.body)
	require.Equal(tb, status, p.Status)
	require.Equal(tb, "https://forgeauth.dev/problems/"+code, p.Type)
	require.NotEmpty(tb, p.Title)
	require.NotEmpty(tb, p.Detail)
	return p
}

// json decodes a JSON answer of the status into v.
func (res result) json(tb testing.TB, status int, v any) {
	tb.Helper()
	require.Equal(tb, status, res.status, "body: %s", res.body)
	require.Equal(tb, "application/json", res.header.Get("Content-Type"))
	require.NoError(tb, json.Unmarshal(res.body, v))
}

// userBody is the user JSON.
type userBody struct {
	ID          string  `json:"id"`
	Username    string  `json:"username"`
	Email       string  `json:"email"`
	IsActive    bool    `json:"is_active"`
	IsVerified  bool    `json:"is_verified"`
	IsSuperuser bool    `json:"is_superuser"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
	LastLoginAt *string `json:"last_login_at"`
}

// tokenBody is the token JSON.
type tokenBody struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	ExpiresAt        string `json:"expires_at"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresAt string `json:"refresh_expires_at"`
	DeviceToken      string `json:"device_token"`
}

// deviceBody is one device of the device list.
type deviceBody struct {
	ID         string `json:"id"`
	DeviceName string `json:"device_name"`
	DeviceType string `json:"device_type"`
	IPAddress  string `json:"ip_address"`
	UserAgent  string `json:"user_agent"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	Current    bool   `json:"current"`
}

var codePattern = regexp.MustCompile(`\b\d{6}\b`)

// nextCode waits for the next mail to `to` that holds a code and returns
// the code.
func (f *fixture) nextCode(tb testing.TB, to string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		msg, err := f.mail.Wait(ctx, to)
		require.NoError(tb, err, "waiting for a mail with a code to %s", to)
		if code := codePattern.FindString(msg.Text); code != "" {
			return code
		}
		// A mail without a code (the welcome mail): wait for the next.
	}
}

// register creates an account through the API.
func (f *fixture) register(tb testing.TB, name string) userBody {
	tb.Helper()
	var u userBody
	f.post(tb, "/auth/register", `{"username":"`+name+`","email":"`+name+`@example.com","password":"`+strongPW+`"}`).
		json(tb, http.StatusCreated, &u)
	return u
}

// verifiedUser registers an account and, in Complete mode, verifies it.
func (f *fixture) verifiedUser(tb testing.TB, name string) userBody {
	tb.Helper()
	u := f.register(tb, name)
	if f.basic {
		return u
	}
	email := name + "@example.com"
	f.post(tb, "/auth/verify-email", `{"email":"`+email+`","code":"`+f.nextCode(tb, email)+`"}`).json(tb, http.StatusOK, &u)
	return u
}

// login logs name in with the strong password.
func (f *fixture) login(tb testing.TB, name string) tokenBody {
	tb.Helper()
	var t tokenBody
	f.post(tb, "/auth/login", `{"username":"`+name+`","password":"`+strongPW+`"}`).json(tb, http.StatusOK, &t)
	return t
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
