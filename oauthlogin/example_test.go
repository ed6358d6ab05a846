package oauthlogin_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/oauthlogin"
)

// A program configures its providers once, at start: an OpenID Connect
// issuer by discovery (which fetches the issuer's discovery document, so
// it needs the network) and GitHub. The providers then go to
// auth.OAuthConfig.Providers, or are used directly as below.
func Example() {
	ctx := context.Background()
	callback := func(name string) string {
		return "https://auth.example.com/api/v1/auth/oauth/" + name + "/callback"
	}

	google, err := oauthlogin.Discover(ctx, "https://accounts.google.com", oauthlogin.Config{
		Name:         "google",
		ClientID:     os.Getenv("OAUTH_GOOGLE_CLIENT_ID"),
		ClientSecret: os.Getenv("OAUTH_GOOGLE_CLIENT_SECRET"),
		RedirectURL:  callback("google"),
		Timeout:      5 * time.Second, // bounds discovery and every later call
	})
	if errors.Is(err, oauthlogin.ErrUnavailable) {
		log.Fatalf("the issuer did not answer: %v", err)
	} else if err != nil {
		log.Fatal(err) // an incomplete configuration
	}

	github, err := oauthlogin.NewGitHub(oauthlogin.GitHubConfig{Config: oauthlogin.Config{
		Name:         "github",
		ClientID:     os.Getenv("OAUTH_GITHUB_CLIENT_ID"),
		ClientSecret: os.Getenv("OAUTH_GITHUB_CLIENT_SECRET"),
		RedirectURL:  callback("github"),
	}})
	if err != nil {
		log.Fatal(err)
	}

	for _, p := range []oauthlogin.Provider{google, github} {
		// One flow per sign-in: keep it (package auth keeps it in its
		// store, bound to the browser by a Seal'ed cookie) and send the
		// browser to the URL.
		f, err := oauthlogin.NewFlow(nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.Name(), p.AuthCodeURL(f))
	}
}

// At the callback, the code the provider sent back is traded for the
// account's profile with the flow kept from the redirect; the errors say
// what to tell the user. (Not run: p is whichever provider the callback
// names.)
func ExampleProvider_Exchange() {
	var (
		p    oauthlogin.Provider // from Discover or NewGitHub
		f    oauthlogin.Flow     // kept since AuthCodeURL
		code string              // the callback's "code" parameter
	)
	profile, err := p.Exchange(context.Background(), code, f)
	switch {
	case errors.Is(err, oauthlogin.ErrUnavailable):
		fmt.Println("the provider did not answer; try again")
	case errors.Is(err, oauthlogin.ErrNoEmail):
		fmt.Println("the account has no usable email")
	case err != nil:
		fmt.Println("the provider's answer was refused")
	default:
		fmt.Println(profile.Subject, profile.Email, profile.EmailVerified)
	}
}

// NewGitHub needs no network: the authorization URL carries the client,
// the callback, the state and the PKCE challenge (GitHub has no nonce).
func ExampleNewGitHub() {
	gh, err := oauthlogin.NewGitHub(oauthlogin.GitHubConfig{Config: oauthlogin.Config{
		Name:        "github",
		ClientID:    "my-client-id",
		RedirectURL: "https://auth.example.com/api/v1/auth/oauth/github/callback",
	}})
	if err != nil {
		log.Fatal(err)
	}
	// NewFlow(nil) draws the three values from crypto/rand; fixed ones
	// keep this output stable.
	f := oauthlogin.Flow{State: "the-state", Nonce: "the-nonce", Verifier: strings.Repeat("v", 43)}
	u, err := url.Parse(gh.AuthCodeURL(f))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Scheme + "://" + u.Host + u.Path)
	q := u.Query()
	for _, k := range []string{"client_id", "redirect_uri", "scope", "state", "code_challenge_method"} {
		fmt.Printf("%s=%s\n", k, q.Get(k))
	}
	fmt.Println("code_challenge set:", q.Get("code_challenge") != "")
	// Output:
	// https://github.com/login/oauth/authorize
	// client_id=my-client-id
	// redirect_uri=https://auth.example.com/api/v1/auth/oauth/github/callback
	// scope=read:user user:email
	// state=the-state
	// code_challenge_method=S256
	// code_challenge set: true
}

// Seal and Open make and check the value of the cookie that binds a flow
// to the browser that began it.
func ExampleSeal() {
	key := []byte("a key of at least 32 random bytes!") // keep it secret
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cookie := oauthlogin.Seal(key, "github\nthe-state", now.Add(10*time.Minute))

	payload, err := oauthlogin.Open(key, cookie, now.Add(time.Minute))
	fmt.Printf("%q %v\n", payload, err)
	_, err = oauthlogin.Open(key, cookie, now.Add(11*time.Minute))
	fmt.Println(err)
	// Output:
	// "github\nthe-state" <nil>
	// oauthlogin: sealed value is invalid or expired
}
