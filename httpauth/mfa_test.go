package httpauth_test

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/totp"
)

// capStore is the fixture's faulty store with the capabilities of its
// memstore, so that the second factor can be on; TakeTicket fails with
// the "TakeTicket" fault.
type capStore struct {
	*faultyStore
	store.Tickets
	store.SecondFactors
}

func (s capStore) TakeTicket(ctx context.Context, kind, digest string, at time.Time) (store.Ticket, error) {
	if err := s.fault("TakeTicket"); err != nil {
		return store.Ticket{}, err
	}
	return s.Tickets.TakeTicket(ctx, kind, digest, at)
}

// mfaOn turns the second factor on, over the fixture's store.
func mfaOn(c *auth.Config) {
	fs := c.Store.(*faultyStore)
	mem := fs.Store.(*memstore.Store)
	c.Store = capStore{faultyStore: fs, Tickets: mem, SecondFactors: mem}
	c.MFA = true
}

// mfaProblem is the problem of a login that needs a second factor.
type mfaProblem struct {
	problemBody
	MFAToken string   `json:"mfa_token"`
	Methods  []string `json:"methods"`
}

// enrolHTTP turns TOTP on for name over HTTP and returns the secret, the
// recovery codes and the password session's tokens; the clock is then one
// step on, so the confirming code is spent.
func (f *fixture) enrolHTTP(tb testing.TB, name string) ([]byte, []string, tokenBody) {
	tb.Helper()
	f.verifiedUser(tb, name)
	tok := f.login(tb, name)
	var setup struct {
		Secret     string `json:"secret"`
		OTPAuthURI string `json:"otpauth_uri"`
		QRPNG      string `json:"qr_png"`
	}
	f.bearerPost(tb, tok.AccessToken, "/auth/mfa/totp/setup", `{"current_password":"`+strongPW+`"}`).json(tb, http.StatusOK, &setup)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
	require.NoError(tb, err)
	assert.True(tb, strings.HasPrefix(setup.OTPAuthURI, "otpauth://totp/"))
	assert.True(tb, strings.HasPrefix(setup.QRPNG, "data:image/png;base64,"))
	var codes struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	f.bearerPost(tb, tok.AccessToken, "/auth/mfa/totp/confirm", `{"code":"`+f.totpCode(tb, secret)+`"}`).json(tb, http.StatusOK, &codes)
	require.Len(tb, codes.RecoveryCodes, 10)
	f.clock.Advance(totp.Period)
	return secret, codes.RecoveryCodes, tok
}

func (f *fixture) bearerPost(tb testing.TB, bearer, path, body string) result {
	tb.Helper()
	return f.do(tb, req{method: "POST", path: prefix + path, body: body, bearer: bearer})
}

func (f *fixture) totpCode(tb testing.TB, secret []byte) string {
	tb.Helper()
	c, err := totp.Code(secret, f.clock.Now())
	require.NoError(tb, err)
	return c
}

// challengeHTTP logs name in and returns the mfa_required problem.
func (f *fixture) challengeHTTP(tb testing.TB, name string) mfaProblem {
	tb.Helper()
	res := f.post(tb, "/auth/login", `{"username":"`+name+`","password":"`+strongPW+`"}`)
	res.problem(tb, http.StatusForbidden, "mfa_required")
	var p mfaProblem
	require.NoError(tb, json.Unmarshal(res.body, &p))
	return p
}

func (f *fixture) verify(tb testing.TB, mfaToken, member, code string) result {
	tb.Helper()
	return f.post(tb, "/auth/mfa/verify", `{"mfa_token":"`+mfaToken+`","`+member+`":"`+code+`"}`)
}

