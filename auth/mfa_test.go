package auth_test

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
	"github.com/forgeauth/forgeauth/totp"
)

// testMFA runs the second-factor flows (DESIGN §7, SECURITY 30–33) on the
// store of runFlows.
func testMFA(t *testing.T, newStore storeFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore storeFactory)
	}{
		{"SetupAndConfirm", testMFASetupAndConfirm},
		{"SetupTwiceReplaces", testMFASetupTwice},
		{"BadCodesChangeNothing", testMFABadCodes},
		{"LoginChallenge", testMFALoginChallenge},
		{"CodeOnce", testMFACodeOnce},
		{"ConcurrentRightCode", testMFAConcurrentRightCode},
		{"TokenRules", testMFATokenRules},
		{"TokenConcurrentWrongCodes", testMFATokenConcurrentWrong},
		{"NoPathSkips", testMFANoPathSkips},
		{"RecoveryCodes", testMFARecoveryCodes},
		{"Disable", testMFADisable},
		{"WrongCodesAreLimited", testMFAWrongCodesLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore) })
	}
}

func mfaOn(c *auth.Config) { c.MFA = true }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// identity authenticates an access token.
func (f *fixture) identity(tb testing.TB, t auth.Tokens) auth.Identity {
	tb.Helper()
	id, err := f.svc.Authenticate(context.Background(), t.AccessToken)
	require.NoError(tb, err)
	return id
}

// code is the TOTP code of secret at the fixture's clock.
func (f *fixture) code(tb testing.TB, secret []byte) string {
	tb.Helper()
	c, err := totp.Code(secret, f.clock.Now())
	require.NoError(tb, err)
	return c
}

// enrolled is a verified user with a confirmed TOTP.
type enrolled struct {
	user     store.User
	secret   []byte
	recovery []string
	tokens   auth.Tokens // the password-only session that enrolled
}

// enrol makes a verified user, turns TOTP on from a password session, and
// moves the clock to the next time step so that the confirming code is
// spent and a fresh one is ready.
func (f *fixture) enrol(tb testing.TB, name string) enrolled {
	tb.Helper()
	ctx := context.Background()
	u := f.verifiedUser(tb, name)
	tok := f.login(tb, name, strongPassword)
	id := f.identity(tb, tok)
	setup, err := f.svc.SetupTOTP(ctx, id, strongPassword, auth.Client{})
	require.NoError(tb, err)
	secret, err := b32.DecodeString(setup.Secret)
	require.NoError(tb, err)
	codes, err := f.svc.ConfirmTOTP(ctx, id, f.code(tb, secret), auth.Client{})
	require.NoError(tb, err)
	f.clock.Advance(totp.Period)
	return enrolled{user: u, secret: secret, recovery: codes, tokens: tok}
}

// challenge logs name in and returns the mfa_token of the challenge.
func (f *fixture) challenge(tb testing.TB, name string) string {
	tb.Helper()
	_, err := f.svc.Login(context.Background(), name, strongPassword, auth.Client{IP: "192.0.2.1", DeviceName: name + "-phone"})
	var req *auth.MFARequiredError
	require.ErrorAs(tb, err, &req, "a user with TOTP gets a challenge")
	require.ErrorIs(tb, err, auth.ErrMFARequired)
	return req.Token
}

func (f *fixture) sessions(tb testing.TB, userID string) int {
	tb.Helper()
	ss, err := f.store.Sessions(context.Background(), userID, f.clock.Now())
	require.NoError(tb, err)
	return len(ss)
}

