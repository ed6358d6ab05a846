package auth_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
)

// The cases of the hardening review, each named after what it defends.

// raceStore runs an armed hook once, right before the next CreateSession
// or SetPassword reaches the store: a change that commits while a flow is
// between its password check and its write.
type raceStore struct {
	store.Store
	mu   sync.Mutex
	hook func()
}

func (s *raceStore) arm(hook func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = hook
}

func (s *raceStore) fire() {
	s.mu.Lock()
	h := s.hook
	s.hook = nil
	s.mu.Unlock()
	if h != nil {
		h()
	}
}

func (s *raceStore) CreateSession(ctx context.Context, t store.RefreshToken, verified string) error {
	s.fire()
	return s.Store.CreateSession(ctx, t, verified)
}

func (s *raceStore) SetPassword(ctx context.Context, id, oldHash, newHash string, at time.Time, keep string) error {
	s.fire()
	return s.Store.SetPassword(ctx, id, oldHash, newHash, at, keep)
}

// resetInStore replaces a user's password in the store as a reset would.
func (f *fixture) resetInStore(tb testing.TB, userID, pw string) {
	tb.Helper()
	ctx := context.Background()
	u, err := f.store.UserByID(ctx, userID)
	require.NoError(tb, err)
	hash, err := password.Hash(pw, testParams, nil)
	require.NoError(tb, err)
	require.NoError(tb, f.store.SetPassword(ctx, userID, u.HashedPassword, hash, f.clock.Now().Add(time.Second), ""))
}

func testLoginRacingReset(t *testing.T, newStore storeFactory) {
	t.Run("a reset between the check and the session wins", func(t *testing.T) {
		var rs *raceStore
		f := newFixture(t, func(tb testing.TB) store.Store {
			rs = &raceStore{Store: newStore(tb)}
			return rs
		})
		u := f.verifiedUser(t, "alice")
		rs.arm(func() { f.resetInStore(t, u.ID, otherPassword) })
		_, err := f.svc.Login(context.Background(), "alice", strongPassword, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, "the password checked is no longer the account's")
		sessions, err := f.store.Sessions(context.Background(), u.ID, f.clock.Now())
		require.NoError(t, err)
		assert.Empty(t, sessions, "no session was created with the old password")
		f.login(t, "alice", otherPassword)
	})

	t.Run("a reset between the check and change-password wins", func(t *testing.T) {
		var rs *raceStore
		f := newFixture(t, func(tb testing.TB) store.Store {
			rs = &raceStore{Store: newStore(tb)}
			return rs
		})
		u := f.verifiedUser(t, "alice")
		tok := f.login(t, "alice", strongPassword)
		id, err := f.svc.Authenticate(context.Background(), tok.AccessToken)
		require.NoError(t, err)
		rs.arm(func() { f.resetInStore(t, u.ID, otherPassword) })
		err = f.svc.ChangePassword(context.Background(), id, strongPassword, "Third-Password-3", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidPassword)
		_, err = f.svc.Refresh(context.Background(), tok.RefreshToken, auth.Client{})
		assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "the reset ended the session the change meant to keep")
		f.login(t, "alice", otherPassword)
	})

	t.Run("concurrent logins and a reset", func(t *testing.T) {
		f := newFixture(t, newStore, func(c *auth.Config) {
			c.LoginMaxFailures = -1
			c.Password.MaxQueue = 64
		})
		u := f.verifiedUser(t, "alice")
		ctx := context.Background()
		var wg sync.WaitGroup
		tokens := make(chan auth.Tokens, 20)
		for range 20 {
			wg.Go(func() {
				if tok, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{}); err == nil {
					tokens <- tok
				}
			})
		}
		f.resetInStore(t, u.ID, otherPassword)
		wg.Wait()
		close(tokens)
		for tok := range tokens {
			if _, err := f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{}); err == nil {
				// Only a session the reset had already revoked may have
				// been created before it; none may be alive after it.
				t.Fatal("a session started with the old password outlived the reset")
			}
		}
	})
}

