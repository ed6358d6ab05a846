package oauthlogin_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/internal/fakeidp"
	"github.com/forgeauth/forgeauth/oauthlogin"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sealed := oauthlogin.Seal(key, "acme\nstate", now.Add(time.Minute))
	got, err := oauthlogin.Open(key, sealed, now)
	require.NoError(t, err)
	assert.Equal(t, "acme\nstate", got)

	for name, tt := range map[string]struct {
		key    []byte
		sealed string
		now    time.Time
	}{
		"expired":        {key, sealed, now.Add(time.Minute)},
		"other key":      {bytes.Repeat([]byte{8}, 32), sealed, now},
		"payload change": {key, oauthlogin.Seal(key, "github\nstate", now.Add(time.Minute))[:10] + sealed[10:], now},
		"expiry change":  {key, strings.Replace(sealed, ".", ".9", 1), now},
		"no signature":   {key, "abc", now},
		"bad base64":     {key, sealed + "!", now},
		"empty":          {key, "", now},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := oauthlogin.Open(tt.key, tt.sealed, tt.now)
			require.ErrorIs(t, err, oauthlogin.ErrBadSeal)
		})
	}
}

func TestNewFlow(t *testing.T) {
	a, err := oauthlogin.NewFlow(nil)
	require.NoError(t, err)
	b, err := oauthlogin.NewFlow(nil)
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.Len(t, a.Verifier, 43, "a PKCE verifier of 43 characters (RFC 7636)")
	assert.NotEqual(t, a.State, a.Nonce)
	_, err = oauthlogin.NewFlow(iotest.ErrReader(errors.New("no entropy")))
	require.Error(t, err)
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	_, err := oauthlogin.Discover(ctx, "https://issuer.example.com", oauthlogin.Config{ClientID: "c", RedirectURL: "r"})
	assert.ErrorContains(t, err, "Name is required")
	_, err = oauthlogin.Discover(ctx, "https://issuer.example.com", oauthlogin.Config{Name: "x", RedirectURL: "r"})
	assert.ErrorContains(t, err, "ClientID is required")
	_, err = oauthlogin.Discover(ctx, "", oauthlogin.Config{Name: "x", ClientID: "c", RedirectURL: "r"})
	assert.ErrorContains(t, err, "issuer URL is required")
	_, err = oauthlogin.NewGitHub(oauthlogin.GitHubConfig{Config: oauthlogin.Config{Name: "github", ClientID: "c"}})
	assert.ErrorContains(t, err, "RedirectURL is required")

	idp := fakeidp.New(t, time.Now)
	_, err = oauthlogin.Discover(ctx, idp.Issuer(), oauthlogin.Config{Name: "x", ClientID: "c", RedirectURL: "r", Scopes: []string{"email"}})
	assert.ErrorContains(t, err, `must include "openid"`)
}

// TestExchangeNeedsTheVerifier: without the flow's PKCE verifier (or
// nonce) no code is sent to the provider at all.
func TestExchangeNeedsTheVerifier(t *testing.T) {
	idp := fakeidp.New(t, time.Now)
	p, err := oauthlogin.Discover(context.Background(), idp.Issuer(), oauthlogin.Config{
		Name: "acme", ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: "https://app.example.com/cb",
	})
	require.NoError(t, err)
	f, err := oauthlogin.NewFlow(nil)
	require.NoError(t, err)
	u, err := url.Parse(p.AuthCodeURL(f))
	require.NoError(t, err)
	assert.Equal(t, f.Nonce, u.Query().Get("nonce"))
	assert.Equal(t, f.State, u.Query().Get("state"))
	assert.NotContains(t, u.RawQuery, f.Verifier, "only the challenge leaves")

	for _, bad := range []oauthlogin.Flow{{State: f.State, Nonce: f.Nonce}, {State: f.State, Verifier: f.Verifier}} {
		_, err := p.Exchange(context.Background(), "some-code", bad)
		require.ErrorIs(t, err, oauthlogin.ErrRejected)
	}
	assert.Zero(t, idp.TokenRequests())

	// A verifier that is not the one of the challenge is refused by the
	// provider: a code stolen from another flow is worthless.
	_, err = p.Exchange(context.Background(), "unknown-code", f)
	require.ErrorIs(t, err, oauthlogin.ErrRejected)
	assert.Positive(t, idp.TokenRequests())
}