func testMFASetupAndConfirm(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn, func(c *auth.Config) { c.AppName = "Example Inc" })
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	id := f.identity(t, f.login(t, "alice", strongPassword))

	st, err := f.svc.MFAStatus(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, auth.MFAStatus{}, st)

	_, err = f.svc.SetupTOTP(ctx, id, otherPassword, auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidPassword)
	_, err = f.svc.ConfirmTOTP(ctx, id, "123456", auth.Client{})
	require.ErrorIs(t, err, auth.ErrMFANotEnabled, "confirm without a setup")

	setup, err := f.svc.SetupTOTP(ctx, id, strongPassword, auth.Client{})
	require.NoError(t, err)
	secret, err := b32.DecodeString(setup.Secret)
	require.NoError(t, err)
	assert.Len(t, secret, totp.SecretSize)
	assert.Contains(t, setup.URI, "otpauth://totp/Example%20Inc:alice@example.com?secret="+setup.Secret)
	assert.Contains(t, setup.QRDataURL, "data:image/png;base64,")
	st, err = f.svc.MFAStatus(ctx, id)
	require.NoError(t, err)
	assert.False(t, st.TOTPEnabled, "not active until confirmed")
	f.challengeFree(t, "alice")

	codes, err := f.svc.ConfirmTOTP(ctx, id, f.code(t, secret), auth.Client{})
	require.NoError(t, err)
	require.Len(t, codes, 10)
	seen := map[string]bool{}
	for _, c := range codes {
		assert.Regexp(t, `^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`, c)
		seen[c] = true
	}
	assert.Len(t, seen, 10)
	st, err = f.svc.MFAStatus(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, auth.MFAStatus{TOTPEnabled: true, RecoveryCodesLeft: 10}, st)
	assert.Contains(t, f.eventKinds(), auth.EventMFAEnabled)

	_, err = f.svc.SetupTOTP(ctx, id, strongPassword, auth.Client{})
	require.ErrorIs(t, err, auth.ErrMFAAlreadyEnabled)
	_, err = f.svc.ConfirmTOTP(ctx, id, f.code(t, secret), auth.Client{})
	require.ErrorIs(t, err, auth.ErrMFAAlreadyEnabled)
}

// challengeFree asserts that a password login of name signs in at once.
func (f *fixture) challengeFree(tb testing.TB, name string) auth.Tokens {
	tb.Helper()
	return f.login(tb, name, strongPassword)
}

func testMFASetupTwice(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	id := f.identity(t, f.login(t, "alice", strongPassword))
	first, err := f.svc.SetupTOTP(ctx, id, strongPassword, auth.Client{})
	require.NoError(t, err)
	second, err := f.svc.SetupTOTP(ctx, id, strongPassword, auth.Client{})
	require.NoError(t, err)
	require.NotEqual(t, first.Secret, second.Secret)
	s1, _ := b32.DecodeString(first.Secret)
	s2, _ := b32.DecodeString(second.Secret)
	_, err = f.svc.ConfirmTOTP(ctx, id, f.code(t, s1), auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode, "the replaced secret's code")
	_, err = f.svc.ConfirmTOTP(ctx, id, f.code(t, s2), auth.Client{})
	require.NoError(t, err)
}

func testMFABadCodes(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	f.verifiedUser(t, "alice")
	id := f.identity(t, f.login(t, "alice", strongPassword))
	setup, err := f.svc.SetupTOTP(ctx, id, strongPassword, auth.Client{})
	require.NoError(t, err)
	secret, _ := b32.DecodeString(setup.Secret)
	right := f.code(t, secret)
	twoAway, err := totp.Code(secret, f.clock.Now().Add(2*totp.Period))
	require.NoError(t, err)
	twoBack, err := totp.Code(secret, f.clock.Now().Add(-2*totp.Period))
	require.NoError(t, err)
	for _, bad := range []string{"", "abcdef", right + "0", right[:5], " " + right, twoAway, twoBack, "１２３４５６"} {
		if bad == right {
			continue
		}
		_, err := f.svc.ConfirmTOTP(ctx, id, bad, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode, "code %q", bad)
	}
	st, err := f.svc.MFAStatus(ctx, id)
	require.NoError(t, err)
	assert.False(t, st.TOTPEnabled, "bad codes changed nothing")
	_, err = f.svc.ConfirmTOTP(ctx, id, right, auth.Client{})
	require.NoError(t, err, "the pending secret survived the bad codes")
}

// testMFALoginChallenge: no token pair before the second step; the pair
// after it carries amr pwd+otp+mfa and auth_time, and a refresh keeps them.
func testMFALoginChallenge(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	before := f.sessions(t, e.user.ID)

	_, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
	var req *auth.MFARequiredError
	require.ErrorAs(t, err, &req)
	assert.Equal(t, []string{auth.MethodTOTP, auth.MethodRecoveryCode}, req.Methods)
	assert.Equal(t, f.clock.Now().Add(5*time.Minute), req.ExpiresAt)
	assert.GreaterOrEqual(t, len(req.Token), 43, "256 random bits")
	assert.Equal(t, before, f.sessions(t, e.user.ID), "no session before the second step")

	tok, err := f.svc.VerifyMFA(ctx, req.Token, f.code(t, e.secret), "", auth.Client{DeviceName: "phone"})
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	assert.NotEmpty(t, tok.DeviceToken)
	id := f.identity(t, tok)
	assert.Equal(t, []string{"pwd", "otp", "mfa"}, id.Claims.AMR)
	assert.True(t, auth.HasSecondFactor(id.Claims))
	assert.Equal(t, f.clock.Now().Truncate(time.Second), id.Claims.AuthTime)
	assert.Equal(t, before+1, f.sessions(t, e.user.ID))
	ds, err := f.svc.Devices(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "phone", ds[len(ds)-1].DeviceName, "the device of the second step")

	f.clock.Advance(time.Minute)
	next, err := f.svc.Refresh(ctx, tok.RefreshToken, auth.Client{})
	require.NoError(t, err)
	nid := f.identity(t, next)
	assert.Equal(t, []string{"pwd", "otp", "mfa"}, nid.Claims.AMR, "refresh keeps the session's amr")
	assert.Equal(t, id.Claims.AuthTime, nid.Claims.AuthTime)
	assert.Contains(t, f.eventKinds(), auth.EventMFAVerified)
}