func testLoginBurst(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, func(c *auth.Config) { c.Password.MaxQueue = 128 })
	f.verifiedUser(t, "alice")
	ctx := context.Background()
	const n = 50
	var wrong, limited atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := f.svc.Login(ctx, "alice", "Wrong-Password-1", auth.Client{IP: "198.51.100.7"})
			switch {
			case errors.Is(err, auth.ErrInvalidCredentials):
				wrong.Add(1)
			case errors.Is(err, auth.ErrRateLimited):
				limited.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 5, int(wrong.Load()), "exactly the limit of guesses evaluated")
	assert.Equal(t, n-5, int(limited.Load()))
	_, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{IP: "198.51.100.7"})
	assert.ErrorIs(t, err, auth.ErrRateLimited, "the right password after the burst waits too")

	t.Run("change-password", func(t *testing.T) {
		tok := f.login(t, "alice", strongPassword)
		id, err := f.svc.Authenticate(ctx, tok.AccessToken)
		require.NoError(t, err)
		var wrong atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				err := f.svc.ChangePassword(ctx, id, "Wrong-Password-1", otherPassword, auth.Client{})
				if errors.Is(err, auth.ErrInvalidPassword) {
					wrong.Add(1)
				} else {
					assert.ErrorIs(t, err, auth.ErrRateLimited)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, 5, int(wrong.Load()), "exactly the limit of current-password guesses evaluated")
	})
}