func TestMFAEndpoints(t *testing.T) {
	f := newFixture(t, fixtureOpts{mutate: mfaOn})
	f.verifiedUser(t, "alice")
	tok := f.login(t, "alice")
	status := func() (st struct {
		TOTPEnabled       bool `json:"totp_enabled"`
		RecoveryCodesLeft int  `json:"recovery_codes_left"`
		Passkeys          int  `json:"passkeys"`
	}) {
		f.do(t, req{method: "GET", path: prefix + "/auth/mfa", bearer: tok.AccessToken}).json(t, http.StatusOK, &st)
		return st
	}
	assert.False(t, status().TOTPEnabled)
	f.do(t, req{method: "GET", path: prefix + "/auth/mfa"}).problem(t, http.StatusUnauthorized, "invalid_token")

	f.bearerPost(t, tok.AccessToken, "/auth/mfa/totp/confirm", `{"code":"123456"}`).problem(t, http.StatusConflict, "mfa_not_enabled")
	f.bearerPost(t, tok.AccessToken, "/auth/mfa/totp/setup", `{"current_password":"`+otherStrongPW+`"}`).
		problem(t, http.StatusUnauthorized, "invalid_password")
	f.bearerPost(t, tok.AccessToken, "/auth/mfa/totp/setup", `{}`).problem(t, http.StatusBadRequest, "bad_request")

	var setup struct {
		Secret string `json:"secret"`
	}
	f.bearerPost(t, tok.AccessToken, "/auth/mfa/totp/setup", `{"current_password":"`+strongPW+`"}`).json(t, http.StatusOK, &setup)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
	require.NoError(t, err)
	right := f.totpCode(t, secret)
	for _, bad := range []string{"abcdef", right + "1", right[:5], "12 456", fmt.Sprintf("%06d", (atoi(right)+1)%1000000)} {
		f.bearerPost(t, tok.AccessToken, "/auth/mfa/totp/confirm", `{"code":"`+bad+`"}`).problem(t, http.StatusBadRequest, "invalid_code")
	}
	assert.False(t, status().TOTPEnabled, "bad codes changed nothing")
	f.bearerPost(t, tok.AccessToken, "/auth/mfa/totp/confirm", `{"code":"`+right+`"}`).json(t, http.StatusOK, &struct{}{})
	st := status()
	assert.True(t, st.TOTPEnabled)
	assert.Equal(t, 10, st.RecoveryCodesLeft)
	f.bearerPost(t, tok.AccessToken, "/auth/mfa/totp/setup", `{"current_password":"`+strongPW+`"}`).
		problem(t, http.StatusConflict, "mfa_already_enabled")
	f.bearerPost(t, tok.AccessToken, "/auth/mfa/totp/confirm", `{"code":"`+right+`"}`).problem(t, http.StatusConflict, "mfa_already_enabled")

	// The login challenge, and its second step.
	p := f.challengeHTTP(t, "alice")
	assert.Equal(t, []string{"totp", "recovery_code"}, p.Methods)
	assert.NotEmpty(t, p.MFAToken)
	f.verify(t, p.MFAToken, "code", right).problem(t, http.StatusBadRequest, "invalid_code") // the confirming step again
	f.post(t, "/auth/mfa/verify", `{"mfa_token":"`+p.MFAToken+`"}`).problem(t, http.StatusBadRequest, "bad_request")
	f.post(t, "/auth/mfa/verify", `{"mfa_token":"`+p.MFAToken+`","code":"1","recovery_code":"2"}`).problem(t, http.StatusBadRequest, "bad_request")
	f.verify(t, "not-a-token", "code", right).problem(t, http.StatusUnauthorized, "invalid_token")
	f.verify(t, tok.AccessToken, "code", right).problem(t, http.StatusUnauthorized, "invalid_token")
	f.clock.Advance(totp.Period)
	var mfaTok tokenBody
	f.post(t, "/auth/mfa/verify", `{"mfa_token":"`+p.MFAToken+`","code":"`+f.totpCode(t, secret)+`","device_name":"phone"}`).
		json(t, http.StatusOK, &mfaTok)
	assert.NotEmpty(t, mfaTok.RefreshToken)
	f.verify(t, p.MFAToken, "code", f.totpCode(t, secret)).problem(t, http.StatusUnauthorized, "invalid_token")

	// New recovery codes, then off.
	var fresh struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	f.bearerPost(t, mfaTok.AccessToken, "/auth/mfa/recovery-codes", `{"current_password":"`+strongPW+`","code":"000000"}`).
		problem(t, http.StatusBadRequest, "invalid_code")
	f.clock.Advance(totp.Period)
	f.bearerPost(t, mfaTok.AccessToken, "/auth/mfa/recovery-codes", `{"current_password":"`+strongPW+`","code":"`+f.totpCode(t, secret)+`"}`).
		json(t, http.StatusOK, &fresh)
	require.Len(t, fresh.RecoveryCodes, 10)
	f.bearerPost(t, mfaTok.AccessToken, "/auth/mfa/totp/disable", `{"current_password":"`+strongPW+`","code":"`+fresh.RecoveryCodes[0]+`"}`).
		expectNoContent(t)
	f.bearerPost(t, mfaTok.AccessToken, "/auth/mfa/totp/disable", `{"current_password":"`+strongPW+`","code":"`+fresh.RecoveryCodes[1]+`"}`).
		problem(t, http.StatusConflict, "mfa_not_enabled")
	f.bearerPost(t, mfaTok.AccessToken, "/auth/mfa/recovery-codes", `{"current_password":"`+strongPW+`","code":"`+fresh.RecoveryCodes[1]+`"}`).
		problem(t, http.StatusConflict, "mfa_not_enabled")
	f.login(t, "alice")
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestMFAVerifyConcurrent (SECURITY 30): fifty submissions of one right
// code sign in once.
func TestMFAVerifyConcurrent(t *testing.T) {
	f := newFixture(t, fixtureOpts{mutate: mfaOn, opts: httpauth.Options{DisableIPLimit: true}})
	secret, _, _ := f.enrolHTTP(t, "alice")
	tokens := make([]string, 50)
	for i := range tokens {
		tokens[i] = f.challengeHTTP(t, "alice").MFAToken
	}
	code := f.totpCode(t, secret)
	statuses := make([]int, len(tokens))
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() { statuses[i] = f.verify(t, tokens[i], "code", code).status })
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusBadRequest: 49}, counts)
}

