package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// runFlows runs every flow test against stores made by newStore, so the
// same suite proves the service on memory and on SQL.
func runFlows(t *testing.T, newStore storeFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore storeFactory)
	}{
		{"RegisterValidation", testRegisterValidation},
		{"RegisterConflict", testRegisterConflict},
		{"RegisterNormalises", testRegisterNormalises},
		{"RegisterConcurrentEmail", testRegisterConcurrentEmail},
		{"BasicMode", testBasicMode},
		{"CompleteRegisterNeedsVerification", testCompleteRegisterNeedsVerification},
		{"LoginOneAnswer", testLoginOneAnswer},
		{"LoginInactive", testLoginInactive},
		{"LoginThrottle", testLoginThrottle},
		{"Rehash", testRehash},
		{"Authenticate", testAuthenticate},
		{"RefreshRotation", testRefreshRotation},
		{"RefreshConcurrent", testRefreshConcurrent},
		{"Logout", testLogout},
		{"LogoutAll", testLogoutAll},
		{"Devices", testDevices},
		{"VerifyEmailCodes", testVerifyEmailCodes},
		{"CodeConcurrentGuesses", testCodeConcurrentGuesses},
		{"Resend", testResend},
		{"ForgotAndReset", testForgotAndReset},
		{"ChangePassword", testChangePassword},
		{"NoSecretsInLogs", testNoSecretsInLogs},
		{"LoginRacingReset", testLoginRacingReset},
		{"LoginBurst", testLoginBurst},
		{"SessionEndCutsAccess", testSessionEndCutsAccess},
		{"LockoutResistance", testLockoutResistance},
		{"CodeBudgets", testCodeBudgets},
		{"ResetTellsNothing", testResetTellsNothing},
		{"PreAccountTakeover", testPreAccountTakeover},
		{"DisableEndsSessions", testDisableEndsSessions},
		{"RefreshAfterLogoutIsNoTheft", testRefreshAfterLogoutIsNoTheft},
		{"SessionMaxLifetime", testSessionMaxLifetime},
		{"NoHashInResults", testNoHashInResults},
		{"MFA", testMFA},
		{"Passkeys", testPasskeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore) })
	}
}

func testRegisterValidation(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	tests := []struct {
		name, username, email, pw string
		want                      []string // field:code
	}{
		{"short username", "ab", "a@example.com", strongPassword, []string{"username:username_invalid"}},
		{"long username", strings.Repeat("a", 33), "a@example.com", strongPassword, []string{"username:username_invalid"}},
		{"username with space", "al ice", "a@example.com", strongPassword, []string{"username:username_invalid"}},
		{"username with at", "al@ce", "a@example.com", strongPassword, []string{"username:username_invalid"}},
		{"email without at", "alice", "alice.example.com", strongPassword, []string{"email:email_invalid"}},
		{"email with name", "alice", "Alice <a@example.com>", strongPassword, []string{"email:email_invalid"}},
		{"email without dot", "alice", "a@localhost", strongPassword, []string{"email:email_invalid"}},
		{"email too long", "alice", strings.Repeat("a", 250) + "@example.com", strongPassword, []string{"email:email_invalid"}},
		{"email domain literal", "alice", "x@[127.0.0.1]", strongPassword, []string{"email:email_invalid"}},
		{"email IPv6 literal", "alice", "x@[IPv6:::1]", strongPassword, []string{"email:email_invalid"}},
		{"email percent hack", "alice", "victim%evil.example@example.com", strongPassword, []string{"email:email_invalid"}},
		{"email bang path", "alice", "evil!victim@example.com", strongPassword, []string{"email:email_invalid"}},
		{"email quoted local part", "alice", `"a b"@example.com`, strongPassword, []string{"email:email_invalid"}},
		{"email local part over 64", "alice", strings.Repeat("a", 65) + "@example.com", strongPassword, []string{"email:email_invalid"}},
		{"email zero-width joiner", "alice", "ka\u200dte@example.com", strongPassword, []string{"email:email_invalid"}},
		{"email bidi override", "alice", "kate\u202e@example.com", strongPassword, []string{"email:email_invalid"}},
		{"email NUL", "alice", "kate\x00@example.com", strongPassword, []string{"email:email_invalid"}},
		{"email invalid UTF-8", "alice", "kate\xff@example.com", strongPassword, []string{"email:email_invalid"}},
		{"email empty label", "alice", "kate@example..com", strongPassword, []string{"email:email_invalid"}},
		{"email hyphen label", "alice", "kate@-example.com", strongPassword, []string{"email:email_invalid"}},
		{"username non-ASCII", "kåte", "a@example.com", strongPassword, []string{"username:username_invalid"}},
		{"weak password", "alice", "a@example.com", "short", []string{
			"password:password_too_short", "password:password_no_upper", "password:password_no_digit", "password:password_no_special"}},
		{"password with username", "alice", "a@example.com", "Alice-Secret-7", []string{"password:password_contains_user_info"}},
		{"everything wrong", "", "", "", []string{"username:username_invalid", "email:email_invalid", "password:password_too_short"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Register(ctx, tt.username, tt.email, tt.pw, auth.Client{})
			require.ErrorIs(t, err, auth.ErrValidation)
			var verr *auth.ValidationError
			require.ErrorAs(t, err, &verr)
			var got []string
			for _, fe := range verr.Errors {
				got = append(got, fe.Field+":"+fe.Code)
				assert.NotEmpty(t, fe.Message)
			}
			for _, w := range tt.want {
				assert.Contains(t, got, w)
			}
		})
	}
	_, err := f.store.UserByUsername(ctx, "alice")
	assert.ErrorIs(t, err, store.ErrNotFound, "a refused registration stores nothing")
}

