package auth_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/internal/fakeidp"
	"github.com/forgeauth/forgeauth/oauthlogin"
)

func TestOAuthConfigFromEnv(t *testing.T) {
	idp := fakeidp.New(t, time.Now)
	dead := httptest.NewServer(nil)
	dead.Close()
	base := map[string]string{
		"OAUTH_PROVIDERS":          "acme, github",
		"OAUTH_ACME_ISSUER":        idp.Issuer(),
		"OAUTH_ACME_CLIENT_ID":     idp.ClientID,
		"OAUTH_ACME_CLIENT_SECRET": idp.ClientSecret,
		"OAUTH_GITHUB_CLIENT_ID":   "gh-client",
		"PUBLIC_URL":               "https://auth.example.com",
		"OAUTH_REDIRECT_URIS":      "https://app.example.com/a, https://app.example.com/b",
	}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	ctx := context.Background()

	cfg, err := auth.OAuthConfigFromEnv(ctx, with(), "/api/v1", nil)
	require.NoError(t, err)
	require.Len(t, cfg.Providers, 2)
	assert.Equal(t, "acme", cfg.Providers[0].Name())
	assert.Equal(t, "github", cfg.Providers[1].Name())
	assert.Equal(t, []string{"https://app.example.com/a", "https://app.example.com/b"}, cfg.RedirectURIs)
	assert.Contains(t, cfg.Providers[0].AuthCodeURL(flowOf()), "redirect_uri=https%3A%2F%2Fauth.example.com%2Fapi%2Fv1%2Fauth%2Foauth%2Facme%2Fcallback")

	off, err := auth.OAuthConfigFromEnv(ctx, with("OAUTH_PROVIDERS", ""), "/api/v1", nil)
	require.NoError(t, err)
	assert.Empty(t, off.Providers)

	for _, tt := range []struct {
		name, variable string
		env            func(string) string
	}{
		{"no public URL", "PUBLIC_URL", with("PUBLIC_URL", "")},
		{"public URL with a path", "PUBLIC_URL", with("PUBLIC_URL", "https://auth.example.com/x")},
		{"no redirect URIs", "OAUTH_REDIRECT_URIS", with("OAUTH_REDIRECT_URIS", "")},
		{"relative redirect URI", "OAUTH_REDIRECT_URIS", with("OAUTH_REDIRECT_URIS", "/back")},
		{"upper-case name", "OAUTH_PROVIDERS", with("OAUTH_PROVIDERS", "Acme")},
		{"no client ID", "OAUTH_ACME_CLIENT_ID", with("OAUTH_ACME_CLIENT_ID", "")},
		{"no issuer", "OAUTH_OTHER_ISSUER", with("OAUTH_PROVIDERS", "other", "OAUTH_OTHER_CLIENT_ID", "x")},
		{"discovery fails", "OAUTH_ACME_ISSUER", with("OAUTH_ACME_ISSUER", dead.URL)},
		{"issuer mismatch", "OAUTH_ACME_ISSUER", with("OAUTH_ACME_ISSUER", idp.Issuer()+"/")},
		{"bad skip flag", "OAUTH_SKIP_UNAVAILABLE", with("OAUTH_SKIP_UNAVAILABLE", "maybe")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.OAuthConfigFromEnv(ctx, tt.env, "/api/v1", nil)
			var envErr *auth.EnvError
			require.ErrorAs(t, err, &envErr)
			assert.Equal(t, tt.variable, envErr.Name)
		})
	}

	var logs bytes.Buffer
	cfg, err = auth.OAuthConfigFromEnv(ctx, with("OAUTH_ACME_ISSUER", dead.URL, "OAUTH_SKIP_UNAVAILABLE", "true"), "/api/v1",
		slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	require.Len(t, cfg.Providers, 1)
	assert.Equal(t, "github", cfg.Providers[0].Name())
	assert.Contains(t, logs.String(), "provider=acme")
}

func flowOf() oauthlogin.Flow { return oauthlogin.Flow{State: "s", Nonce: "n", Verifier: "v"} }
