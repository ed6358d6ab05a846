package httpauth_test

import (
	"context"
	"encoding/base32"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/totp"
)

// TestOAuthSignInNeedsTheSecondFactor: a sign-in with another provider to
// an account with a second factor answers the exchange with 403
// mfa_required, never tokens; the second step then signs in with amr
// ["otp","mfa"] (SECURITY 32).
func TestOAuthSignInNeedsTheSecondFactor(t *testing.T) {
	e := newOAuthEnv(t, memstore.New(), 0, func(c *auth.Config) { c.MFA = true })
	ctx := context.Background()
	e.passwordUser(t, "ada", "ada@example.com")
	tok := e.login(t, "ada")

	// Link the provider, with the password.
	res, body := e.hop(t, "POST", e.srv.URL+prefix+"/auth/oauth/acme/link",
		`{"current_password":"`+strongPW+`","redirect_uri":"`+appRedirect+`"}`, tok.AccessToken)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
	var link struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	require.NoError(t, jsonUnmarshal(body, &link))
	require.Equal(t, "acme", e.callback(t, e.approve(t, link.AuthorizeURL), flowCookie(t, res)).Get("linked"))

	// Turn TOTP on.
	id, err := e.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	setup, err := e.svc.SetupTOTP(ctx, id, strongPW, auth.Client{})
	require.NoError(t, err)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
	require.NoError(t, err)
	code, err := totp.Code(secret, e.clock.Now())
	require.NoError(t, err)
	_, err = e.svc.ConfirmTOTP(ctx, id, code, auth.Client{})
	require.NoError(t, err)

	// The provider vouches for Ada: still no tokens.
	res, body = e.exchange(t, e.signIn(t, "acme").Get("code"))
	require.Equal(t, http.StatusForbidden, res.StatusCode, "body: %s", body)
	var p struct {
		Code     string `json:"code"`
		MFAToken string `json:"mfa_token"`
	}
	require.NoError(t, jsonUnmarshal(body, &p))
	assert.Equal(t, "mfa_required", p.Code)
	require.NotEmpty(t, p.MFAToken)

	e.clock.Advance(30 * time.Second) // the next time step
	code, err = totp.Code(secret, e.clock.Now())
	require.NoError(t, err)
	signed, err := e.svc.VerifyMFA(ctx, p.MFAToken, code, "", auth.Client{})
	require.NoError(t, err)
	got, err := e.svc.Authenticate(ctx, signed.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, []string{auth.AMROTP, auth.AMRMFA}, got.Claims.AMR, "a provider and a code: no password in amr")
	assert.True(t, auth.HasSecondFactor(got.Claims))
}