// testRegisterNormalises: an address typed with a combining accent and
// one typed precomposed are one account (NFC), and a local part of exactly
// 64 bytes is fine.
func testRegisterNormalises(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	u, err := f.svc.Register(ctx, "rene", "  rene\u0301@example.com ", strongPassword, auth.Client{})
	require.NoError(t, err)
	assert.Equal(t, "ren\u00e9@example.com", u.Email, "stored trimmed and in NFC")
	_, err = f.svc.VerifyEmail(ctx, "rene\u0301@example.com", f.nextCode(t, u.Email), auth.Client{})
	require.NoError(t, err, "verified through the other form")
	_, err = f.svc.Register(ctx, "rene2", "REN\u00c9@example.com", strongPassword, auth.Client{})
	var exists *auth.ExistsError
	require.ErrorAs(t, err, &exists, "one account, whatever the form or case")
	_, err = f.svc.Register(ctx, "longlocal", strings.Repeat("a", 64)+"@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	_, err = f.svc.Register(ctx, "intl", "j\u00f6rg@m\u00fcller.example", strongPassword, auth.Client{})
	require.NoError(t, err, "internationalised addresses are fine")
	tok, err := f.svc.Login(ctx, " RENE\u0301@example.com", strongPassword, auth.Client{})
	require.NoError(t, err, "login finds the account through the other form and case")
	assert.Equal(t, "rene", tok.User.Username)
}

func testRegisterConflict(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	u, err := f.svc.Register(ctx, "alice", "  Alice@Example.com ", strongPassword, auth.Client{})
	require.NoError(t, err)
	assert.Equal(t, "Alice@Example.com", u.Email, "email is trimmed")
	assert.Empty(t, u.HashedPassword)

	// The username of a pending account is taken all the same.
	_, err = f.svc.Register(ctx, "Alice", "pending@example.com", strongPassword, auth.Client{})
	var pending *auth.ExistsError
	require.ErrorAs(t, err, &pending)
	assert.Equal(t, "username", pending.Field)

	_, err = f.svc.VerifyEmail(ctx, "alice@example.com", f.nextCode(t, "Alice@Example.com"), auth.Client{})
	require.NoError(t, err)

	_, err = f.svc.Register(ctx, "ALICE", "other@example.com", strongPassword, auth.Client{})
	var exists *auth.ExistsError
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, "username", exists.Field)
	assert.ErrorIs(t, err, auth.ErrUserExists)

	_, err = f.svc.Register(ctx, "bob", "alice@EXAMPLE.com", strongPassword, auth.Client{})
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, "email", exists.Field)

	// A look-alike with a dotless i is another address.
	_, err = f.svc.Register(ctx, "mallory", "alıce@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
}

func testRegisterConcurrentEmail(t *testing.T, newStore storeFactory) {
	t.Run("basic mode", func(t *testing.T) { registerRace(t, newFixture(t, newStore, basicMode)) })
	t.Run("complete mode, where a registration replaces a pending one", func(t *testing.T) {
		registerRace(t, newFixture(t, newStore))
	})
}

