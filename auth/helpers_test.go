package auth_test

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/internal/testutil"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// testParams are cheap Argon2id parameters so the suite runs quickly; the
// defaults are covered by the password package.
var testParams = authtest.Params()

const (
	strongPassword = "Correct-Horse-7"
	otherPassword  = "Battery-Staple-9"
)

// fixture is a service on a fresh store with a recording mailer, a fixed
// clock, and captured audit events and logs.
type fixture struct {
	svc    *auth.Service
	store  store.Store
	mail   *mailer.Recorder
	clock  *testutil.Clock
	logs   *testutil.LogBuffer
	mu     sync.Mutex
	events []auth.Event
	feed   chan auth.Event // every event, for waitEvent
}

// storeFactory makes an empty store for one test.
type storeFactory func(tb testing.TB) store.Store

func newFixture(tb testing.TB, newStore storeFactory, mutate ...func(*auth.Config)) *fixture {
	tb.Helper()
	f := &fixture{
		store: newStore(tb),
		mail:  &mailer.Recorder{},
		clock: testutil.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 300_000_000, time.UTC)),
		logs:  testutil.NewLogBuffer(),
		feed:  make(chan auth.Event, 4096),
	}
	cfg := auth.Config{
		Store:    f.store,
		Mailer:   f.mail,
		Token:    token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
		Password: password.HasherConfig{Params: testParams},
		Now:      f.clock.Now,
		// The cases of the notices turn them on (lifecycle_test.go); the
		// others count and read mails without them.
		Lifecycle: auth.LifecycleConfig{NoticesOff: auth.NoticeKinds()},
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{
			Level: slog.LevelDebug,
			// No timestamps: their digits could pass for a leaked code.
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		})),
		OnEvent: func(_ context.Context, e auth.Event) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, e)
			select {
			case f.feed <- e:
			default:
			}
		},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := auth.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	})
	f.svc = svc
	return f
}

func basicMode(c *auth.Config) { c.Mode = auth.ModeBasic }

func (f *fixture) eventKinds() []auth.EventKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	kinds := make([]auth.EventKind, len(f.events))
	for i, e := range f.events {
		kinds[i] = e.Kind
	}
	return kinds
}

// waitEvent waits for the next event of kind for userID; code sends run
// after their request returns, so tests wait for their outcome.
func (f *fixture) waitEvent(tb testing.TB, userID string, kinds ...auth.EventKind) auth.Event {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-f.feed:
			for _, k := range kinds {
				if e.Kind == k && e.UserID == userID {
					return e
				}
			}
		case <-timeout:
			tb.Fatalf("no %v event for user %s", kinds, userID)
			return auth.Event{}
		}
	}
}

// drainEvents forgets the events so far, so waitEvent sees only new ones.
func (f *fixture) drainEvents() {
	for {
		select {
		case <-f.feed:
		default:
			return
		}
	}
}

var codePattern = regexp.MustCompile(`\b\d{6}\b`)

// nextCode waits for the next mail to `to` and returns the code in it.
func (f *fixture) nextCode(tb testing.TB, to string) string {
	tb.Helper()
	msg := f.nextMail(tb, to)
	code := codePattern.FindString(msg.Text)
	require.NotEmpty(tb, code, "no code in mail %q", msg.Subject)
	return code
}

func (f *fixture) nextMail(tb testing.TB, to string) mailer.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := f.mail.Wait(ctx, to)
	require.NoError(tb, err, "waiting for a mail to %s", to)
	return msg
}

// noMail asserts that no mail to `to` is queued after the service's queue
// has been drained.
func (f *fixture) mailCount(to string) int {
	n := 0
	for _, m := range f.mail.Messages() {
		if m.To == to {
			n++
		}
	}
	return n
}

// verifiedUser registers and verifies a user in Complete mode.
func (f *fixture) verifiedUser(tb testing.TB, name string) store.User {
	tb.Helper()
	ctx := context.Background()
	email := name + "@example.com"
	_, err := f.svc.Register(ctx, name, email, strongPassword, auth.Client{})
	require.NoError(tb, err)
	u, err := f.svc.VerifyEmail(ctx, email, f.nextCode(tb, email), auth.Client{})
	require.NoError(tb, err)
	f.nextMail(tb, email) // the welcome mail
	return u
}

func (f *fixture) login(tb testing.TB, name, pw string) auth.Tokens {
	tb.Helper()
	t, err := f.svc.Login(context.Background(), name, pw, auth.Client{IP: "192.0.2.1", UserAgent: "test", DeviceName: name + "-device", DeviceType: "desktop"})
	require.NoError(tb, err)
	return t
}

// coreStore hides every capability of a store.
type coreStore struct{ store.Store }

// failingStore wraps a store; while down, every method fails with err.
type failingStore struct {
	store.Store
	mu   sync.Mutex
	down error
}

func (s *failingStore) fail() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

func (s *failingStore) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = err
}

func (s *failingStore) UserByID(ctx context.Context, id string) (store.User, error) {
	if err := s.fail(); err != nil {
		return store.User{}, err
	}
	return s.Store.UserByID(ctx, id)
}

func (s *failingStore) UserByUsername(ctx context.Context, name string) (store.User, error) {
	if err := s.fail(); err != nil {
		return store.User{}, err
	}
	return s.Store.UserByUsername(ctx, name)
}

func (s *failingStore) UserByEmail(ctx context.Context, email string) (store.User, error) {
	if err := s.fail(); err != nil {
		return store.User{}, err
	}
	return s.Store.UserByEmail(ctx, email)
}

func (s *failingStore) UserWithSession(ctx context.Context, id, sid string, at time.Time) (store.User, error) {
	if err := s.fail(); err != nil {
		return store.User{}, err
	}
	return s.Store.UserWithSession(ctx, id, sid, at)
}

func (s *failingStore) RotateRefreshToken(ctx context.Context, old string, next store.RefreshToken, at time.Time) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.RotateRefreshToken(ctx, old, next, at)
}
