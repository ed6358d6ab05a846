package oauthlogin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDC is an OpenID Connect provider found by discovery. It is safe for
// concurrent use.
type OIDC struct {
	cfg      Config
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

var _ Provider = (*OIDC)(nil)

// Discover reads the issuer's discovery document
// (issuer + "/.well-known/openid-configuration", whose "issuer" must be
// issuer exactly) and returns the provider. It returns an error naming the
// provider for an incomplete cfg, and one matching [ErrUnavailable] when
// the document cannot be fetched within cfg.Timeout or does not describe
// the issuer.
func Discover(ctx context.Context, issuer string, cfg Config) (*OIDC, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if issuer == "" {
		return nil, fmt.Errorf("oauthlogin: %s: an issuer URL is required", cfg.Name)
	}
	dctx, cancel := cfg.withClient(ctx)
	defer cancel()
	p, err := oidc.NewProvider(dctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: discovery of %s: %w", ErrUnavailable, cfg.Name, issuer, err)
	}
	scopes := cfg.Scopes
	if scopes == nil {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if !containsScope(scopes, oidc.ScopeOpenID) {
		return nil, fmt.Errorf("oauthlogin: %s: the scopes must include %q", cfg.Name, oidc.ScopeOpenID)
	}
	return &OIDC{
		cfg: cfg,
		oauth: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
		},
		// Audience is the client ID; issuer, expiry (on cfg.Now) and the
		// signature by the issuer's keys are checked by the verifier. The
		// nonce is not: Exchange compares it.
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
	}, nil
}

func containsScope(scopes []string, s string) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}

// Name returns the configured name.
func (p *OIDC) Name() string { return p.cfg.Name }

// AuthCodeURL returns the authorization URL with f's state, nonce and the
// S256 challenge of f's verifier.
func (p *OIDC) AuthCodeURL(f Flow) string {
	return p.oauth.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce))
}

// Exchange trades code (with f's verifier) for tokens and returns the
// profile of the verified ID token. The ID token must be signed by the
// issuer's keys, name the issuer and the client ID, be unexpired, and carry
// f's nonce. It returns an error matching [ErrUnavailable] when the token
// endpoint or the keys cannot be reached in time, [ErrNoEmail] when the
// token has no email, and [ErrRejected] otherwise.
func (p *OIDC) Exchange(ctx context.Context, code string, f Flow) (Profile, error) {
	ctx, cancel := p.cfg.withClient(ctx)
	defer cancel()
	if f.Nonce == "" {
		return Profile{}, fmt.Errorf("%w: the flow has no nonce", ErrRejected)
	}
	tok, err := p.cfg.exchangeCode(ctx, p.oauth, code, f)
	if err != nil {
		return Profile{}, err
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Profile{}, fmt.Errorf("%w: no ID token in the token response", ErrRejected)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return Profile{}, fmt.Errorf("%w: ID token keys: %w", ErrUnavailable, err)
		}
		return Profile{}, fmt.Errorf("%w: ID token: %w", ErrRejected, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return Profile{}, fmt.Errorf("%w: ID token nonce is not the flow's", ErrRejected)
	}
	if idt.Subject == "" {
		return Profile{}, fmt.Errorf("%w: ID token has no subject", ErrRejected)
	}
	var claims struct {
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Profile{}, fmt.Errorf("%w: ID token claims: %w", ErrRejected, err)
	}
	if claims.Email == "" {
		return Profile{}, ErrNoEmail
	}
	return Profile{Subject: idt.Subject, Email: claims.Email, EmailVerified: isTrue(claims.EmailVerified)}, nil
}

// isTrue reads email_verified, a boolean that some providers send as the
// string "true".
func isTrue(raw json.RawMessage) bool {
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.EqualFold(s, "true")
	}
	return false
}