// registerRace registers one email twice at once: one account remains,
// whose username is that of a successful registration.
func registerRace(t *testing.T, f *fixture) {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.Register(context.Background(), fmt.Sprintf("racer%d", i), "race@example.com", strongPassword, auth.Client{})
		}()
	}
	wg.Wait()
	ctx := context.Background()
	owner, err := f.store.UserByEmail(ctx, "race@example.com")
	require.NoError(t, err)
	found := 0
	for i, err := range errs {
		name := fmt.Sprintf("racer%d", i)
		if _, lookErr := f.store.UserByUsername(ctx, name); lookErr == nil {
			found++
			require.NoError(t, err, "the account that remains was registered")
			assert.Equal(t, name, owner.Username)
		} else if err != nil {
			assert.ErrorIs(t, err, auth.ErrUserExists)
		}
	}
	assert.Equal(t, 1, found, "two concurrent registrations of one email make one account")
}

func testBasicMode(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, basicMode)
	ctx := context.Background()
	u, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	assert.True(t, u.IsActive)
	tok, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
	require.NoError(t, err)
	assert.Empty(t, tok.RefreshToken)
	assert.Empty(t, tok.SessionID)
	assert.Equal(t, "bearer", tok.TokenType)
	assert.Equal(t, int64(1800), tok.ExpiresIn)
	id, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, id.User.ID)
	assert.Empty(t, f.mail.Messages(), "basic mode sends no mail")

	for name, call := range map[string]func() error{
		"refresh":  func() error { _, err := f.svc.Refresh(ctx, "x", auth.Client{}); return err },
		"logout":   func() error { return f.svc.Logout(ctx, "x", auth.Client{}) },
		"all":      func() error { return f.svc.LogoutAll(ctx, id, auth.Client{}) },
		"verify":   func() error { _, err := f.svc.VerifyEmail(ctx, "a@b.c", "123456", auth.Client{}); return err },
		"resend":   func() error { return f.svc.ResendVerification(ctx, "a@b.c", auth.Client{}) },
		"forgot":   func() error { return f.svc.ForgotPassword(ctx, "a@b.c", auth.Client{}) },
		"reset":    func() error { return f.svc.ResetPassword(ctx, "a@b.c", "123456", otherPassword, auth.Client{}) },
		"change":   func() error { return f.svc.ChangePassword(ctx, id, strongPassword, otherPassword, auth.Client{}) },
		"devices":  func() error { _, err := f.svc.Devices(ctx, id); return err },
		"revokedv": func() error { return f.svc.RevokeDevice(ctx, id, "x", auth.Client{}) },
	} {
		assert.ErrorIs(t, call(), auth.ErrNotEnabled, name)
	}
}

func testCompleteRegisterNeedsVerification(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	u, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	assert.False(t, u.IsVerified)
	code := f.nextCode(t, "alice@example.com")

	_, err = f.svc.Login(ctx, "alice", "Wrong-Password-1", auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCredentials, "a wrong password says nothing about verification")
	_, err = f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrEmailNotVerified)

	v, err := f.svc.VerifyEmail(ctx, "ALICE@example.com", code, auth.Client{})
	require.NoError(t, err)
	assert.True(t, v.IsVerified)
	welcome := f.nextMail(t, "alice@example.com")
	assert.Contains(t, welcome.Text, "alice")
	tok := f.login(t, "alice@example.com", strongPassword)
	assert.NotEmpty(t, tok.RefreshToken)
	assert.NotEmpty(t, tok.SessionID)

	// AllowUnverifiedLogin lifts the rule.
	g := newFixture(t, newStore, func(c *auth.Config) { c.AllowUnverifiedLogin = true })
	_, err = g.svc.Register(ctx, "bob", "bob@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	g.login(t, "bob", strongPassword)
}

func testLoginOneAnswer(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	f.verifiedUser(t, "alice")
	ctx := context.Background()
	_, errUnknown := f.svc.Login(ctx, "nobody", strongPassword, auth.Client{})
	_, errWrong := f.svc.Login(ctx, "alice", "Wrong-Password-1", auth.Client{})
	_, errDummy := f.svc.Login(ctx, "nobody", "forgeauth dummy password", auth.Client{})
	for _, err := range []error{errUnknown, errWrong, errDummy} {
		assert.ErrorIs(t, err, auth.ErrInvalidCredentials)
		assert.Equal(t, auth.ErrInvalidCredentials.Error(), err.Error(), "one answer, same text")
	}
	tok := f.login(t, "alice", strongPassword)
	u, err := f.store.UserByUsername(ctx, "alice")
	require.NoError(t, err)
	assert.True(t, u.LastLoginAt.Equal(f.clock.Now()), "last_login_at is recorded")
	assert.Equal(t, u.ID, tok.User.ID)
	assert.Contains(t, f.eventKinds(), auth.EventLoginFailed)
	assert.Contains(t, f.eventKinds(), auth.EventLoginSucceeded)
}

