package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/forgeauth/forgeauth/oauthlogin"
)

// OAuthConfigFromEnv reads the providers of sign-in with other providers
// from the environment, through getenv (nil means os.Getenv), and
// discovers each OpenID Connect issuer (bounded by ctx and each provider's
// timeout). prefix is the path of the HTTP endpoints (httpauth's
// Options.Prefix, "/api/v1" by default). It reads:
//
//	OAUTH_PROVIDERS                 names, lower case, comma-separated; unset turns providers off
//	OAUTH_<NAME>_ISSUER             the OpenID Connect issuer URL (not for "github")
//	OAUTH_<NAME>_CLIENT_ID          required
//	OAUTH_<NAME>_CLIENT_SECRET
//	OAUTH_<NAME>_SCOPES             space-separated; default "openid email profile"
//	PUBLIC_URL                      scheme://host[:port] of the server; required with providers
//	OAUTH_REDIRECT_URIS             comma-separated application URLs a flow may return to; required with providers
//	OAUTH_SKIP_UNAVAILABLE          false; true turns a provider whose discovery fails into a warning (logged to log) and leaves it out
//
// <NAME> is the name upper-cased. A provider named "github" without an
// issuer is GitHub. The callback registered with each provider is
// PUBLIC_URL + prefix + "/auth/oauth/<name>/callback".
//
// It returns an *[EnvError] naming the variable for a missing or bad
// value, and for an issuer whose discovery fails (unless
// OAUTH_SKIP_UNAVAILABLE is true).
func OAuthConfigFromEnv(ctx context.Context, getenv func(string) string, prefix string, log *slog.Logger) (OAuthConfig, error) {
	e := env{getenv: getenv}
	if e.getenv == nil {
		e.getenv = os.Getenv
	}
	if log == nil {
		log = slog.Default()
	}
	names := splitList(e.str("OAUTH_PROVIDERS"), ",")
	if len(names) == 0 {
		return OAuthConfig{}, nil
	}
	public := strings.TrimSuffix(e.str("PUBLIC_URL"), "/")
	if u, err := url.Parse(public); public == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return OAuthConfig{}, &EnvError{Name: "PUBLIC_URL", Reason: "want scheme://host[:port] of the server, required with OAUTH_PROVIDERS"}
	}
	var cfg OAuthConfig
	for _, r := range splitList(e.str("OAUTH_REDIRECT_URIS"), ",") {
		if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" {
			return OAuthConfig{}, &EnvError{Name: "OAUTH_REDIRECT_URIS", Reason: "want absolute URLs without a fragment"}
		}
		cfg.RedirectURIs = append(cfg.RedirectURIs, r)
	}
	if len(cfg.RedirectURIs) == 0 {
		return OAuthConfig{}, &EnvError{Name: "OAUTH_REDIRECT_URIS", Reason: "required with OAUTH_PROVIDERS"}
	}
	skip, _ := e.boolean("OAUTH_SKIP_UNAVAILABLE")
	if e.err != nil {
		return OAuthConfig{}, e.err
	}
	for _, name := range names {
		if name != strings.ToLower(name) || strings.ContainsAny(name, "/?#% ") {
			return OAuthConfig{}, &EnvError{Name: "OAUTH_PROVIDERS", Reason: "names must be lower case, without /?#% or spaces: " + name}
		}
		up := "OAUTH_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
		pc := oauthlogin.Config{
			Name:         name,
			ClientID:     e.str(up + "CLIENT_ID"),
			ClientSecret: e.getenv(up + "CLIENT_SECRET"),
			RedirectURL:  public + prefix + "/auth/oauth/" + name + "/callback",
			Scopes:       splitList(e.str(up+"SCOPES"), " "),
		}
		if pc.ClientID == "" {
			return OAuthConfig{}, &EnvError{Name: up + "CLIENT_ID", Reason: "required for provider " + name}
		}
		issuer := e.str(up + "ISSUER")
		var p oauthlogin.Provider
		var err error
		switch {
		case issuer == "" && name == "github":
			p, err = oauthlogin.NewGitHub(oauthlogin.GitHubConfig{Config: pc})
		case issuer == "":
			return OAuthConfig{}, &EnvError{Name: up + "ISSUER", Reason: "required for provider " + name}
		default:
			p, err = oauthlogin.Discover(ctx, issuer, pc)
		}
		switch {
		case errors.Is(err, oauthlogin.ErrUnavailable) && skip:
			log.WarnContext(ctx, "auth: provider left out: its discovery failed", "provider", name, "error", err)
			continue
		case err != nil:
			return OAuthConfig{}, &EnvError{Name: up + "ISSUER", Reason: "provider " + name + " cannot be used", Err: err}
		}
		cfg.Providers = append(cfg.Providers, p)
	}
	return cfg, nil
}

// splitList splits s at sep and drops empty items.
func splitList(s, sep string) []string {
	var out []string
	for _, item := range strings.Split(s, sep) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
