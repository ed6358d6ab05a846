package oauthlogin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// The conditions of [Provider.Exchange]. Every error it returns matches
// exactly one of them.
var (
	// ErrUnavailable: the provider could not be reached, did not answer
	// within Config.Timeout, or answered with a server error.
	ErrUnavailable = errors.New("oauthlogin: provider unavailable")
	// ErrRejected: the provider refused the code, or its answer failed
	// verification (no ID token, a bad signature, another issuer or
	// audience, expired, a nonce that is not the flow's, no subject).
	ErrRejected = errors.New("oauthlogin: provider answer rejected")
	// ErrNoEmail: the account has no email this package may use (for
	// GitHub: no primary, verified email).
	ErrNoEmail = errors.New("oauthlogin: no usable email")
)

// DefaultTimeout bounds every call to a provider when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Profile is what a provider vouches for about the signed-in account.
type Profile struct {
	// Subject is the provider's stable identifier of the account: the ID
	// token's "sub", GitHub's numeric user id.
	Subject string
	Email   string
	// EmailVerified reports that the provider verified the email.
	EmailVerified bool
}

// Flow is the secret state of one authorization, made by [NewFlow] before
// the redirect and kept by the caller until the callback: State goes to the
// provider and comes back, Nonce goes into the ID token, Verifier is the
// PKCE code verifier (RFC 7636) whose S256 challenge goes to the provider.
type Flow struct {
	State    string
	Nonce    string
	Verifier string
}

// NewFlow returns a Flow of three independent 256-bit random values, read
// from r (nil means crypto/rand).
func NewFlow(r io.Reader) (Flow, error) {
	if r == nil {
		r = rand.Reader
	}
	var vals [3]string
	for i := range vals {
		b := make([]byte, 32)
		if _, err := io.ReadFull(r, b); err != nil {
			return Flow{}, fmt.Errorf("oauthlogin: reading randomness: %w", err)
		}
		vals[i] = base64.RawURLEncoding.EncodeToString(b)
	}
	return Flow{State: vals[0], Nonce: vals[1], Verifier: vals[2]}, nil
}

// Provider is one configured provider. Implementations are safe for
// concurrent use.
type Provider interface {
	// Name is the provider's configured name, as it appears in URLs.
	Name() string
	// AuthCodeURL returns the provider's authorization URL for f: the
	// state, the S256 challenge of the verifier, and (OpenID Connect) the
	// nonce.
	AuthCodeURL(f Flow) string
	// Exchange trades the code of a callback for the account's profile,
	// sending f's verifier and checking f's nonce. Errors match
	// [ErrUnavailable], [ErrRejected] or [ErrNoEmail].
	Exchange(ctx context.Context, code string, f Flow) (Profile, error)
}

// Config is what every provider needs.
type Config struct {
	// Name is the provider's name in URLs and records, such as "google".
	Name         string
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback registered with the provider.
	RedirectURL string
	// Scopes requested; nil means "openid email profile" for OpenID
	// Connect and "read:user user:email" for GitHub.
	Scopes []string
	// Timeout bounds each call to the provider (discovery, token, keys,
	// API). 0 means DefaultTimeout.
	Timeout time.Duration
	// Client makes the requests; nil means a client with Timeout. A given
	// client is used as it is, with Timeout still bounding each call.
	Client *http.Client
	// Now is the clock for the ID token's expiry; nil means time.Now.
	Now func() time.Time
}

func (c *Config) check() error {
	switch {
	case c.Name == "":
		return errors.New("oauthlogin: Config.Name is required")
	case c.ClientID == "":
		return fmt.Errorf("oauthlogin: %s: Config.ClientID is required", c.Name)
	case c.RedirectURL == "":
		return fmt.Errorf("oauthlogin: %s: Config.RedirectURL is required", c.Name)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.Timeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// withClient bounds ctx by the timeout and makes oauth2 and go-oidc use
// the configured client.
func (c *Config) withClient(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	return context.WithValue(ctx, oauth2.HTTPClient, c.Client), cancel
}

// exchangeCode runs the token request with the PKCE verifier.
func (c *Config) exchangeCode(ctx context.Context, oc *oauth2.Config, code string, f Flow) (*oauth2.Token, error) {
	if code == "" || f.Verifier == "" {
		return nil, fmt.Errorf("%w: missing code or verifier", ErrRejected)
	}
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, classify("token request", err)
	}
	return tok, nil
}

// classify sorts a failed call into ErrUnavailable (network, timeout,
// server error) or ErrRejected (any other refusal).
func classify(op string, err error) error {
	var re *oauth2.RetrieveError
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &re):
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
		}
		return fmt.Errorf("%w: %s: %w", ErrRejected, op, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &ne), errors.As(err, &ue):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrRejected, op, err)
}
