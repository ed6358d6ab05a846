package auth_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/internal/fakeauthn"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// Both ceremonies of a passkey, as an HTTP layer drives them: each begin
// hands the browser its options (PasskeyCeremony.Options, for
// navigator.credentials.create or get) and the ceremony id; each finish
// takes the id back with the browser's PublicKeyCredential (its toJSON()).
// A software authenticator plays the browser here.
func ExampleService_FinishPasskeyLogin() {
	ctx := context.Background()
	svc, err := auth.New(auth.Config{
		Mode:     auth.ModeBasic,
		Store:    memstore.New(),
		Token:    token.Config{Secret: exampleSecret},
		Passkeys: auth.PasskeyConfig{RPID: "example.com", RPName: "Example", Origins: []string{"https://example.com"}},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	browser := fakeauthn.New("https://example.com")

	// Sign up without a password: the account and its passkey in one step.
	c, err := svc.BeginPasskeySignup(ctx, "alice", "alice@example.com", auth.Client{})
	if err != nil {
		panic(err)
	}
	credential, _, err := browser.Create(c.Options) // navigator.credentials.create
	if err != nil {
		panic(err)
	}
	if _, err := svc.FinishPasskeySignup(ctx, c.ID, credential, "Laptop", auth.Client{}); err != nil {
		panic(err)
	}

	// Sign in: discoverable, no name typed (a button, or autofill).
	c, err = svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
	if err != nil {
		panic(err)
	}
	assertion, err := browser.Get(c.Options) // navigator.credentials.get
	if err != nil {
		panic(err)
	}
	tokens, err := svc.FinishPasskeyLogin(ctx, c.ID, assertion, auth.Client{})
	var mfa *auth.MFARequiredError
	switch {
	case errors.As(err, &mfa):
		fmt.Println("403 mfa_required") // a passkey without user verification, and TOTP on
	case errors.Is(err, auth.ErrInvalidCredentials):
		fmt.Println("401 invalid_credentials")
	case errors.Is(err, auth.ErrInvalidCode):
		fmt.Println("400 invalid_code") // the ceremony is unknown, used or expired
	case err != nil:
		fmt.Println("500 internal") // and log err
	default:
		id, _ := svc.Authenticate(ctx, tokens.AccessToken)
		fmt.Println("200 for", tokens.User.Username, "amr", id.Claims.AMR, "second factor:", auth.HasSecondFactor(id.Claims))
	}

	// The same ceremony again is refused.
	_, err = svc.FinishPasskeyLogin(ctx, c.ID, assertion, auth.Client{})
	fmt.Println(errors.Is(err, auth.ErrInvalidCode))
	// Output:
	// 200 for alice amr [hwk user mfa] second factor: true
	// true
}
