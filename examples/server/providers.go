package main

import (
	"context"
	"log/slog"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
)

// providersFromEnv reads sign-in with other providers (OAUTH_PROVIDERS and
// the variables of auth.OAuthConfigFromEnv) for the handler mounted at
// prefix ("" meaning httpauth.DefaultPrefix).
func providersFromEnv(ctx context.Context, getenv func(string) string, prefix string, logger *slog.Logger) (auth.OAuthConfig, error) {
	if prefix == "" {
		prefix = httpauth.DefaultPrefix
	}
	return auth.OAuthConfigFromEnv(ctx, getenv, prefix, logger)
}