// testMFACodeOnce (SECURITY 30): a code signs in once, on this instance or
// another sharing the store; codes two steps away fail.
func testMFACodeOnce(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	code := f.code(t, e.secret)
	_, err := f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), code, "", auth.Client{})
	require.NoError(t, err)

	_, err = f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), code, "", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode, "the same code again")

	// Another instance: its own service on the same store and secret.
	other, err := auth.New(auth.Config{
		Store: f.store, Mailer: f.mail, MFA: true, Now: f.clock.Now, Logger: slog.New(slog.DiscardHandler),
		Token:    token.Config{Secret: []byte("0123456789abcdef0123456789abcdef")},
		Password: f.passwordConfig(),
	})
	require.NoError(t, err)
	_, err = other.Login(ctx, "alice", strongPassword, auth.Client{})
	var req *auth.MFARequiredError
	require.ErrorAs(t, err, &req)
	_, err = other.VerifyMFA(ctx, req.Token, code, "", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode, "the same code on another instance")

	// The previous step (inside the skew window) is older than the one
	// spent: refused too.
	f.clock.Advance(totp.Period)
	prev, err := totp.Code(e.secret, f.clock.Now().Add(-totp.Period))
	require.NoError(t, err)
	require.Equal(t, code, prev)
	for _, d := range []time.Duration{2 * totp.Period, -2 * totp.Period} {
		far, err := totp.Code(e.secret, f.clock.Now().Add(d))
		require.NoError(t, err)
		_, err = f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), far, "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode, "a code %v away", d)
	}
	_, err = f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), f.code(t, e.secret), "", auth.Client{})
	require.NoError(t, err, "the next step's code works")
}

func (f *fixture) passwordConfig() password.HasherConfig {
	return password.HasherConfig{Params: testParams}
}

// testMFAConcurrentRightCode (SECURITY 30): 50 concurrent submissions of
// one right code sign in once, through one mfa_token or through fifty.
func testMFAConcurrentRightCode(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	const n = 50
	count := func(errs []error) (ok int) {
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.True(t, errors.Is(err, auth.ErrInvalidCode) || errors.Is(err, auth.ErrInvalidMFAToken), "%v", err)
			}
		}
		return ok
	}

	one := f.challenge(t, "alice")
	code := f.code(t, e.secret)
	errs := concurrently(n, func(int) error {
		_, err := f.svc.VerifyMFA(ctx, one, code, "", auth.Client{})
		return err
	})
	assert.Equal(t, 1, count(errs), "one token, one code")

	f.clock.Advance(totp.Period)
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = f.challenge(t, "alice")
	}
	code = f.code(t, e.secret)
	errs = concurrently(n, func(i int) error {
		_, err := f.svc.VerifyMFA(ctx, tokens[i], code, "", auth.Client{})
		return err
	})
	assert.Equal(t, 1, count(errs), "fifty tokens, one code")
}

