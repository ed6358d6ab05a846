package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

func withLifecycle(c *auth.Config) {
	c.Lifecycle.AccountChanges, c.Lifecycle.Admin = true, true
	c.Lifecycle.NoticesOff = nil
}

func TestNewChecksLifecycle(t *testing.T) {
	base := func() auth.Config {
		return auth.Config{
			Store:  coreStore{memstore.New()},
			Mailer: &mailer.Recorder{},
			Token:  token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
		}
	}
	for _, tt := range []struct {
		name   string
		mutate func(*auth.Config)
		want   string
	}{
		{"admin without the capability", func(c *auth.Config) { c.Lifecycle.Admin = true }, "store.Admin"},
		{"email change without the capability", func(c *auth.Config) { c.Lifecycle.AccountChanges = true }, "store.EmailChanges"},
		{"uniform registration in basic mode", func(c *auth.Config) {
			c.Mode, c.Lifecycle.UniformRegistration = auth.ModeBasic, true
		}, "complete mode"},
		{"unknown notice", func(c *auth.Config) { c.Lifecycle.NoticesOff = []auth.NoticeKind{"fireworks"} }, `"fireworks"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.mutate(&cfg)
			_, err := auth.New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	cfg := base()
	cfg.Lifecycle.AccountChanges = true
	cfg.Mode = auth.ModeBasic // deletion only: no capability needed
	cfg.Mailer = nil
	svc, err := auth.New(cfg)
	require.NoError(t, err)
	assert.True(t, svc.AccountChangesEnabled())
	assert.False(t, svc.AdminEnabled())
}

func TestConfigFromEnvLifecycle(t *testing.T) {
	env := map[string]string{
		"JWT_SECRET_KEY":        "0123456789abcdef0123456789abcdef",
		"AUTH_REGISTER_UNIFORM": "true",
		"AUTH_ACCOUNT_CHANGES":  "true",
		"AUTH_ADMIN":            "1",
		"AUTH_NOTICES_OFF":      " new_device , PASSWORD_CHANGED",
	}
	cfg, err := auth.ConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, auth.LifecycleConfig{
		AccountChanges: true, Admin: true, UniformRegistration: true,
		NoticesOff: []auth.NoticeKind{auth.NoticeNewDevice, auth.NoticePasswordChanged},
	}, cfg.Lifecycle)

	env["AUTH_NOTICES_OFF"] = "all"
	cfg, err = auth.ConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.ElementsMatch(t, auth.NoticeKinds(), cfg.Lifecycle.NoticesOff)

	env["AUTH_NOTICES_OFF"] = "new_device,confetti"
	_, err = auth.ConfigFromEnv(func(k string) string { return env[k] })
	var envErr *auth.EnvError
	require.ErrorAs(t, err, &envErr)
	assert.Equal(t, "AUTH_NOTICES_OFF", envErr.Name)
	env["AUTH_NOTICES_OFF"] = ""
	env["AUTH_ADMIN"] = "maybe"
	_, err = auth.ConfigFromEnv(func(k string) string { return env[k] })
	require.ErrorAs(t, err, &envErr)
	assert.Equal(t, "AUTH_ADMIN", envErr.Name)
}

// notices drains the service and returns the notices mailed to `to`, by
// kind, in order.
func (f *fixture) notices(tb testing.TB, svc *auth.Service, to string) []mailer.Kind {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(tb, svc.Shutdown(ctx))
	var out []mailer.Kind
	for _, m := range f.mail.Messages() {
		if m.To == to && strings.HasPrefix(string(m.Kind), "notice_") {
			out = append(out, m.Kind)
			assert.NotRegexp(tb, codePattern, m.Text, "a notice carries no code")
			assert.NotContains(tb, m.Text, "http", "a notice carries no link")
		}
	}
	return out
}

// A sign-in is from a new device when it has no device token of the
// account and no other session has its user agent and device name; the
// first sign-in is never reported.
func TestNoticeNewDevice(t *testing.T) {
	f := newFixture(t, newMemStore, withLifecycle)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	laptop := auth.Client{IP: "192.0.2.1", UserAgent: "Firefox/140", DeviceName: "laptop"}
	first, err := f.svc.Login(ctx, "alice", strongPassword, laptop) // first sign-in
	require.NoError(t, err)
	_, err = f.svc.Login(ctx, "alice", strongPassword, laptop) // a session with this device exists
	require.NoError(t, err)
	phone := auth.Client{IP: "198.51.100.7", UserAgent: "Safari/18", DeviceName: "phone"}
	_, err = f.svc.Login(ctx, "alice", strongPassword, phone) // new
	require.NoError(t, err)
	tablet := auth.Client{IP: "198.51.100.8", UserAgent: "Chrome/150", DeviceName: "tablet", DeviceToken: first.DeviceToken}
	_, err = f.svc.Login(ctx, "alice", strongPassword, tablet) // a device token of the account: known
	require.NoError(t, err)
	assert.Equal(t, []mailer.Kind{mailer.NoticeNewDevice}, f.notices(t, f.svc, "alice@example.com"))
	var body string
	for _, m := range f.mail.Messages() {
		if m.Kind == mailer.NoticeNewDevice {
			body = m.Text
		}
	}
	assert.Contains(t, body, "phone")
	assert.Contains(t, body, "198.51.100.7")
}

func TestNoticePasswordChangedAndOff(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(map[bool]string{false: "on", true: "off"}[off], func(t *testing.T) {
			f := newFixture(t, newMemStore, withLifecycle, func(c *auth.Config) {
				if off {
					c.Lifecycle.NoticesOff = []auth.NoticeKind{auth.NoticePasswordChanged}
				}
			})
			ctx := context.Background()
			f.verifiedUser(t, "alice")
			tok := f.login(t, "alice", strongPassword)
			id, err := f.svc.Authenticate(ctx, tok.AccessToken)
			require.NoError(t, err)
			require.NoError(t, f.svc.ChangePassword(ctx, id, strongPassword, otherPassword, auth.Client{}))
			require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
			code := f.codeSkippingNotices(t, "alice@example.com")
			require.NoError(t, f.svc.ResetPassword(ctx, "alice@example.com", code, strongPassword, auth.Client{}))
			want := []mailer.Kind{mailer.NoticePasswordChanged, mailer.NoticePasswordChanged}
			if off {
				want = nil
			}
			assert.Equal(t, want, f.notices(t, f.svc, "alice@example.com"))
		})
	}
}

// pendingTamper makes PendingEmail name another address than the one the
// code was mailed to, as a row changed in the database would.
type pendingTamper struct {
	*memstore.Store
	to string
}

func (p pendingTamper) PendingEmail(ctx context.Context, userID string, max int, at time.Time) (string, error) {
	if _, err := p.Store.PendingEmail(ctx, userID, max, at); err != nil {
		return "", err
	}
	return p.to, nil
}

// SECURITY 41 (the binding): the code is digested with the address it was
// mailed to, so a code cannot change the email to another address.
func TestChangeEmailCodeBoundToAddress(t *testing.T) {
	tamper := &pendingTamper{Store: memstore.New()}
	f := newFixture(t, func(testing.TB) store.Store { return tamper }, withLifecycle)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	tok := f.login(t, "alice", strongPassword)
	id, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	before := f.mailCount("alice@example.com")
	require.NoError(t, f.svc.ChangeEmail(ctx, id, strongPassword, "new@example.com", auth.Client{}))
	code := f.nextCode(t, "new@example.com")
	assert.Equal(t, before, f.mailCount("alice@example.com"), "the code goes to the new address only")

	tamper.to = "attacker@example.com"
	_, err = f.svc.ConfirmEmailChange(ctx, id, code, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode)
	tamper.to = "new@example.com"
	u, err := f.svc.ConfirmEmailChange(ctx, id, code, auth.Client{})
	require.NoError(t, err)
	assert.Equal(t, "new@example.com", u.Email)
	assert.Contains(t, f.eventKinds(), auth.EventEmailChanged)
}

// failingMailer refuses every message.
type failingMailer struct{}

func (failingMailer) Send(context.Context, mailer.Message) error { return errors.New("smtp down") }

// The mailer down: the usual answer, and the code can be asked for again
// after the cooldown.
func TestChangeEmailMailerDown(t *testing.T) {
	rec := &mailer.Recorder{}
	var down sync.Mutex
	broken := true
	refused := make(chan struct{}, 1)
	next := mailer.Func(func(ctx context.Context, m mailer.Message) error {
		down.Lock()
		defer down.Unlock()
		if broken && m.Kind == mailer.EmailChange {
			refused <- struct{}{}
			return failingMailer{}.Send(ctx, m)
		}
		return rec.Send(ctx, m)
	})
	// No retry: the mail of the first code is lost for good.
	async, err := mailer.NewAsync(next, mailer.AsyncConfig{MaxAttempts: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = async.Shutdown(context.Background()) })
	f := newFixture(t, newMemStore, withLifecycle, func(c *auth.Config) { c.Mailer = async })
	f.mail = rec
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	tok := f.login(t, "alice", strongPassword)
	id, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.NoError(t, f.svc.ChangeEmail(ctx, id, strongPassword, "new@example.com", auth.Client{}))
	<-refused
	down.Lock()
	broken = false
	down.Unlock()
	require.NoError(t, f.svc.ChangeEmail(ctx, id, strongPassword, "new@example.com", auth.Client{}), "within the cooldown: the same answer")
	f.clock.Advance(2 * time.Minute)
	require.NoError(t, f.svc.ChangeEmail(ctx, id, strongPassword, "new@example.com", auth.Client{}))
	code := f.nextCode(t, "new@example.com")
	_, err = f.svc.ConfirmEmailChange(ctx, id, code, auth.Client{})
	require.NoError(t, err)
}

// blockingStore holds CreateCode until released.
type blockingStore struct {
	*memstore.Store
	release chan struct{}
}

func (b *blockingStore) CreateCode(ctx context.Context, c store.VerificationCode) error {
	<-b.release
	return b.Store.CreateCode(ctx, c)
}

// SECURITY 44: with uniform registration, a new address costs the answer
// no more than a taken one: the code is made after the answer, as the
// notice to a taken address is (both paths hash the password first).
func TestUniformRegistrationAnswersBeforeMailWork(t *testing.T) {
	bs := &blockingStore{Store: memstore.New(), release: make(chan struct{})}
	f := newFixture(t, func(testing.TB) store.Store { return bs }, withLifecycle, func(c *auth.Config) {
		c.Lifecycle.UniformRegistration = true
	})
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Register waited for the code's store write")
	}
	close(bs.release)
	code := f.nextCode(t, "alice@example.com")
	owner, err := f.svc.VerifyEmail(ctx, "alice@example.com", code, auth.Client{})
	require.NoError(t, err)

	u, err := f.svc.Register(ctx, "mallory", "Alice@Example.com", strongPassword, auth.Client{})
	require.NoError(t, err, "a taken address is no error")
	assert.Zero(t, u)
	f.waitEvent(t, owner.ID, auth.EventSignupAttempt)
	_, err = f.svc.Register(ctx, "alice", "fresh@example.com", strongPassword, auth.Client{})
	var exists *auth.ExistsError
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, "username", exists.Field)
	assert.Equal(t, []mailer.Kind{mailer.NoticeSignupAttempt}, f.notices(t, f.svc, "alice@example.com"))
}

func TestAdminFlowsRefuse(t *testing.T) {
	f := newFixture(t, newMemStore, withLifecycle)
	ctx := context.Background()
	alice := f.verifiedUser(t, "alice")
	tok := f.login(t, "alice", strongPassword)
	id, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	_, err = f.svc.ListUsers(ctx, id, "", 10, "")
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = f.svc.GetUser(ctx, id, alice.ID)
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = f.svc.UpdateUser(ctx, id, alice.ID, store.UserUpdate{}, auth.Client{})
	require.ErrorIs(t, err, auth.ErrForbidden)
	require.ErrorIs(t, f.svc.LogoutUser(ctx, id, alice.ID, auth.Client{}), auth.ErrForbidden)
	require.ErrorIs(t, f.svc.DeleteUser(ctx, id, alice.ID, auth.Client{}), auth.ErrForbidden)

	_, err = f.svc.OperateUser(ctx, "test", "alice@example.com", store.UserUpdate{IsSuperuser: new(true)})
	require.NoError(t, err)
	id, err = f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	_, err = f.svc.OperateUser(ctx, "test", "nobody@example.com", store.UserUpdate{IsSuperuser: new(true)})
	require.ErrorIs(t, err, auth.ErrNotFound)
	page, err := f.svc.ListUsers(ctx, id, "", 1000, "")
	require.NoError(t, err)
	assert.Len(t, page.Users, 1)
	assert.Empty(t, page.Users[0].HashedPassword)
	require.ErrorIs(t, f.svc.DeleteUser(ctx, id, alice.ID, auth.Client{}), auth.ErrLastSuperuser)
	e := f.waitEvent(t, alice.ID, auth.EventAdminUserDeleted)
	assert.Equal(t, alice.ID, e.ActorID)
	assert.Equal(t, "last_superuser", e.Reason)

	off := newFixture(t, newMemStore)
	_, err = off.svc.ListUsers(ctx, id, "", 10, "")
	require.ErrorIs(t, err, auth.ErrNotEnabled)
	require.ErrorIs(t, off.svc.DeleteAccount(ctx, id, strongPassword, auth.Client{}), auth.ErrNotEnabled)
	require.ErrorIs(t, off.svc.ChangeEmail(ctx, id, strongPassword, "x@example.com", auth.Client{}), auth.ErrNotEnabled)
}

// codeSkippingNotices is nextCode that passes the notices queued before
// the code.
func (f *fixture) codeSkippingNotices(tb testing.TB, to string) string {
	tb.Helper()
	for {
		m := f.nextMail(tb, to)
		if !strings.HasPrefix(string(m.Kind), "notice_") {
			code := codePattern.FindString(m.Text)
			require.NotEmpty(tb, code, "no code in mail %q", m.Subject)
			return code
		}
	}
}

// Turning the second factor on and off, and new recovery codes, are told
// to the user (DESIGN §7).
func TestNoticeSecondFactor(t *testing.T) {
	f := newFixture(t, newMemStore, mfaOn, withLifecycle)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	id := f.identity(t, e.tokens)
	_, err := f.svc.RegenerateRecoveryCodes(ctx, id, strongPassword, f.code(t, e.secret), auth.Client{})
	require.NoError(t, err)
	f.clock.Advance(30 * time.Second)
	require.NoError(t, f.svc.DisableTOTP(ctx, id, strongPassword, f.code(t, e.secret), auth.Client{}))
	assert.Equal(t, []mailer.Kind{mailer.NoticeAccountChanged, mailer.NoticeAccountChanged, mailer.NoticeAccountChanged},
		f.notices(t, f.svc, "alice@example.com"))
	var texts []string
	for _, m := range f.mail.Messages() {
		if m.Kind == mailer.NoticeAccountChanged {
			texts = append(texts, m.Text)
		}
	}
	require.Len(t, texts, 3)
	// The mails leave through a queue: their order is not the flows'.
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Two-step verification was turned on", "New recovery codes", "Two-step verification was turned off"} {
		assert.Equal(t, 1, strings.Count(all, want), want)
	}
}
