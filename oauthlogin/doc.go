// Package oauthlogin signs users in with another provider: any OpenID
// Connect issuer found by discovery ([Discover]), and GitHub ([NewGitHub]),
// through the authorization-code flow with PKCE (S256), a state and, for
// OpenID Connect, a nonce.
//
// The package is a client only: it builds the URL to send the browser to
// ([Provider.AuthCodeURL]) and trades the code the provider sends back for
// a verified [Profile] ([Provider.Exchange]). Keeping the [Flow] between
// the two, binding it to the browser and deciding what a profile means for
// an account is the caller's work (package auth does it); [Seal] and
// [Open] sign the value of the short-lived cookie that binds a flow to the
// browser that began it.
//
// Every call to a provider is bounded by Config.Timeout. An ID token is
// verified for its signature (the issuer's JWKS), issuer, audience (the
// client ID), expiry and nonce; a GitHub account counts only with a primary,
// verified email.
//
//	p, err := oauthlogin.Discover(ctx, "https://accounts.google.com", oauthlogin.Config{
//		Name: "google", ClientID: id, ClientSecret: secret,
//		RedirectURL: "https://app.example.com/api/v1/auth/oauth/google/callback",
//	})
//	f, _ := oauthlogin.NewFlow(nil)
//	url := p.AuthCodeURL(f) // keep f, send the browser to url
//	// ... at the callback, with the kept f:
//	profile, err := p.Exchange(ctx, code, f)
package oauthlogin