func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// testMFATokenRules (SECURITY 31): single use, 5 wrong codes, 5 minutes,
// one user, never an access or refresh token, void after a password change.
func testMFATokenRules(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	bob := f.enrol(t, "bob")
	fresh := func() string { f.clock.Advance(totp.Period); return f.code(t, e.secret) }

	t.Run("single use", func(t *testing.T) {
		tok := f.challenge(t, "alice")
		_, err := f.svc.VerifyMFA(ctx, tok, fresh(), "", auth.Client{})
		require.NoError(t, err)
		_, err = f.svc.VerifyMFA(ctx, tok, fresh(), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken)
	})
	t.Run("five wrong codes", func(t *testing.T) {
		tok := f.challenge(t, "alice")
		for i := range 4 {
			_, err := f.svc.VerifyMFA(ctx, tok, "000000", "", auth.Client{})
			require.ErrorIs(t, err, auth.ErrInvalidCode, "wrong code %d", i+1)
		}
		_, err := f.svc.VerifyMFA(ctx, tok, "", "AAAA-AAAA-AAAA", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode, "a wrong recovery code counts too")
		_, err = f.svc.VerifyMFA(ctx, tok, fresh(), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken, "the right code after five wrong ones")
	})
	t.Run("four wrong codes leave it usable", func(t *testing.T) {
		tok := f.challenge(t, "alice")
		for range 4 {
			_, err := f.svc.VerifyMFA(ctx, tok, "abc", "", auth.Client{})
			require.ErrorIs(t, err, auth.ErrInvalidCode)
		}
		_, err := f.svc.VerifyMFA(ctx, tok, fresh(), "", auth.Client{})
		require.NoError(t, err)
	})
	t.Run("five minutes", func(t *testing.T) {
		tok := f.challenge(t, "alice")
		f.clock.Advance(5 * time.Minute)
		_, err := f.svc.VerifyMFA(ctx, tok, f.code(t, e.secret), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken)
	})
	t.Run("one user", func(t *testing.T) {
		tok := f.challenge(t, "alice")
		_, err := f.svc.VerifyMFA(ctx, tok, fresh(), "", auth.Client{})
		require.NoError(t, err)
		tok = f.challenge(t, "alice")
		f.clock.Advance(totp.Period)
		_, err = f.svc.VerifyMFA(ctx, tok, f.code(t, bob.secret), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode, "bob's code on alice's token")
		_, err = f.svc.VerifyMFA(ctx, tok, "", bob.recovery[0], auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode, "bob's recovery code on alice's token")
	})
	t.Run("not a token anywhere", func(t *testing.T) {
		tok := f.challenge(t, "alice")
		_, err := f.svc.Authenticate(ctx, tok)
		require.ErrorIs(t, err, auth.ErrInvalidToken)
		_, err = f.svc.Refresh(ctx, tok, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
		require.ErrorIs(t, f.svc.Logout(ctx, tok, auth.Client{}), auth.ErrInvalidRefreshToken)
		_, err = f.svc.VerifyMFA(ctx, e.tokens.AccessToken, fresh(), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken, "an access token is no mfa_token")
		_, err = f.svc.VerifyMFA(ctx, "", fresh(), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken)
	})
	t.Run("void after a password change", func(t *testing.T) {
		tok := f.challenge(t, "alice")
		require.NoError(t, f.svc.ChangePassword(ctx, f.identity(t, e.tokens), strongPassword, otherPassword, auth.Client{}))
		_, err := f.svc.VerifyMFA(ctx, tok, fresh(), "", auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken)
	})
}

// testMFATokenConcurrentWrong (SECURITY 31): fifty wrong codes at once
// through one token evaluate no more than five.
func testMFATokenConcurrentWrong(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	tok := f.challenge(t, "alice")
	errs := concurrently(50, func(i int) error {
		_, err := f.svc.VerifyMFA(ctx, tok, fmt.Sprintf("%06d", i), "", auth.Client{})
		return err
	})
	wrong := 0
	for _, err := range errs {
		if errors.Is(err, auth.ErrInvalidCode) {
			wrong++
		}
	}
	assert.LessOrEqual(t, wrong, 5, "wrong codes evaluated")
	assert.Positive(t, wrong)
	// Whatever is left of the five, the right code works only if fewer
	// than five wrong ones were evaluated.
	_, err := f.svc.VerifyMFA(ctx, tok, f.code(t, e.secret), "", auth.Client{})
	if wrong == 5 {
		require.ErrorIs(t, err, auth.ErrInvalidMFAToken)
	}
}

// testMFANoPathSkips (SECURITY 32): password login, login after a password
// reset, and a refresh of a session from before MFA was on.
func testMFANoPathSkips(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")

	// The session that enrolled was a password session: refreshing it
	// keeps amr ["pwd"], so it never passes for a second factor.
	f.clock.Advance(time.Minute)
	next, err := f.svc.Refresh(ctx, e.tokens.RefreshToken, auth.Client{})
	require.NoError(t, err)
	id := f.identity(t, next)
	assert.Equal(t, []string{"pwd"}, id.Claims.AMR)
	assert.False(t, auth.HasSecondFactor(id.Claims))

	_, err = f.svc.Login(ctx, "alice@example.com", strongPassword, auth.Client{})
	require.ErrorIs(t, err, auth.ErrMFARequired, "login by email")

	require.NoError(t, f.svc.ForgotPassword(ctx, "alice@example.com", auth.Client{}))
	code := f.nextCode(t, "alice@example.com")
	require.NoError(t, f.svc.ResetPassword(ctx, "alice@example.com", code, otherPassword, auth.Client{}))
	_, err = f.svc.Login(ctx, "alice", otherPassword, auth.Client{})
	require.ErrorIs(t, err, auth.ErrMFARequired, "a password reset keeps the second factor")
	st, err := f.svc.MFAStatus(ctx, auth.Identity{Claims: token.Claims{UserID: e.user.ID}})
	require.NoError(t, err)
	assert.True(t, st.TOTPEnabled)
}

// testMFARecoveryCodes (SECURITY 33): each works once, concurrently once,
// and new ones void the old.
func testMFARecoveryCodes(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")

	tok, err := f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), "", e.recovery[0], auth.Client{})
	require.NoError(t, err)
	assert.Equal(t, []string{"pwd", "otp", "mfa"}, f.identity(t, tok).Claims.AMR)
	_, err = f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), "", e.recovery[0], auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode, "a used recovery code")
	// Typed loosely, and in the code member.
	_, err = f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), lower(e.recovery[1]), "", auth.Client{})
	require.NoError(t, err)

	tokens := make([]string, 50)
	for i := range tokens {
		tokens[i] = f.challenge(t, "alice")
	}
	errs := concurrently(50, func(i int) error {
		_, err := f.svc.VerifyMFA(ctx, tokens[i], "", e.recovery[2], auth.Client{})
		return err
	})
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, auth.ErrInvalidCode)
		}
	}
	assert.Equal(t, 1, ok, "one recovery code, fifty submissions")

	id := f.identity(t, tok)
	st, err := f.svc.MFAStatus(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 7, st.RecoveryCodesLeft)

	_, err = f.svc.RegenerateRecoveryCodes(ctx, id, otherPassword, f.code(t, e.secret), auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidPassword)
	_, err = f.svc.RegenerateRecoveryCodes(ctx, id, strongPassword, "000000", auth.Client{})
	require.ErrorIs(t, err, auth.ErrInvalidCode)
	fresh, err := f.svc.RegenerateRecoveryCodes(ctx, id, strongPassword, e.recovery[3], auth.Client{})
	require.NoError(t, err)
	require.Len(t, fresh, 10)
	assert.Contains(t, f.eventKinds(), auth.EventRecoveryCodesRegenerated)
	for _, old := range e.recovery[4:] {
		_, err = f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), "", old, auth.Client{})
		require.ErrorIs(t, err, auth.ErrInvalidCode, "an old code after regeneration")
	}
	_, err = f.svc.VerifyMFA(ctx, f.challenge(t, "alice"), "", fresh[0], auth.Client{})
	require.NoError(t, err)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func testMFADisable(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	id := f.identity(t, e.tokens)
	require.ErrorIs(t, f.svc.DisableTOTP(ctx, id, otherPassword, f.code(t, e.secret), auth.Client{}), auth.ErrInvalidPassword)
	// Three, since wrong codes count against the change-password limit
	// (testMFAWrongCodesLimited).
	for _, bad := range []string{"1234567", "abcdef", "AAAA-AAAA-AAAA"} {
		require.ErrorIs(t, f.svc.DisableTOTP(ctx, id, strongPassword, bad, auth.Client{}), auth.ErrInvalidCode, "code %q", bad)
	}
	st, err := f.svc.MFAStatus(ctx, id)
	require.NoError(t, err)
	require.True(t, st.TOTPEnabled, "refused attempts changed nothing")

	require.NoError(t, f.svc.DisableTOTP(ctx, id, strongPassword, f.code(t, e.secret), auth.Client{}))
	assert.Contains(t, f.eventKinds(), auth.EventMFADisabled)
	st, err = f.svc.MFAStatus(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, auth.MFAStatus{}, st, "secret and recovery codes are gone")
	f.challengeFree(t, "alice")
	require.ErrorIs(t, f.svc.DisableTOTP(ctx, id, strongPassword, e.recovery[0], auth.Client{}), auth.ErrMFANotEnabled)
	_, err = f.svc.RegenerateRecoveryCodes(ctx, id, strongPassword, e.recovery[0], auth.Client{})
	require.ErrorIs(t, err, auth.ErrMFANotEnabled)

	// Disabling with a recovery code, after enrolling again.
	again := f.enrolExisting(t, "alice", id)
	require.NoError(t, f.svc.DisableTOTP(ctx, id, strongPassword, again[0], auth.Client{}))
	require.ErrorIs(t, f.svc.ResetMFA(ctx, e.user.ID), auth.ErrMFANotEnabled)
}

