package benchsrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// Route chooses what answers GET [MePath] on the forgeauth server.
type Route string

// The routes.
const (
	// RouteApp is an application handler wrapped in
	// httpauth.Handler.RequireUser, writing the user it finds in the
	// context: how a service protects its own routes.
	RouteApp Route = "app"
	// RouteBuiltin is httpauth.Handler's own GET /users/me endpoint (its
	// internal mux, RequireUser and its JSON writer).
	RouteBuiltin Route = "builtin"
)

// ErrInvalidConfig is returned, wrapped with the reason, by [NewForgeauth]
// for an unknown Route.
var ErrInvalidConfig = errors.New("benchsrv: invalid configuration")

// ForgeauthConfig configures [NewForgeauth]. The zero value (apart from
// Settings.Secret) is a Complete-mode server with the default Argon2id
// parameters, the per-IP limit on and the application route.
type ForgeauthConfig struct {
	Settings

	// Mode is the service's mode; "" means Complete. In Complete mode
	// unverified users may log in (there is no inbox to verify from) and
	// mails are dropped.
	Mode auth.Mode

	// Route is what answers GET /api/v1/users/me; "" means [RouteApp].
	Route Route

	// Password configures the hasher; the zero value is the library default
	// (m=19456 KiB, t=2, p=1, GOMAXPROCS hashes at once, 2 s wait).
	Password password.HasherConfig

	// DisableIPLimit turns off httpauth's per-IP limit (60 requests a
	// minute) on the auth endpoints. A login load from one address needs
	// it off, or nearly every answer is a 429.
	DisableIPLimit bool

	// LoginMaxFailures is auth.Config.LoginMaxFailures: 0 is the library's
	// failed-login limit, negative turns it off. The limit counts every
	// attempt before its hash, so a load of one user's logins from one
	// address at once needs it off, or all but five of a burst are 429.
	LoginMaxFailures int

	// TokenCacheSize is auth.Config.TokenCacheSize: 0 is the library's
	// verified-token cache at its default size, negative turns it off (every
	// request then pays the full JWT check, as with a new token each time).
	TokenCacheSize int

	// Logger receives audit events and errors; nil means slog.Default().
	Logger *slog.Logger
}

// Forgeauth is a running forgeauth bench server's parts. Its fields are set
// by [NewForgeauth] and must not be changed; Handler is safe for concurrent
// use.
type Forgeauth struct {
	// Handler serves the auth endpoints under /api/v1 (mounted with
	// httpauth.Handler.Mount) and GET /api/v1/users/me.
	Handler http.Handler
	// Service is the auth service behind Handler; call its Shutdown when
	// done.
	Service *auth.Service
	// User is the bench account, registered at start.
	User store.User
	// Token is an access token of User, issued by the service's token
	// manager through a login, valid for the access-token lifetime
	// (30 minutes).
	Token string

	minter *token.Manager // same keys and claims as Service's
}

// NewForgeauth builds the forgeauth server on a fresh in-memory store,
// registers the bench account ([Username], [Email], [Password]) and logs it
// in to get [Forgeauth.Token]. It costs two Argon2id hashes and a dummy one.
//
// It returns an error wrapping [ErrWeakSecret] for a short secret,
// [ErrInvalidConfig] for an unknown route, and the error of auth.New,
// httpauth.New, Register or Login otherwise.
func NewForgeauth(ctx context.Context, cfg ForgeauthConfig) (*Forgeauth, error) {
	st, err := cfg.Settings.complete()
	if err != nil {
		return nil, err
	}
	route := cfg.Route
	switch route {
	case "":
		route = RouteApp
	case RouteApp, RouteBuiltin:
	default:
		return nil, fmt.Errorf("%w: unknown route %q", ErrInvalidConfig, route)
	}
	acfg := auth.Config{
		Mode:  cfg.Mode,
		Store: memstore.New(),
		Token: token.Config{
			Secret:   st.Secret,
			Issuer:   st.Issuer,
			Audience: st.Audience,
		},
		Password:             cfg.Password,
		AllowUnverifiedLogin: true,
		LoginMaxFailures:     cfg.LoginMaxFailures,
		TokenCacheSize:       cfg.TokenCacheSize,
		Logger:               cfg.Logger,
	}
	if cfg.Mode != auth.ModeBasic {
		acfg.Mailer = mailer.Func(func(context.Context, mailer.Message) error { return nil })
	}
	svc, err := auth.New(acfg)
	if err != nil {
		return nil, fmt.Errorf("benchsrv: %w", err)
	}
	h, err := httpauth.New(svc, httpauth.Options{DisableIPLimit: cfg.DisableIPLimit, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("benchsrv: %w", err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	if route == RouteApp {
		// More specific than the method-less pattern Mount registered for
		// the same path, so GET (and HEAD) come here.
		mux.Handle("GET "+MePath, h.RequireUser(http.HandlerFunc(me)))
	}

	if _, err := svc.Register(ctx, Username, Email, Password, auth.Client{IP: "127.0.0.1"}); err != nil {
		return nil, fmt.Errorf("benchsrv: registering the bench user: %w", err)
	}
	t, err := svc.Login(ctx, Username, Password, auth.Client{IP: "127.0.0.1", DeviceName: "bench", DeviceType: "desktop"})
	if err != nil {
		return nil, fmt.Errorf("benchsrv: logging in the bench user: %w", err)
	}
	minter, err := token.New(acfg.Token)
	if err != nil {
		return nil, fmt.Errorf("benchsrv: %w", err)
	}
	return &Forgeauth{Handler: mux, Service: svc, User: t.User, Token: t.AccessToken, minter: minter}, nil
}

// Tokens returns n distinct access tokens of the bench account, each good
// for Handler (and for the jwtauth and golang-jwt servers with the same
// Settings) for the access-token lifetime: the same claims as [Forgeauth.Token]
// but each with its own jti. Sent round robin, more of them than the
// verified-token cache holds make every request pay the full token check.
// It returns the error of verifying Token or of issuing one.
func (fa *Forgeauth) Tokens(n int) ([]string, error) {
	c, err := fa.Service.VerifyAccessToken(fa.Token)
	if err != nil {
		return nil, fmt.Errorf("benchsrv: %w", err)
	}
	id := token.Identity{UserID: c.UserID, Username: c.Subject, SessionID: c.SessionID, AuthTime: c.AuthTime, Superuser: c.Superuser}
	toks := make([]string, n)
	for i := range toks {
		is, err := fa.minter.IssueAccess(id)
		if err != nil {
			return nil, fmt.Errorf("benchsrv: %w", err)
		}
		toks[i] = is.Token
	}
	return toks, nil
}

// me is the application handler behind RequireUser.
func me(w http.ResponseWriter, r *http.Request) {
	u, ok := httpauth.UserFrom(r.Context())
	if !ok {
		// RequireUser lets no request through without a user.
		writeUnauthorized(w)
		return
	}
	writeUser(w, u)
}