// TestMFAVerifyStoreDown: 503 while the store is down, and the mfa_token
// is not spent.
func TestMFAVerifyStoreDown(t *testing.T) {
	f := newFixture(t, fixtureOpts{mutate: mfaOn})
	secret, _, _ := f.enrolHTTP(t, "alice")
	p := f.challengeHTTP(t, "alice")
	for _, method := range []string{"TakeTicket", "UserByID"} {
		f.store.setFault(method, fmt.Errorf("down: %w", store.ErrUnavailable))
		res := f.verify(t, p.MFAToken, "code", f.totpCode(t, secret))
		res.problem(t, http.StatusServiceUnavailable, "unavailable")
		assert.NotEmpty(t, res.header.Get("Retry-After"))
		f.store.setFault(method, nil)
	}
	f.verify(t, p.MFAToken, "code", f.totpCode(t, secret)).json(t, http.StatusOK, &tokenBody{})
}

// TestMFAUndecryptableSecret: a secret sealed under another key is a 500
// internal with nothing leaked, and a clear log line for the operator.
func TestMFAUndecryptableSecret(t *testing.T) {
	f := newFixture(t, fixtureOpts{mutate: mfaOn})
	_, _, tok := f.enrolHTTP(t, "alice")
	id, err := f.svc.Authenticate(context.Background(), tok.AccessToken)
	require.NoError(t, err)
	// Reseal: replace the stored secret by one sealed under another key.
	other, err := totp.SealSecret(make([]byte, 32), id.User.ID, make([]byte, 20), nil)
	require.NoError(t, err)
	mem := f.store.Store.(*memstore.Store)
	require.NoError(t, mem.DeleteSecondFactor(context.Background(), id.User.ID))
	require.NoError(t, mem.PutPendingTOTP(context.Background(), id.User.ID, other, f.clock.Now()))
	require.NoError(t, mem.ConfirmTOTP(context.Background(), id.User.ID, other, 1, nil, f.clock.Now()))

	p := f.challengeHTTP(t, "alice")
	res := f.verify(t, p.MFAToken, "code", "123456")
	res.problem(t, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(res.body), "decrypt")
	assert.Contains(t, f.logs.String(), "does not decrypt with the configured MFA key")
}

// TestRequireMFA (SECURITY 32): a password session, even one refreshed
// after the second factor was turned on, is refused; a session finished
// with a second factor passes.
func TestRequireMFA(t *testing.T) {
	f := newFixture(t, fixtureOpts{mutate: mfaOn})
	secret, _, pwTok := f.enrolHTTP(t, "alice")
	protected := f.h.RequireMFA(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	call := func(bearer string) result {
		hr := f.newRequest(req{method: "GET", path: "/app", bearer: bearer})
		rec := httptestRecorder()
		protected.ServeHTTP(rec, hr)
		return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	}
	call("").problem(t, http.StatusUnauthorized, "invalid_token")
	call(pwTok.AccessToken).problem(t, http.StatusForbidden, "insufficient_user_authentication")
	var refreshed tokenBody
	f.post(t, "/auth/refresh", `{"refresh_token":"`+pwTok.RefreshToken+`"}`).json(t, http.StatusOK, &refreshed)
	call(refreshed.AccessToken).problem(t, http.StatusForbidden, "insufficient_user_authentication")

	p := f.challengeHTTP(t, "alice")
	var mfaTok tokenBody
	f.verify(t, p.MFAToken, "code", f.totpCode(t, secret)).json(t, http.StatusOK, &mfaTok)
	assert.Equal(t, http.StatusNoContent, call(mfaTok.AccessToken).status)
	f.clock.Advance(time.Minute)
	f.post(t, "/auth/refresh", `{"refresh_token":"`+mfaTok.RefreshToken+`"}`).json(t, http.StatusOK, &refreshed)
	assert.Equal(t, http.StatusNoContent, call(refreshed.AccessToken).status, "refresh keeps the second factor")
}

// TestMFARoutesOff: without Config.MFA the routes are not there and the
// document does not list them.
func TestMFARoutesOff(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	tok := f.login(t, func() string { f.verifiedUser(t, "alice"); return "alice" }())
	f.do(t, req{method: "GET", path: prefix + "/auth/mfa", bearer: tok.AccessToken}).problem(t, http.StatusNotFound, "not_found")
	f.post(t, "/auth/mfa/verify", `{"mfa_token":"x","code":"123456"}`).problem(t, http.StatusNotFound, "not_found")
	assert.Nil(t, f.doc.Paths.Find("/auth/mfa/verify"))
}
