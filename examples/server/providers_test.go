package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/internal/fakeidp"
)

// TestProvidersRedirectDefault: with the page served and no
// OAUTH_REDIRECT_URIS, a flow may return to the page (PUBLIC_URL + "/")
// and nowhere else; without the page the variable stays required, and a
// configured list replaces the default.
func TestProvidersRedirectDefault(t *testing.T) {
	idp := fakeidp.New(t, time.Now)
	base := map[string]string{
		"OAUTH_PROVIDERS":          "acme",
		"OAUTH_ACME_ISSUER":        idp.Issuer(),
		"OAUTH_ACME_CLIENT_ID":     idp.ClientID,
		"OAUTH_ACME_CLIENT_SECRET": idp.ClientSecret,
		"PUBLIC_URL":               "http://127.0.0.1:8080/",
	}
	logger := slog.New(slog.DiscardHandler)
	ctx := context.Background()

	cfg, err := providersFromEnv(ctx, envOf(base), "", true, logger)
	require.NoError(t, err)
	assert.Equal(t, []string{"http://127.0.0.1:8080/"}, cfg.RedirectURIs)
	require.Len(t, cfg.Providers, 1)

	_, err = providersFromEnv(ctx, envOf(base), "", false, logger)
	var envErr *auth.EnvError
	require.ErrorAs(t, err, &envErr)
	assert.Equal(t, "OAUTH_REDIRECT_URIS", envErr.Name)

	cfg, err = providersFromEnv(ctx, envOf(base, map[string]string{"OAUTH_REDIRECT_URIS": "https://app.example.com/signed-in"}), "", true, logger)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://app.example.com/signed-in"}, cfg.RedirectURIs)

	// No providers: nothing to default, nothing required.
	cfg, err = providersFromEnv(ctx, envOf(map[string]string{"PUBLIC_URL": "http://127.0.0.1:8080"}), "", true, logger)
	require.NoError(t, err)
	assert.Empty(t, cfg.RedirectURIs)
	assert.Empty(t, cfg.Providers)
}
