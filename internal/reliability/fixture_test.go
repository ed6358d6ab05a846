package reliability_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/sqlstore"
	"github.com/forgeauth/forgeauth/token"
)

// cheapParams keep hashing cheap where the test is not about hashing.
var cheapParams = authtest.Params()

// privatePath is the application's own route behind RequireUser.
const privatePath = "/app/private"

// service is an auth.Service behind httpauth on an httptest server, with a
// settable clock and captured logs.
type service struct {
	svc   *auth.Service
	h     *httpauth.Handler
	srv   *httptest.Server
	c     *client
	clock *testutil.Clock
	logs  *logBuffer
	mail  *mailer.Recorder // nil when the test gave its own mailer
}

// serviceOpts shape a service. Zero values: a memstore, a recording
// mailer, cheap hashing, no per-IP limit.
type serviceOpts struct {
	store  store.Store
	mailer mailer.Mailer
	mutate func(*auth.Config)
	// wrap, when set, wraps the server's whole handler (the application's
	// own middleware).
	wrap func(http.Handler) http.Handler
}

// newService starts a service; it is shut down at the end of the test.
func newService(tb testing.TB, o serviceOpts) *service {
	tb.Helper()
	s := &service{clock: newClock(), logs: newLogBuffer()}
	if o.store == nil {
		o.store = memstore.New()
	}
	if o.mailer == nil {
		s.mail = &mailer.Recorder{}
		o.mailer = s.mail
	}
	cfg := auth.Config{
		Store:    o.store,
		Mailer:   o.mailer,
		Token:    token.Config{Secret: []byte(secret)},
		Password: password.HasherConfig{Params: cheapParams},
		Now:      s.clock.Now,
		Logger:   s.logs.logger(),
		// No notices: the new-device notice reads the store after the
		// answer, which would shift the database cuts these tests place
		// by counting messages, and race the pool flushes between them.
		Lifecycle: auth.LifecycleConfig{NoticesOff: auth.NoticeKinds()},
	}
	if o.mutate != nil {
		o.mutate(&cfg)
	}
	var err error
	s.svc, err = auth.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		// Mails still queued for a server that is gone are dropped.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.svc.Shutdown(ctx)
	})
	s.h, err = httpauth.New(s.svc, httpauth.Options{DisableIPLimit: true, Logger: cfg.Logger})
	require.NoError(tb, err)
	mux := http.NewServeMux()
	s.h.Mount(mux)
	mux.Handle("GET "+privatePath, s.h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := httpauth.UserFrom(r.Context())
		if !ok {
			http.Error(w, "no user behind RequireUser", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("private page of " + u.Username + "\n"))
	})))
	var root http.Handler = mux
	if o.wrap != nil {
		root = o.wrap(mux)
	}
	s.srv = httptest.NewServer(root)
	tb.Cleanup(s.srv.Close)
	s.c = newClient(tb, s.srv.URL)
	return s
}

// verifiedUser registers name over HTTP and verifies the email with the
// mailed code (the service must have a recording mailer).
func (s *service) verifiedUser(tb testing.TB, name string) userJSON {
	tb.Helper()
	var u userJSON
	email := name + "@example.com"
	s.c.post(tb, "/auth/register", "", map[string]string{"username": name, "email": email, "password": strongPW}).
		expect(tb, http.StatusCreated, "").decode(tb, &u)
	s.c.post(tb, "/auth/verify-email", "", map[string]string{"email": email, "code": mailCode(tb, s.mail, email)}).
		expect(tb, http.StatusOK, "").decode(tb, &u)
	return u
}

// login logs name in with pw and returns the tokens.
func (s *service) login(tb testing.TB, name, pw string) tokens {
	tb.Helper()
	var t tokens
	s.c.post(tb, "/auth/login", "", map[string]string{"username": name, "password": pw}).
		expect(tb, http.StatusOK, "").decode(tb, &t)
	return t
}

// newSQLiteStore returns a migrated store on a fresh SQLite file.
func newSQLiteStore(tb testing.TB) (*sqlstore.Store, *sql.DB) {
	tb.Helper()
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(tb.TempDir(), "auth.db")))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	st, err := sqlstore.New(db, sqlstore.SQLite)
	require.NoError(tb, err)
	require.NoError(tb, st.Migrate(context.Background()))
	return st, db
}

// newPGStore returns a migrated store on the schema through hostport ("" is
// the server itself), with a pool of at most maxConns connections that carry
// appName.
func newPGStore(tb testing.TB, schema *pgSchema, appName, hostport string, maxConns int) (*sqlstore.Store, *sql.DB) {
	tb.Helper()
	db := schema.open(tb, appName, hostport, maxConns)
	st, err := sqlstore.New(db, sqlstore.Postgres)
	require.NoError(tb, err)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	require.NoError(tb, st.Migrate(ctx))
	return st, db
}
