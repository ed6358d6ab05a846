// Package authtest helps the tests of an application that uses forgeauth:
// a [auth.Service] on an in-memory store with fast password hashing and a
// recording mailer, a user created verified in one call, and a token pair
// for that user, so that a test of a protected route needs neither a
// registration nor a mail nor a verification.
//
//	func TestProfile(t *testing.T) {
//		env := authtest.New(t)
//		alice := env.CreateUser(t, "alice", "alice@example.com")
//		tokens := env.SignIn(t, alice)
//		// call the application's handler, wrapped in httpauth.RequireUser,
//		// with "Authorization: Bearer " + tokens.AccessToken
//	}
//
// The fast parameters ([Params]) make a hash take microseconds instead of
// tens of milliseconds. They are for tests only: never configure a real
// service with them.
package authtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// Password is the password [Env.CreateUser] gives every user. It passes the
// default policy.
const Password = "Correct-Horse-7-Battery"

// Params returns Argon2id parameters that hash in microseconds (64 KiB, one
// pass). For tests only.
func Params() password.Params {
	return password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// Config returns a Complete-mode configuration for tests: an in-memory
// store, a [mailer.Recorder], a random 32-byte secret, the fast [Params],
// and a logger that discards. Change what a test needs before passing it
// to [New] or auth.New.
func Config(tb testing.TB) auth.Config {
	tb.Helper()
	return auth.Config{
		Store:    memstore.New(),
		Mailer:   &mailer.Recorder{},
		Token:    token.Config{Secret: []byte(rand.Text() + rand.Text())},
		Password: password.HasherConfig{Params: Params()},
		Logger:   slog.New(slog.DiscardHandler),
	}
}

// Env is a service ready for a test, with the parts a test looks into.
type Env struct {
	Service *auth.Service
	Config  auth.Config      // as given to auth.New
	Store   store.Store      // Config.Store
	Mail    *mailer.Recorder // Config.Mailer when it is a Recorder, else nil
}

// New returns an Env made from [Config], changed by each of opts in turn,
// and shuts the service down when the test ends. It fails the test when
// auth.New refuses the configuration.
func New(tb testing.TB, opts ...func(*auth.Config)) *Env {
	tb.Helper()
	cfg := Config(tb)
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := auth.New(cfg)
	if err != nil {
		tb.Fatalf("authtest: auth.New: %v", err)
	}
	tb.Cleanup(func() {
		// The test's own context has ended by now.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			tb.Errorf("authtest: shutdown: %v", err)
		}
	})
	rec, _ := cfg.Mailer.(*mailer.Recorder)
	return &Env{Service: svc, Config: cfg, Store: cfg.Store, Mail: rec}
}

// CreateUser stores an active user with a verified email and the password
// [Password] (hashed with [Params]) straight in the store, and returns it.
// It fails the test when the store refuses (a taken username or email).
func (e *Env) CreateUser(tb testing.TB, username, email string) store.User {
	tb.Helper()
	hash, err := password.Hash(Password, Params(), nil)
	if err != nil {
		tb.Fatalf("authtest: hashing: %v", err)
	}
	now := time.Now().UTC()
	u := store.User{
		ID:             newID(),
		Username:       username,
		Email:          email,
		HashedPassword: hash,
		IsActive:       true,
		IsVerified:     true,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	if err := e.Store.CreateUser(tb.Context(), u); err != nil {
		tb.Fatalf("authtest: creating user %q: %v", username, err)
	}
	u.HashedPassword = ""
	return u
}

// SignIn logs u in with [Password] and returns the token pair (an access
// token only in Basic mode). It fails the test when the login fails.
func (e *Env) SignIn(tb testing.TB, u store.User) auth.Tokens {
	tb.Helper()
	t, err := e.Service.Login(tb.Context(), u.Username, Password, auth.Client{IP: "192.0.2.1", UserAgent: "authtest"})
	if err != nil {
		tb.Fatalf("authtest: signing in %q: %v", u.Username, err)
	}
	return t
}

// newID returns a random UUID (version 4), the shape of the service's ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
