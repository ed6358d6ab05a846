package auth_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// exampleSecret stands in for a secret of at least 32 random bytes read
// from the environment or a secret store.
var exampleSecret = []byte("an example secret of 32 bytes or more")

// The switch a caller of Login writes: each condition is a sentinel or a
// typed error, matched with errors.Is and errors.As; anything else is
// internal, to be logged and never shown.
func ExampleService_Login() {
	ctx := context.Background()
	svc, err := auth.New(auth.Config{
		Mode:   auth.ModeBasic,
		Store:  memstore.New(),
		Token:  token.Config{Secret: exampleSecret},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	if _, err := svc.Register(ctx, "alice", "alice@example.com", "Correct-Horse-7", auth.Client{}); err != nil {
		panic(err)
	}

	for _, pw := range []string{"Wrong-Horse-7", "Correct-Horse-7"} {
		tokens, err := svc.Login(ctx, "alice", pw, auth.Client{IP: "192.0.2.1", UserAgent: "example"})
		var (
			limited     *auth.RateLimitError
			unavailable *auth.UnavailableError
		)
		switch {
		case errors.Is(err, auth.ErrInvalidCredentials):
			fmt.Println("401 invalid_credentials")
		case errors.Is(err, auth.ErrEmailNotVerified):
			fmt.Println("403 email_not_verified")
		case errors.Is(err, auth.ErrInactiveUser):
			fmt.Println("403 inactive_user")
		case errors.As(err, &limited):
			fmt.Println("429 rate_limited, retry after", limited.RetryAfter)
		case errors.As(err, &unavailable):
			fmt.Println("503 unavailable, retry after", unavailable.RetryAfter)
		case err != nil:
			fmt.Println("500 internal") // and log err
		default:
			fmt.Println("200", tokens.TokenType, "for", tokens.User.Username)
		}
	}
	// Output:
	// 401 invalid_credentials
	// 200 bearer for alice
}

// A refresh token works once. Presenting it again is taken as theft: the
// whole session ends, so the newest token, which the thief may hold, fails
// too.
func ExampleService_Refresh() {
	ctx := context.Background()
	svc, err := auth.New(auth.Config{
		Store:                memstore.New(),
		Mailer:               &mailer.Recorder{},
		Token:                token.Config{Secret: exampleSecret},
		AllowUnverifiedLogin: true, // to keep the example short
		Logger:               slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	defer func() { _ = svc.Shutdown(ctx) }()
	if _, err := svc.Register(ctx, "alice", "alice@example.com", "Correct-Horse-7", auth.Client{}); err != nil {
		panic(err)
	}
	first, err := svc.Login(ctx, "alice", "Correct-Horse-7", auth.Client{DeviceName: "phone"})
	if err != nil {
		panic(err)
	}

	second, err := svc.Refresh(ctx, first.RefreshToken, auth.Client{})
	fmt.Println("first refresh:", err == nil, "same session:", second.SessionID == first.SessionID)

	_, err = svc.Refresh(ctx, first.RefreshToken, auth.Client{})
	fmt.Println("the first token again:", errors.Is(err, auth.ErrInvalidRefreshToken))

	_, err = svc.Refresh(ctx, second.RefreshToken, auth.Client{})
	fmt.Println("the newest token after the reuse:", errors.Is(err, auth.ErrInvalidRefreshToken))

	_, err = svc.Authenticate(ctx, second.AccessToken)
	fmt.Println("its access token:", errors.Is(err, auth.ErrInvalidToken))
	// Output:
	// first refresh: true same session: true
	// the first token again: true
	// the newest token after the reuse: true
	// its access token: true
}

// Authenticate is what a protected route calls (httpauth.RequireUser does):
// it verifies the access token and loads the user and the token's session
// in one store round trip.
func ExampleService_Authenticate() {
	ctx := context.Background()
	svc, err := auth.New(auth.Config{
		Mode:   auth.ModeBasic,
		Store:  memstore.New(),
		Token:  token.Config{Secret: exampleSecret},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	if _, err := svc.Register(ctx, "alice", "alice@example.com", "Correct-Horse-7", auth.Client{}); err != nil {
		panic(err)
	}
	tokens, err := svc.Login(ctx, "alice", "Correct-Horse-7", auth.Client{})
	if err != nil {
		panic(err)
	}

	id, err := svc.Authenticate(ctx, tokens.AccessToken)
	fmt.Println(id.User.Username, id.Claims.UserID == id.User.ID, err)

	_, err = svc.Authenticate(ctx, "not-a-token")
	fmt.Println(errors.Is(err, auth.ErrInvalidToken))
	// Output:
	// alice true <nil>
	// true
}

// ConfigFromEnv reads the variables of the reference project, and names
// the variable behind a value it cannot use.
func ExampleConfigFromEnv() {
	env := map[string]string{
		"JWT_SECRET_KEY":              "an example secret of 32 bytes or more",
		"JWT_ACCESS_TOKEN_EXPIRATION": "900",
		"AUTH_CODE_RESEND_COOLDOWN":   "0", // 0 turns the cooldown off
	}
	cfg, err := auth.ConfigFromEnv(func(name string) string { return env[name] })
	fmt.Println(cfg.Mode, cfg.Token.AccessTTL, cfg.CodeResendCooldown < 0, err)

	env["JWT_SECRET_KEY"] = "too short"
	_, err = auth.ConfigFromEnv(func(name string) string { return env[name] })
	var envErr *auth.EnvError
	fmt.Println(errors.As(err, &envErr), envErr.Name, errors.Is(err, token.ErrWeakSecret))
	// Output:
	// complete 15m0s true <nil>
	// true JWT_SECRET_KEY true
}
