package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
)

// providersFromEnv reads sign-in with other providers (OAUTH_PROVIDERS and
// the variables of auth.OAuthConfigFromEnv) for the handler mounted at
// prefix ("" meaning httpauth.DefaultPrefix).
//
// When the page is served (page) and OAUTH_REDIRECT_URIS is unset, the one
// URI a flow may return to is the page itself, PUBLIC_URL + "/": exactly
// that URL, nothing derived from a request, so that the default opens no
// redirect elsewhere. Setting OAUTH_REDIRECT_URIS replaces the default
// (list the page too if it should keep its buttons working).
func providersFromEnv(ctx context.Context, getenv func(string) string, prefix string, page bool, logger *slog.Logger) (auth.OAuthConfig, error) {
	if prefix == "" {
		prefix = httpauth.DefaultPrefix
	}
	env, defaulted := getenv, ""
	if page && strings.TrimSpace(getenv("OAUTH_REDIRECT_URIS")) == "" {
		if public := strings.TrimSpace(getenv("PUBLIC_URL")); public != "" {
			pageURL := strings.TrimSuffix(public, "/") + "/"
			defaulted = pageURL
			env = func(name string) string {
				if name == "OAUTH_REDIRECT_URIS" {
					return pageURL
				}
				return getenv(name)
			}
		}
	}
	cfg, err := auth.OAuthConfigFromEnv(ctx, env, prefix, logger)
	if err == nil && len(cfg.Providers) > 0 && defaulted != "" {
		logger.InfoContext(ctx, "OAUTH_REDIRECT_URIS is not set: provider sign-in returns to the page only", "redirect_uri", defaulted)
	}
	return cfg, err
}