func testSessionEndCutsAccess(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	phone := f.login(t, "alice", strongPassword)
	laptop := f.login(t, "alice", strongPassword)
	tablet := f.login(t, "alice", strongPassword)

	require.NoError(t, f.svc.Logout(ctx, phone.RefreshToken, auth.Client{}))
	_, err := f.svc.Authenticate(ctx, phone.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "logout ends the session's access token at once")
	_, err = f.svc.VerifyAccessToken(phone.AccessToken)
	assert.NoError(t, err, "the store-free check cannot see it, as documented")

	owner, err := f.svc.Authenticate(ctx, laptop.AccessToken)
	require.NoError(t, err)
	require.NoError(t, f.svc.RevokeDevice(ctx, owner, tablet.SessionID, auth.Client{}))
	_, err = f.svc.Authenticate(ctx, tablet.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "a revoked device's access token fails at once")

	// Reuse detection ends the session, and with it the thief's access.
	next, err := f.svc.Refresh(ctx, laptop.RefreshToken, auth.Client{})
	require.NoError(t, err)
	_, err = f.svc.Refresh(ctx, laptop.RefreshToken, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	_, err = f.svc.Authenticate(ctx, next.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken)
}

func testLockoutResistance(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, func(c *auth.Config) { c.LoginFailuresPerHour = 12 })
	f.verifiedUser(t, "alice")
	ctx := context.Background()
	attacker := auth.Client{IP: "203.0.113.9"}
	owner := auth.Client{IP: "198.51.100.20"}
	for range 5 {
		_, err := f.svc.Login(ctx, "alice", "Wrong-Password-1", attacker)
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	_, err := f.svc.Login(ctx, "alice", "Wrong-Password-1", attacker)
	require.ErrorIs(t, err, auth.ErrRateLimited, "the attacker's network is held")

	tok, err := f.svc.Login(ctx, "alice", strongPassword, owner)
	require.NoError(t, err, "the owner, from another network, is not locked out")
	require.NotEmpty(t, tok.DeviceToken)

	_, err = f.svc.Login(ctx, "alice@example.com", "Wrong-Password-1", attacker)
	assert.ErrorIs(t, err, auth.ErrInvalidCredentials, "a lock on the username says nothing about the email: no oracle")

	// Failures from many networks reach the account-wide ceiling (12 an
	// hour here; 5 from the first network already counted).
	for i := range 7 {
		_, err := f.svc.Login(ctx, "alice", "Wrong-Password-1", auth.Client{IP: fmt.Sprintf("192.0.2.%d", i+1)})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	_, err = f.svc.Login(ctx, "alice", strongPassword, auth.Client{IP: "198.51.100.99"})
	require.ErrorIs(t, err, auth.ErrRateLimited, "a new device is held by the ceiling")
	withDevice := owner
	withDevice.DeviceToken = tok.DeviceToken
	_, err = f.svc.Login(ctx, "alice", strongPassword, withDevice)
	require.NoError(t, err, "a known device passes the account-wide lock")

	forged := withDevice
	forged.DeviceToken = tok.DeviceToken[:len(tok.DeviceToken)-2] + "AA"
	_, err = f.svc.Login(ctx, "alice", strongPassword, forged)
	assert.ErrorIs(t, err, auth.ErrRateLimited, "a forged device token is no device token")

	f.verifiedUser(t, "bob")
	bobs := f.login(t, "bob", strongPassword)
	other := owner
	other.DeviceToken = bobs.DeviceToken
	_, err = f.svc.Login(ctx, "alice", strongPassword, other)
	assert.ErrorIs(t, err, auth.ErrRateLimited, "another account's device token does not count")
}

func testCodeBudgets(t *testing.T, newStore storeFactory) {
	t.Run("refused sends do not spend the hourly budget", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.verifiedUser(t, "alice")
		ctx := context.Background()
		for range 5 {
			require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
		}
		f.nextMail(t, "alice@example.com")
		for range 4 {
			f.clock.Advance(61 * time.Second)
			require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
			f.nextMail(t, "alice@example.com")
		}
		f.clock.Advance(61 * time.Second)
		require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
		require.NoError(t, f.svc.Shutdown(ctx)) // waits for the background sends
		assert.Equal(t, 2+5, f.mailCount("alice@example.com"), "code and welcome, then five resets an hour, the sixth refused")
	})

	t.Run("settable cooldown and cap", func(t *testing.T) {
		f := newFixture(t, newStore, func(c *auth.Config) { c.CodeResendCooldown = -1; c.CodeSendsPerHour = 2 })
		f.verifiedUser(t, "alice")
		ctx := context.Background()
		for range 3 {
			require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
		}
		require.NoError(t, f.svc.Shutdown(ctx))
		assert.Equal(t, 2+2, f.mailCount("alice@example.com"), "no cooldown, two an hour")
	})

	t.Run("wrong codes cost the guessing network", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.verifiedUser(t, "alice")
		f.verifiedUser(t, "bob")
		ctx := context.Background()
		attacker := auth.Client{IP: "203.0.113.50"}
		for i := range 10 {
			who := "alice@example.com"
			if i%2 == 1 {
				who = "bob@example.com"
			}
			err := f.svc.ResetPassword(ctx, who, "000000", otherPassword, attacker)
			require.ErrorIs(t, err, auth.ErrInvalidCode)
		}
		err := f.svc.ResetPassword(ctx, "carol@example.com", "000000", otherPassword, attacker)
		require.ErrorIs(t, err, auth.ErrRateLimited, "past ten wrong codes the network waits, whatever the account")
		_, err = f.svc.VerifyEmail(ctx, "alice@example.com", "000000", attacker)
		require.ErrorIs(t, err, auth.ErrRateLimited)

		require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
		code := f.nextCode(t, "alice@example.com")
		require.NoError(t, f.svc.ResetPassword(ctx, "alice@example.com", code, otherPassword, auth.Client{IP: "198.51.100.1"}),
			"the owner's network is not held")
	})
}