func testLoginInactive(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	u := f.verifiedUser(t, "alice")
	ctx := context.Background()
	require.NoError(t, f.store.SetActive(ctx, u.ID, false, f.clock.Now()))
	_, err := f.svc.Login(ctx, "alice", "Wrong-Password-1", auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCredentials, "the state of an account is told only with its password")
	_, err = f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInactiveUser)
}

func testLoginThrottle(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	f.verifiedUser(t, "alice")
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_, err := f.svc.Login(ctx, "alice", "Wrong-Password-1", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	_, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
	var rl *auth.RateLimitError
	require.ErrorAs(t, err, &rl, "the right password is refused while throttled")
	assert.Greater(t, rl.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, rl.RetryAfter, 15*time.Minute)

	// Unknown accounts are throttled the same way.
	for i := 0; i < 5; i++ {
		_, err := f.svc.Login(ctx, "nobody", "Wrong-Password-1", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	_, err = f.svc.Login(ctx, "nobody", "Wrong-Password-1", auth.Client{})
	assert.ErrorIs(t, err, auth.ErrRateLimited)

	// A throttled account can still reset its password.
	require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
	require.NoError(t, f.svc.ResetPassword(ctx, "alice@example.com", f.nextCode(t, "alice@example.com"), otherPassword, auth.Client{}))
	f.login(t, "alice", otherPassword)

	// The window passes.
	for i := 0; i < 5; i++ {
		_, _ = f.svc.Login(ctx, "alice", "Wrong-Password-1", auth.Client{})
	}
	_, err = f.svc.Login(ctx, "alice", otherPassword, auth.Client{})
	require.ErrorIs(t, err, auth.ErrRateLimited)
	f.clock.Advance(16 * time.Minute)
	f.login(t, "alice", otherPassword)
	assert.Contains(t, f.eventKinds(), auth.EventRateLimited)

	// Zero-or-less turns the limit off.
	g := newFixture(t, newStore, basicMode, func(c *auth.Config) { c.LoginMaxFailures = -1 })
	_, err = g.svc.Register(ctx, "bob", "bob@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	for i := 0; i < 8; i++ {
		_, err := g.svc.Login(ctx, "bob", "Wrong-Password-1", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	g.login(t, "bob", strongPassword)
}

func testRehash(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, basicMode)
	ctx := context.Background()
	old := testParams
	old.Iterations = 2
	oldHash, err := password.Hash(strongPassword, old, nil)
	require.NoError(t, err)
	now := f.clock.Now()
	require.NoError(t, f.store.CreateUser(ctx, store.User{ID: "u-old", Username: "legacy", Email: "legacy@example.com", HashedPassword: oldHash, IsActive: true, CreatedAt: now, UpdatedAt: now}))

	_, err = f.svc.Login(ctx, "legacy", "Wrong-Password-1", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	u, err := f.store.UserByID(ctx, "u-old")
	require.NoError(t, err)
	assert.Equal(t, oldHash, u.HashedPassword, "a failed login upgrades nothing")

	f.login(t, "legacy", strongPassword)
	u, err = f.store.UserByID(ctx, "u-old")
	require.NoError(t, err)
	assert.NotEqual(t, oldHash, u.HashedPassword, "the hash was upgraded")
	assert.False(t, password.NeedsRehash(u.HashedPassword, testParams))
	f.login(t, "legacy", strongPassword)
}

func testAuthenticate(t *testing.T, newStore storeFactory) {
	fs := &failingStore{}
	f := newFixture(t, func(tb testing.TB) store.Store { fs.Store = newStore(tb); return fs })
	ctx := context.Background()
	u := f.verifiedUser(t, "alice")
	tok := f.login(t, "alice", strongPassword)

	id, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, id.User.ID)
	assert.Equal(t, tok.SessionID, id.Claims.SessionID)

	claims, err := f.svc.VerifyAccessToken(tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, "alice", claims.Subject)

	for name, bad := range map[string]string{
		"empty":   "",
		"garbage": "not.a.token",
		"refresh": tok.RefreshToken,
		"tamper":  tok.AccessToken[:len(tok.AccessToken)-4] + "AAAA",
	} {
		_, err := f.svc.Authenticate(ctx, bad)
		assert.ErrorIs(t, err, auth.ErrInvalidToken, name)
	}

	fs.set(fmt.Errorf("connection refused: %w", store.ErrUnavailable))
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	var unavailable *auth.UnavailableError
	require.ErrorAs(t, err, &unavailable, "a store that is down fails closed")
	assert.Greater(t, unavailable.RetryAfter, time.Duration(0))
	fs.set(errors.New("SELECT secret FROM somewhere"))
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	require.Error(t, err)
	assert.NotErrorIs(t, err, auth.ErrInvalidToken)
	fs.set(nil)

	require.NoError(t, f.store.SetActive(ctx, u.ID, false, f.clock.Now()))
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "a disabled user's token fails")
	require.NoError(t, f.store.SetActive(ctx, u.ID, true, f.clock.Now()))

	require.NoError(t, f.store.DeleteUser(ctx, u.ID))
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "a deleted user's token fails")

	f.clock.Advance(31*time.Minute + 31*time.Second)
	_, err = f.svc.VerifyAccessToken(tok.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken)
	assert.ErrorIs(t, err, token.ErrExpired, "the token package's reason is kept")
}

func testRefreshRotation(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	first := f.login(t, "alice", strongPassword)

	f.clock.Advance(time.Minute)
	second, err := f.svc.Refresh(ctx, first.RefreshToken, auth.Client{IP: "192.0.2.9"})
	require.NoError(t, err)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
	assert.Equal(t, first.SessionID, second.SessionID, "the session survives rotation")
	_, err = f.svc.Authenticate(ctx, second.AccessToken)
	require.NoError(t, err)

	third, err := f.svc.Refresh(ctx, second.RefreshToken, auth.Client{})
	require.NoError(t, err)

	// The first token again: reuse. The whole family goes.
	_, err = f.svc.Refresh(ctx, first.RefreshToken, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	_, err = f.svc.Refresh(ctx, third.RefreshToken, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "the newest token of a reused family fails too")
	assert.Contains(t, f.eventKinds(), auth.EventRefreshReuse)

	_, err = f.svc.Refresh(ctx, first.AccessToken, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "an access token is not a refresh token")
	_, err = f.svc.Refresh(ctx, "garbage", auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken)

	// An expired refresh token.
	fresh := f.login(t, "alice", strongPassword)
	f.clock.Advance(25 * time.Hour)
	_, err = f.svc.Refresh(ctx, fresh.RefreshToken, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
}

func testRefreshConcurrent(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	f.verifiedUser(t, "alice")
	tok := f.login(t, "alice", strongPassword)
	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		success int
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Refresh(context.Background(), tok.RefreshToken, auth.Client{})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				success++
			} else {
				assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, success, "the same refresh token sent 50 times at once succeeds once")
}

func testLogout(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	f.verifiedUser(t, "bob")
	a := f.login(t, "alice", strongPassword)
	b := f.login(t, "bob", strongPassword)

	require.NoError(t, f.svc.Logout(ctx, a.RefreshToken, auth.Client{}))
	require.NoError(t, f.svc.Logout(ctx, a.RefreshToken, auth.Client{}), "logout is idempotent")
	_, err := f.svc.Refresh(ctx, a.RefreshToken, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	assert.ErrorIs(t, f.svc.Logout(ctx, "garbage", auth.Client{}), auth.ErrInvalidRefreshToken)
	assert.ErrorIs(t, f.svc.Logout(ctx, a.AccessToken, auth.Client{}), auth.ErrInvalidRefreshToken)

	_, err = f.svc.Refresh(ctx, b.RefreshToken, auth.Client{})
	assert.NoError(t, err, "alice's logout leaves bob alone")
}

func testLogoutAll(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	one := f.login(t, "alice", strongPassword)
	two := f.login(t, "alice", strongPassword)
	id, err := f.svc.Authenticate(ctx, one.AccessToken)
	require.NoError(t, err)

	// The clock stands at .3 of a second: a token issued earlier in this
	// same second must fail, one issued after the logout must work.
	require.NoError(t, f.svc.LogoutAll(ctx, id, auth.Client{}))
	for _, tok := range []auth.Tokens{one, two} {
		_, err := f.svc.Authenticate(ctx, tok.AccessToken)
		assert.ErrorIs(t, err, auth.ErrInvalidToken)
		_, err = f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
		assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	}
	again := f.login(t, "alice", strongPassword)
	_, err = f.svc.Authenticate(ctx, again.AccessToken)
	require.NoError(t, err, "a login right after logout-all, in the same second, works")
	devices, err := f.svc.Devices(ctx, auth.Identity{Claims: token.Claims{UserID: id.User.ID}})
	require.NoError(t, err)
	assert.Len(t, devices, 1)

	// A second revocation in the same second still ends the token issued
	// between the two, and a token issued after it works.
	f.clock.Advance(200 * time.Millisecond)
	require.NoError(t, f.svc.LogoutAll(ctx, id, auth.Client{}))
	_, err = f.svc.Authenticate(ctx, again.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "a token issued between two revocations in one second fails")
	last := f.login(t, "alice", strongPassword)
	_, err = f.svc.Authenticate(ctx, last.AccessToken)
	require.NoError(t, err)
}

func testDevices(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	f.verifiedUser(t, "bob")
	laptop := f.login(t, "alice", strongPassword)
	f.clock.Advance(time.Second)
	phone, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{IP: "198.51.100.7", UserAgent: "phone-agent", DeviceName: "Phone", DeviceType: "mobile"})
	require.NoError(t, err)
	bob := f.login(t, "bob", strongPassword)

	id, err := f.svc.Authenticate(ctx, phone.AccessToken)
	require.NoError(t, err)
	devices, err := f.svc.Devices(ctx, id)
	require.NoError(t, err)
	require.Len(t, devices, 2)
	assert.Equal(t, laptop.SessionID, devices[0].ID)
	assert.False(t, devices[0].Current)
	assert.Equal(t, phone.SessionID, devices[1].ID)
	assert.True(t, devices[1].Current)
	assert.Equal(t, "Phone", devices[1].DeviceName)
	assert.Equal(t, "mobile", devices[1].DeviceType)
	assert.Equal(t, "198.51.100.7", devices[1].IPAddress)

	// Rotation keeps the device, with its name.
	f.clock.Advance(time.Minute)
	_, err = f.svc.Refresh(ctx, phone.RefreshToken, auth.Client{IP: "198.51.100.8", UserAgent: "phone-agent"})
	require.NoError(t, err)
	devices, err = f.svc.Devices(ctx, id)
	require.NoError(t, err)
	require.Len(t, devices, 2)
	assert.Equal(t, "Phone", devices[1].DeviceName)
	assert.Equal(t, "198.51.100.8", devices[1].IPAddress)

	assert.ErrorIs(t, f.svc.RevokeDevice(ctx, id, bob.SessionID, auth.Client{}), auth.ErrNotFound, "another user's device is not found")
	assert.ErrorIs(t, f.svc.RevokeDevice(ctx, id, "no-such-device", auth.Client{}), auth.ErrNotFound)
	require.NoError(t, f.svc.RevokeDevice(ctx, id, laptop.SessionID, auth.Client{}))
	assert.ErrorIs(t, f.svc.RevokeDevice(ctx, id, laptop.SessionID, auth.Client{}), auth.ErrNotFound)
	devices, err = f.svc.Devices(ctx, id)
	require.NoError(t, err)
	require.Len(t, devices, 1, "a revoked device leaves the list")
	_, err = f.svc.Refresh(ctx, laptop.RefreshToken, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	_, err = f.svc.Refresh(ctx, bob.RefreshToken, auth.Client{})
	assert.NoError(t, err)
}

func testVerifyEmailCodes(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	_, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	_, err = f.svc.Register(ctx, "bob", "bob@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	aliceCode := f.nextCode(t, "alice@example.com")
	bobCode := f.nextCode(t, "bob@example.com")

	wrong := func(c string) string {
		if c == "000000" {
			return "000001"
		}
		return "000000"
	}
	for name, tc := range map[string][2]string{
		"B's code for A":  {"alice@example.com", bobCode},
		"unknown email":   {"nobody@example.com", aliceCode},
		"not six digits":  {"alice@example.com", "12345"},
		"letters":         {"alice@example.com", "abcdef"},
		"with whitespace": {"alice@example.com", " " + aliceCode},
	} {
		if tc[1] == aliceCode && tc[0] == "alice@example.com" {
			continue
		}
		_, err := f.svc.VerifyEmail(ctx, tc[0], tc[1], auth.Client{IP: "192.0.2.1"})
		assert.ErrorIs(t, err, auth.ErrInvalidCode, name)
	}

	// A reset code does not verify an email.
	require.NoError(t, f.svc.ForgotPassword(ctx, "bob@example.com", auth.Client{}))
	resetCode := f.nextCode(t, "bob@example.com")
	if resetCode != bobCode {
		_, err = f.svc.VerifyEmail(ctx, "bob@example.com", resetCode, auth.Client{})
		assert.ErrorIs(t, err, auth.ErrInvalidCode, "a reset code cannot verify")
	}

	// Four more wrong guesses (one was spent by B's code above) and even the
	// right code fails.
	for i := 0; i < 4; i++ {
		_, err := f.svc.VerifyEmail(ctx, "alice@example.com", wrong(aliceCode), auth.Client{IP: fmt.Sprintf("198.51.100.%d", i)})
		require.ErrorIs(t, err, auth.ErrInvalidCode)
	}
	_, err = f.svc.VerifyEmail(ctx, "alice@example.com", aliceCode, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCode, "the sixth attempt fails even with the right code")

	// A new code works once, then is used; an expired one fails.
	f.clock.Advance(2 * time.Minute)
	require.NoError(t, f.svc.ResendVerification(ctx, "alice@example.com", auth.Client{}))
	fresh := f.nextCode(t, "alice@example.com")
	_, err = f.svc.VerifyEmail(ctx, "alice@example.com", fresh, auth.Client{})
	require.NoError(t, err)
	_, err = f.svc.VerifyEmail(ctx, "alice@example.com", fresh, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCode, "a used code fails")

	f.clock.Advance(2 * time.Minute)
	require.NoError(t, f.svc.ResendVerification(ctx, "bob@example.com", auth.Client{}))
	late := f.nextCode(t, "bob@example.com")
	f.clock.Advance(time.Hour + time.Second)
	_, err = f.svc.VerifyEmail(ctx, "bob@example.com", late, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCode, "an expired code fails")
}

func testCodeConcurrentGuesses(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	_, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	code := f.nextCode(t, "alice@example.com")
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guess := fmt.Sprintf("%06d", i)
			if guess == code {
				guess = "999999"
			}
			// Each from its own network, so that the code's own count of
			// attempts is what stops them.
			_, err := f.svc.VerifyEmail(ctx, "alice@example.com", guess, auth.Client{IP: fmt.Sprintf("192.0.2.%d", i)})
			assert.ErrorIs(t, err, auth.ErrInvalidCode)
		}()
	}
	wg.Wait()
	_, err = f.svc.VerifyEmail(ctx, "alice@example.com", code, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCode, "50 concurrent wrong guesses exhaust the code")
}

func testResend(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "verified")
	_, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	first := f.nextCode(t, "alice@example.com")

	f.drainEvents()
	for _, email := range []string{"alice@example.com", "nobody@example.com", "verified@example.com"} {
		assert.NoError(t, f.svc.ResendVerification(ctx, email, auth.Client{}), email)
	}
	// Inside the cooldown nothing more was sent to alice.
	alice, err := f.store.UserByEmail(ctx, "alice@example.com")
	require.NoError(t, err)
	e := f.waitEvent(t, alice.ID, auth.EventRateLimited, auth.EventVerificationSent)
	assert.Equal(t, auth.EventRateLimited, e.Kind)
	assert.Equal(t, 1, f.mailCount("alice@example.com"))
	assert.Equal(t, 2, f.mailCount("verified@example.com"), "a verified account gets no new code")

	f.clock.Advance(61 * time.Second)
	require.NoError(t, f.svc.ResendVerification(ctx, "alice@example.com", auth.Client{}))
	second := f.nextCode(t, "alice@example.com")
	if first != second {
		_, err = f.svc.VerifyEmail(ctx, "alice@example.com", first, auth.Client{})
		assert.ErrorIs(t, err, auth.ErrInvalidCode, "a new code voids the old")
	}
	_, err = f.svc.VerifyEmail(ctx, "alice@example.com", second, auth.Client{})
	require.NoError(t, err)

	// At most five sends an hour.
	g := newFixture(t, newStore)
	_, err = g.svc.Register(ctx, "bob", "bob@example.com", strongPassword, auth.Client{})
	require.NoError(t, err)
	g.nextCode(t, "bob@example.com")
	bob, err := g.store.UserByEmail(ctx, "bob@example.com")
	require.NoError(t, err)
	var sent int
	g.drainEvents()
	for i := 0; i < 6; i++ {
		g.clock.Advance(61 * time.Second)
		require.NoError(t, g.svc.ResendVerification(ctx, "bob@example.com", auth.Client{}))
		if g.waitEvent(t, bob.ID, auth.EventRateLimited, auth.EventVerificationSent).Kind == auth.EventVerificationSent {
			sent++
		}
	}
	assert.Equal(t, 4, sent, "the hourly cap stops the fifth and sixth resend")
	for i := 0; i < 4; i++ {
		g.nextCode(t, "bob@example.com")
	}
	assert.Equal(t, 5, g.mailCount("bob@example.com"), "register + four resends fill the hour")
}

func testForgotAndReset(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	one := f.login(t, "alice", strongPassword)
	two := f.login(t, "alice", strongPassword)

	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		assert.NoError(t, f.svc.ForgotPassword(ctx, email, auth.Client{}))
	}
	code := f.nextCode(t, "alice@example.com")
	msg := f.mail.Messages()
	assert.Contains(t, msg[len(msg)-1].Text, "60", "the mail states the expiry in minutes")

	err := f.svc.ResetPassword(ctx, "alice@example.com", code, "weak", auth.Client{})
	require.ErrorIs(t, err, auth.ErrValidation, "a weak password is refused first")
	err = f.svc.ResetPassword(ctx, "nobody@example.com", code, otherPassword, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode)

	require.NoError(t, f.svc.ResetPassword(ctx, "alice@example.com", code, otherPassword, auth.Client{}), "the code survived the weak attempt")
	assert.ErrorIs(t, f.svc.ResetPassword(ctx, "alice@example.com", code, otherPassword, auth.Client{}), auth.ErrInvalidCode, "a used code fails")

	for _, tok := range []auth.Tokens{one, two} {
		_, err := f.svc.Authenticate(ctx, tok.AccessToken)
		assert.ErrorIs(t, err, auth.ErrInvalidToken, "access tokens from before the reset fail")
		_, err = f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
		assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "sessions from before the reset end")
	}
	_, err = f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidCredentials)
	f.login(t, "alice", otherPassword)

	// A verification code cannot reset; outstanding reset codes die with a change.
	f.clock.Advance(2 * time.Minute)
	require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
	pending := f.nextCode(t, "alice@example.com")
	tok := f.login(t, "alice", otherPassword)
	id, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.NoError(t, f.svc.ChangePassword(ctx, id, otherPassword, strongPassword, auth.Client{}))
	assert.ErrorIs(t, f.svc.ResetPassword(ctx, "alice@example.com", pending, otherPassword, auth.Client{}), auth.ErrInvalidCode)
	assert.Contains(t, f.eventKinds(), auth.EventPasswordReset)
}

