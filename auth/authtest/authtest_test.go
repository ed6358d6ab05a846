package authtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/httpauth"
)

func TestEnv(t *testing.T) {
	env := authtest.New(t)
	alice := env.CreateUser(t, "alice", "alice@example.com")
	assert.Empty(t, alice.HashedPassword, "the returned user carries no hash")
	assert.True(t, alice.IsVerified)

	tokens := env.SignIn(t, alice)
	assert.NotEmpty(t, tokens.RefreshToken, "Complete mode by default")
	id, err := env.Service.Authenticate(t.Context(), tokens.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, alice.ID, id.User.ID)
	assert.NotNil(t, env.Mail, "the recording mailer is at hand")

	basic := authtest.New(t, func(c *auth.Config) { c.Mode = auth.ModeBasic })
	bob := basic.CreateUser(t, "bob", "bob@example.com")
	assert.Empty(t, basic.SignIn(t, bob).RefreshToken)
}

// fatalRecorder stands in for a test, to see the helpers fail it.
type fatalRecorder struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *fatalRecorder) run(fn func(tb testing.TB)) string {
	done := make(chan struct{})
	go func() { defer close(done); fn(r) }()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func TestEnvFailsTheTest(t *testing.T) {
	env := authtest.New(t)
	alice := env.CreateUser(t, "alice", "alice@example.com")

	rec := &fatalRecorder{TB: t}
	msg := rec.run(func(tb testing.TB) { env.CreateUser(tb, "alice", "other@example.com") })
	assert.Contains(t, msg, `creating user "alice"`, "a taken username fails the test")

	rec = &fatalRecorder{TB: t}
	gone := alice
	gone.Username = "nobody"
	msg = rec.run(func(tb testing.TB) { env.SignIn(tb, gone) })
	assert.Contains(t, msg, `signing in "nobody"`)

	rec = &fatalRecorder{TB: t}
	msg = rec.run(func(tb testing.TB) { authtest.New(tb, func(c *auth.Config) { c.Store = nil }) })
	assert.Contains(t, msg, "auth.New")
}

// TestBehindRequireUser: an application's handler behind RequireUser,
// tested without a registration, a mail or a verification.
func TestBehindRequireUser(t *testing.T) {
	env := authtest.New(t)
	alice := env.CreateUser(t, "alice", "alice@example.com")
	tokens := env.SignIn(t, alice)

	h, err := httpauth.New(env.Service, httpauth.Options{})
	require.NoError(t, err)
	profile := h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := httpauth.UserFrom(r.Context())
		fmt.Fprintf(w, "profile of %s", u.Username)
	}))

	r := httptest.NewRequestWithContext(context.Background(), "GET", "/profile", nil)
	r.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	w := httptest.NewRecorder()
	profile.ServeHTTP(w, r)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "profile of alice", w.Body.String())
}