func testResetTellsNothing(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	// A username the email does not show.
	_, err := f.svc.Register(ctx, "wombat", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	_, err = f.svc.VerifyEmail(ctx, "alice@example.com", f.nextCode(t, "alice@example.com"), auth.Client{})
	require.NoError(t, err)
	f.nextMail(t, "alice@example.com") // the welcome mail
	require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
	code := f.nextCode(t, "alice@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	withName := "Wombat-Has-A-Secret-9" // contains the username
	err = f.svc.ResetPassword(ctx, "alice@example.com", wrong, withName, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCode, "without the code, no word on the account's username")
	err = f.svc.ResetPassword(ctx, "nobody@example.com", wrong, withName, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCode)

	err = f.svc.ResetPassword(ctx, "alice@example.com", code, withName, auth.Client{})
	var verr *auth.ValidationError
	require.ErrorAs(t, err, &verr, "with the right code, the rule is told")
	require.NoError(t, f.svc.ResetPassword(ctx, "alice@example.com", code, otherPassword, auth.Client{}),
		"the code was not spent by the refused password")
	f.login(t, "wombat", otherPassword)

	// A rule that needs no account is told at once, for anyone.
	err = f.svc.ResetPassword(ctx, "nobody@example.com", wrong, "short", auth.Client{})
	assert.ErrorAs(t, err, &verr)
}

func testPreAccountTakeover(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	_, err := f.svc.Register(ctx, "mallory", "victim@example.com", "Correct-Battery-1", auth.Client{})
	require.NoError(t, err)
	attackersCode := f.nextCode(t, "victim@example.com")

	victim, err := f.svc.Register(ctx, "victim", "victim@example.com", strongPassword, auth.Client{})
	require.NoError(t, err, "the owner's registration replaces the pending one")
	assert.Empty(t, victim.HashedPassword)
	_, err = f.svc.VerifyEmail(ctx, "victim@example.com", attackersCode, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode, "a code binds to the registration it was sent for")
	_, err = f.svc.VerifyEmail(ctx, "victim@example.com", f.nextCode(t, "victim@example.com"), auth.Client{})
	require.NoError(t, err)

	_, err = f.svc.Login(ctx, "victim@example.com", "Correct-Battery-1", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "the attacker's password is not in force")
	_, err = f.svc.Login(ctx, "mallory", "Correct-Battery-1", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	f.login(t, "victim", strongPassword)

	_, err = f.svc.Register(ctx, "mallory2", "victim@example.com", "Correct-Battery-1", auth.Client{})
	var exists *auth.ExistsError
	require.ErrorAs(t, err, &exists, "a verified address is never replaced")
	assert.Equal(t, "email", exists.Field)

	// Unverified accounts expire.
	_, err = f.svc.Register(ctx, "pending", "pending@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	f.clock.Advance(8 * 24 * time.Hour)
	n, err := f.svc.DeleteExpired(ctx)
	require.NoError(t, err)
	assert.Positive(t, n)
	_, err = f.store.UserByUsername(ctx, "pending")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.store.UserByUsername(ctx, "victim")
	assert.NoError(t, err, "a verified account stays")
}

func testDisableEndsSessions(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	u := f.verifiedUser(t, "alice")
	tok := f.login(t, "alice", strongPassword)
	require.NoError(t, f.store.SetActive(ctx, u.ID, false, f.clock.Now()))
	require.NoError(t, f.store.SetActive(ctx, u.ID, true, f.clock.Now()))
	_, err := f.svc.Authenticate(ctx, tok.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "re-enabling brings no access token back")
	_, err = f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "nor a refresh token")
	f.login(t, "alice", strongPassword)
}

func testRefreshAfterLogoutIsNoTheft(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	u := f.verifiedUser(t, "alice")
	tok := f.login(t, "alice", strongPassword)
	require.NoError(t, f.svc.Logout(ctx, tok.RefreshToken, auth.Client{}))
	f.drainEvents()
	_, err := f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	e := f.waitEvent(t, u.ID, auth.EventRefreshFailed, auth.EventRefreshReuse)
	assert.Equal(t, auth.EventRefreshFailed, e.Kind, "a refresh after logout is not reported as theft")
	assert.Equal(t, "session_ended", e.Reason)

	tok = f.login(t, "alice", strongPassword)
	_, err = f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	require.NoError(t, err)
	_, err = f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	e = f.waitEvent(t, u.ID, auth.EventRefreshFailed, auth.EventRefreshReuse)
	assert.Equal(t, auth.EventRefreshReuse, e.Kind, "a rotated token presented again is")
}

func testSessionMaxLifetime(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, func(c *auth.Config) {
		c.SessionMaxLifetime = 2 * time.Hour
		c.Token.RefreshTTL = time.Hour
	})
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	login := f.login(t, "alice", strongPassword)
	end := f.clock.Now().Add(2 * time.Hour)
	tok := login
	for range 2 {
		f.clock.Advance(50 * time.Minute)
		next, err := f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
		require.NoError(t, err)
		tok = next
	}
	assert.False(t, tok.RefreshExpiresAt.After(end), "no refresh token outlives the session's end")
	f.clock.Advance(25 * time.Minute) // past the end, within the refresh TTL
	_, err := f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "a session refreshed often still ends")
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken)
}

