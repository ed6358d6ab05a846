package auth

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// Mode chooses the set of flows a [Service] offers.
type Mode string

// The modes. The zero value means [ModeComplete].
const (
	// ModeComplete: email verification, refresh-token rotation, logout,
	// password reset and change, and devices, besides the basic flows.
	ModeComplete Mode = "complete"
	// ModeBasic: register (the user is active at once), login (an access
	// token only) and protected routes.
	ModeBasic Mode = "basic"
)

// Config configures a [Service]. Its zero values are the secure defaults;
// only Store, Token.Secret (or asymmetric keys) and, in Complete mode, Mailer
// must be set.
type Config struct {
	// Mode is ModeComplete when empty.
	Mode Mode

	// Store keeps users, refresh tokens and codes. Required.
	Store store.Store

	// Mailer sends verification, reset and welcome mails. Required in
	// Complete mode. Unless it already is a *mailer.Async, the service wraps
	// it in one, so a slow mail server never slows a request; call
	// [Service.Shutdown] to drain it.
	Mailer mailer.Mailer

	// Token configures the JWT manager: secret (at least 32 bytes) or keys,
	// algorithm, issuer, audience and lifetimes. Now and Rand are taken from
	// this Config when unset there.
	Token token.Config

	// Password configures the bounded Argon2id hasher. Zero values are the
	// OWASP parameters and GOMAXPROCS hashes at once.
	Password password.HasherConfig

	// Policy is the password strength policy; nil means
	// password.DefaultPolicy().
	Policy *password.Policy

	// AllowUnverifiedLogin lets users log in before they verify their email
	// in Complete mode. By default they are refused with ErrEmailNotVerified.
	AllowUnverifiedLogin bool

	// CodeTTL is how long an emailed code is valid; default one hour.
	CodeTTL time.Duration
	// CodeMaxAttempts is how many wrong guesses kill a code; default 5.
	CodeMaxAttempts int
	// CodeKey is the HMAC key under which codes are stored. Nil derives one
	// from Token.Secret; with asymmetric token keys it is required (at least
	// 32 bytes).
	CodeKey []byte

	// AppName is the application name in emails; default "forgeauth".
	AppName string
	// Templates renders the emails; nil means the embedded defaults.
	Templates *mailer.Templates

	// LoginMaxFailures is how many failed logins an account may have in 15
	// minutes before further attempts are refused with ErrRateLimited; zero
	// means 5 and a negative value turns the limit off. An account is also
	// limited to 100 failures an hour whenever this limit is on.
	LoginMaxFailures int

	// NewLimiter makes the limiters the service uses (failed logins and code
	// sends per account), given a name to keep their keys apart. Nil means
	// in-memory limiters, which are per process; pass a Redis-backed
	// constructor when several instances serve one user base.
	NewLimiter func(name string, rule ratelimit.Rule) (ratelimit.Limiter, error)

	// TokenCacheSize bounds the cache of access tokens that passed full
	// verification, which spares a JWT parse when a client presents the
	// same token again; zero means 10,000 tokens and a negative value turns
	// the cache off. The cache never skips the user and revocation checks of
	// [Service.Authenticate], and an entry lives no longer than its token.
	TokenCacheSize int

	// Now and Rand are the clock and the randomness; nil means time.Now and
	// crypto/rand.
	Now  func() time.Time
	Rand io.Reader

	// Logger receives audit events and background failures; nil means
	// slog.Default().
	Logger *slog.Logger
	// OnEvent, when set, is called with every audit event, after it is
	// logged, on the goroutine of the request.
	OnEvent func(ctx context.Context, e Event)
}

// Defaults of the security rules (SECURITY.md).
const (
	defaultCodeTTL          = time.Hour
	defaultCodeMaxAttempts  = 5
	defaultLoginMaxFailures = 5
	loginFailureWindow      = 15 * time.Minute
	loginFailuresPerHour    = 100
	codeSendCooldown        = time.Minute
	codeSendsPerHour        = 5
	defaultAppName          = "forgeauth"
)