// enrolExisting turns TOTP on for a signed-in user and returns the codes.
func (f *fixture) enrolExisting(tb testing.TB, _ string, id auth.Identity) []string {
	tb.Helper()
	ctx := context.Background()
	setup, err := f.svc.SetupTOTP(ctx, id, strongPassword, auth.Client{})
	require.NoError(tb, err)
	secret, _ := b32.DecodeString(setup.Secret)
	f.clock.Advance(totp.Period)
	codes, err := f.svc.ConfirmTOTP(ctx, id, f.code(tb, secret), auth.Client{})
	require.NoError(tb, err)
	return codes
}

// testMFAWrongCodesLimited: with the right password, wrong codes count
// against the change-password limits, so they cannot be tried without end.
func testMFAWrongCodesLimited(t *testing.T, newStore storeFactory) {
	f := newFixture(t, newStore, mfaOn)
	ctx := context.Background()
	e := f.enrol(t, "alice")
	id := f.identity(t, e.tokens)
	var err error
	for range 10 {
		if err = f.svc.DisableTOTP(ctx, id, strongPassword, "000000", auth.Client{}); errors.Is(err, auth.ErrRateLimited) {
			break
		}
		require.ErrorIs(t, err, auth.ErrInvalidCode)
	}
	require.ErrorIs(t, err, auth.ErrRateLimited)
}