func testNoHashInResults(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	u, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	assert.Empty(t, u.HashedPassword, "register")
	v, err := f.svc.VerifyEmail(ctx, "alice@example.com", f.nextCode(t, "alice@example.com"), auth.Client{})
	require.NoError(t, err)
	assert.Empty(t, v.HashedPassword, "verify")
	tok := f.login(t, "alice", strongPassword)
	assert.Empty(t, tok.User.HashedPassword, "login")
	id, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	assert.Empty(t, id.User.HashedPassword, "the identity in a request's context")
	next, err := f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	require.NoError(t, err)
	assert.Empty(t, next.User.HashedPassword, "refresh")
}

// TestFullMailQueue: a code send that cannot be queued voids no code,
// spends no send budget, and is audited.
func TestFullMailQueue(t *testing.T) {
	rec := &mailer.Recorder{}
	var mu sync.Mutex
	gate := make(chan struct{})
	close(gate) // open: mails pass
	slow := mailer.Func(func(ctx context.Context, m mailer.Message) error {
		mu.Lock()
		g := gate
		mu.Unlock()
		select {
		case <-g:
		case <-ctx.Done():
			return ctx.Err()
		}
		return rec.Send(ctx, m)
	})
	queue, err := mailer.NewAsync(slow, mailer.AsyncConfig{QueueSize: 1, Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	f := newFixture(t, newMemStore, func(c *auth.Config) { c.Mailer = queue })
	f.mail = rec
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = queue.Shutdown(ctx)
	})
	u := f.verifiedUser(t, "alice")
	ctx := context.Background()
	require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
	first := f.nextCode(t, "alice@example.com")

	// Close the gate and fill the queue: one mail with the worker, one
	// waiting.
	mu.Lock()
	gate = make(chan struct{})
	mu.Unlock()
	require.NoError(t, queue.Send(ctx, mailer.Message{To: "filler1@example.com", Subject: "x", Text: "x"}))
	require.Eventually(t, func() bool {
		return queue.Send(ctx, mailer.Message{To: "filler2@example.com", Subject: "x", Text: "x"}) == nil
	}, 5*time.Second, time.Millisecond, "the worker takes the first filler, the second waits")

	f.clock.Advance(61 * time.Second)
	f.drainEvents()
	require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
	e := f.waitEvent(t, u.ID, auth.EventMailDropped, auth.EventResetRequested)
	assert.Equal(t, auth.EventMailDropped, e.Kind, "a mail that cannot be queued is audited")

	require.NoError(t, f.svc.ResetPassword(ctx, "alice@example.com", first, otherPassword, auth.Client{}),
		"the code mailed before still works: the dropped send voided nothing")

	mu.Lock()
	close(gate)
	mu.Unlock()
	// The dropped send did not start a cooldown: at once, a new code goes
	// (once the queue has room again).
	require.Eventually(t, func() bool {
		f.drainEvents()
		require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
		return f.waitEvent(t, u.ID, auth.EventMailDropped, auth.EventResetRequested, auth.EventRateLimited).Kind == auth.EventResetRequested
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, f.svc.ResetPassword(ctx, "alice@example.com", f.nextCode(t, "alice@example.com"), "Third-Password-3", auth.Client{}))
}
