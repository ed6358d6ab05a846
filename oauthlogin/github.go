package oauthlogin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"
)

// GitHubConfig configures [NewGitHub]. The URLs default to github.com's;
// GitHub Enterprise, and tests, set them.
type GitHubConfig struct {
	Config
	AuthURL  string // default https://github.com/login/oauth/authorize
	TokenURL string // default https://github.com/login/oauth/access_token
	APIURL   string // default https://api.github.com
}

// GitHub signs in with GitHub's OAuth 2.0 (no ID token): the account is
// GitHub's numeric user id, and its email the primary, verified address
// from /user/emails. It is safe for concurrent use.
type GitHub struct {
	cfg   Config
	oauth *oauth2.Config
	api   string
}

var _ Provider = (*GitHub)(nil)

// maxAPIBody bounds what is read of a GitHub API answer.
const maxAPIBody = 1 << 20

// NewGitHub returns the GitHub provider. It returns an error naming the
// provider for an incomplete configuration.
func NewGitHub(cfg GitHubConfig) (*GitHub, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ep := endpoints.GitHub
	if cfg.AuthURL != "" {
		ep.AuthURL = cfg.AuthURL
	}
	if cfg.TokenURL != "" {
		ep.TokenURL = cfg.TokenURL
	}
	api := strings.TrimSuffix(cfg.APIURL, "/")
	if api == "" {
		api = "https://api.github.com"
	}
	scopes := cfg.Scopes
	if scopes == nil {
		scopes = []string{"read:user", "user:email"}
	}
	return &GitHub{
		cfg: cfg.Config,
		oauth: &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			Endpoint: ep, RedirectURL: cfg.RedirectURL, Scopes: scopes,
		},
		api: api,
	}, nil
}

// Name returns the configured name.
func (g *GitHub) Name() string { return g.cfg.Name }

// AuthCodeURL returns the authorization URL with f's state and the S256
// challenge of f's verifier (GitHub has no nonce).
func (g *GitHub) AuthCodeURL(f Flow) string {
	return g.oauth.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier))
}

// Exchange trades code (with f's verifier) for an access token and reads
// /user and /user/emails. Only the primary email counts, and only if GitHub
// verified it: otherwise it returns [ErrNoEmail]. A server error, a network
// failure or a timeout is [ErrUnavailable]; any other refusal [ErrRejected].
func (g *GitHub) Exchange(ctx context.Context, code string, f Flow) (Profile, error) {
	ctx, cancel := g.cfg.withClient(ctx)
	defer cancel()
	tok, err := g.cfg.exchangeCode(ctx, g.oauth, code, f)
	if err != nil {
		return Profile{}, err
	}
	var user struct {
		ID int64 `json:"id"`
	}
	if err := g.get(ctx, tok, "/user", &user); err != nil {
		return Profile{}, err
	}
	if user.ID <= 0 {
		return Profile{}, fmt.Errorf("%w: GitHub user without an id", ErrRejected)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, tok, "/user/emails", &emails); err != nil {
		return Profile{}, err
	}
	for _, e := range emails {
		if e.Primary && e.Verified && e.Email != "" {
			return Profile{Subject: strconv.FormatInt(user.ID, 10), Email: e.Email, EmailVerified: true}, nil
		}
	}
	return Profile{}, ErrNoEmail
}

// get reads a JSON answer of the API into v.
func (g *GitHub) get(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.api+path, nil)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRejected, path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := g.cfg.Client.Do(req)
	if err != nil {
		return classify(path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAPIBody))
	switch {
	case err != nil:
		return classify(path, err)
	case res.StatusCode >= 500:
		return fmt.Errorf("%w: %s: status %d", ErrUnavailable, path, res.StatusCode)
	case res.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: %s: status %d", ErrRejected, path, res.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRejected, path, err)
	}
	return nil
}