// TestMFAFlowsPostgres runs the second-factor flows on PostgreSQL.
func TestMFAFlowsPostgres(t *testing.T) {
	testMFA(t, newPostgresStore)
}

// TestMFAAtRest (SECURITY 33): the database holds the TOTP secret sealed
// and the recovery codes as digests; a copy of the tables, read with any
// other key, makes no codes and the service says only "internal".
func TestMFAAtRest(t *testing.T) {
	st, db := newSQLiteStoreDB(t)
	f := newFixture(t, func(testing.TB) store.Store { return st }, mfaOn)
	e := f.enrol(t, "alice")

	var sealed []byte
	require.NoError(t, db.QueryRow(`SELECT totp_secret FROM second_factors`).Scan(&sealed))
	assert.NotContains(t, string(sealed), string(e.secret), "the secret is not stored in clear")
	assert.NotContains(t, string(sealed), b32.EncodeToString(e.secret))
	_, err := totp.OpenSecret(make([]byte, 32), e.user.ID, sealed)
	assert.ErrorIs(t, err, totp.ErrDecrypt, "another key opens nothing")

	rows, err := db.Query(`SELECT digest FROM recovery_codes`)
	require.NoError(t, err)
	var digests []string
	for rows.Next() {
		var d string
		require.NoError(t, rows.Scan(&d))
		digests = append(digests, d)
	}
	require.NoError(t, rows.Err())
	require.Len(t, digests, 10)
	for _, d := range digests {
		for _, c := range e.recovery {
			assert.NotContains(t, d, c)
			assert.NotContains(t, d, lower(c))
		}
		assert.Regexp(t, `^[0-9a-f]{64}$`, d)
	}

	// The same database under another MFA key: the login challenge still
	// comes (the factor exists), but no code can be checked, and the
	// failure is internal, logged for the operator, with nothing leaked.
	g := newFixture(t, func(testing.TB) store.Store { return st }, mfaOn, func(c *auth.Config) {
		c.MFAKey = []byte("another key of thirty-two bytes!")
	})
	g.clock.Advance(2 * totp.Period)
	tok := g.challenge(t, "alice")
	_, err = g.svc.VerifyMFA(context.Background(), tok, g.code(t, e.secret), "", auth.Client{})
	require.Error(t, err)
	for _, sentinel := range []error{auth.ErrInvalidCode, auth.ErrInvalidMFAToken, auth.ErrUnavailable} {
		assert.NotErrorIs(t, err, sentinel, "an undecryptable secret is no user error")
	}
	assert.Contains(t, g.logs.String(), "does not decrypt with the configured MFA key")
	// The operator's way out.
	require.NoError(t, g.svc.ResetMFA(context.Background(), e.user.ID))
	g.login(t, "alice", strongPassword)
}