func testChangePassword(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	mine := f.login(t, "alice", strongPassword)
	other := f.login(t, "alice", strongPassword)
	id, err := f.svc.Authenticate(ctx, mine.AccessToken)
	require.NoError(t, err)

	assert.ErrorIs(t, f.svc.ChangePassword(ctx, id, "Wrong-Password-1", otherPassword, auth.Client{}), auth.ErrInvalidPassword)
	assert.ErrorIs(t, f.svc.ChangePassword(ctx, id, strongPassword, "weak", auth.Client{}), auth.ErrValidation)
	require.NoError(t, f.svc.ChangePassword(ctx, id, strongPassword, otherPassword, auth.Client{}))

	_, err = f.svc.Authenticate(ctx, mine.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "earlier access tokens fail, the caller's too")
	_, err = f.svc.Refresh(ctx, other.RefreshToken, auth.Client{})
	assert.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "other sessions end")
	fresh, err := f.svc.Refresh(ctx, mine.RefreshToken, auth.Client{})
	require.NoError(t, err, "the caller's session stays usable")
	_, err = f.svc.Authenticate(ctx, fresh.AccessToken)
	require.NoError(t, err)

	// Guessing the current password is throttled like a login.
	id, err = f.svc.Authenticate(ctx, fresh.AccessToken)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		_ = f.svc.ChangePassword(ctx, id, "Wrong-Password-1", strongPassword, auth.Client{})
	}
	assert.ErrorIs(t, f.svc.ChangePassword(ctx, id, otherPassword, strongPassword, auth.Client{}), auth.ErrRateLimited)
}

func testNoSecretsInLogs(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	tok := f.login(t, "alice", strongPassword)
	_, _ = f.svc.Login(ctx, "alice", "Wrong-Password-1", auth.Client{})
	next, err := f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	require.NoError(t, err)
	_, _ = f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
	code := f.nextCode(t, "alice@example.com")
	u, err := f.store.UserByUsername(ctx, "alice")
	require.NoError(t, err)

	logs := f.logs.String()
	require.NotEmpty(t, logs)
	for _, secret := range []string{strongPassword, "Wrong-Password-1", tok.AccessToken, tok.RefreshToken, next.RefreshToken, code, u.HashedPassword} {
		assert.NotContains(t, logs, secret)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.events {
		assert.NotContains(t, fmt.Sprintf("%+v", e), strongPassword)
	}
}
