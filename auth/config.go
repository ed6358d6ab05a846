package auth

import (
	"context"
	"encoding/json"
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
//
// One rule holds for every number in Config: zero means the documented
// default, and a negative value turns the limit or feature off where its
// comment says it can be turned off; everywhere else a negative value is an
// error from [New]. (In the environment, read by [ConfigFromEnv], an unset
// variable means the default and 0 turns off what can be turned off.)
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

	// SessionMaxLifetime is the absolute lifetime of a device session in
	// Complete mode: however often it is refreshed, a session ends this
	// long after its login. Zero means 30 days; it cannot be turned off.
	SessionMaxLifetime time.Duration

	// RefreshReuseGrace is a window after a refresh token's rotation in
	// which presenting it again (two browser tabs refreshing at once) gets
	// a new pair of the same session instead of ending the session as a
	// replay; after it, reuse ends the session as before. It never lets a
	// token of an ended session through. Zero (the default) means no
	// window; it may be at most [MaxRefreshReuseGrace], and it needs a
	// store that implements [store.RefreshGrace]. [New] returns an error
	// otherwise. A replay by a thief within the window also succeeds:
	// keep it to seconds.
	RefreshReuseGrace time.Duration

	// UnverifiedAccountTTL is how long an account whose email was never
	// verified is kept in Complete mode; [Service.DeleteExpired] removes
	// older ones, and until then a new registration of the same email
	// replaces it. Zero means 7 days; negative keeps such accounts.
	UnverifiedAccountTTL time.Duration

	// CodeTTL is how long an emailed code is valid. Zero means one hour;
	// it cannot be turned off.
	CodeTTL time.Duration
	// CodeMaxAttempts is how many wrong guesses kill a code. Zero means 5;
	// it cannot be turned off.
	CodeMaxAttempts int
	// CodeResendCooldown is how long an account waits between two mailed
	// codes of one purpose. Zero means one minute; negative turns the
	// cooldown off.
	CodeResendCooldown time.Duration
	// CodeSendsPerHour caps the codes of one purpose mailed to an account
	// in an hour. Zero means 5; negative turns the cap off. Only codes
	// really queued for sending count.
	CodeSendsPerHour int
	// CodeGuessesPerNetwork caps the wrong codes (verification and reset)
	// one client network may try in 15 minutes, over every account, so
	// that killing someone else's code (Config.CodeMaxAttempts wrong
	// guesses) costs an attacker more than it costs the owner. Zero means
	// 10; negative turns the cap off.
	CodeGuessesPerNetwork int
	// CodeKey is the HMAC key under which codes are stored and device
	// tokens signed, at least 32 bytes. Nil derives one from Token.Secret;
	// with asymmetric token keys (no secret) it is required in Complete
	// mode, and device tokens are off without it.
	CodeKey []byte

	// AppName is the application name in emails, and the issuer an
	// authenticator app shows for a TOTP secret; default "forgeauth".
	AppName string

	// MFA turns on the second factor (TOTP and recovery codes): the
	// methods of mfa.go, and the challenge at login of a user who has
	// one. The store must implement store.SecondFactors and
	// store.Tickets; New names the missing capability otherwise. With MFA
	// off, stored second factors are ignored.
	MFA bool
	// MFAKey is the AES-256 key (32 bytes) that seals TOTP secrets at rest
	// and keys the digests of recovery codes; the same on every instance.
	// Nil derives one from Token.Secret (HKDF); with asymmetric token keys
	// (no secret) it is required when MFA is on. Changing it makes every
	// stored secret unreadable (see [Service.ResetMFA]).
	MFAKey []byte
	// Templates renders the emails; nil means the embedded defaults.
	Templates *mailer.Templates
	// NoWelcomeMail turns off the mail sent after an email is verified.
	NoWelcomeMail bool

	// LoginMaxFailures is how many failed logins one identifier (a
	// username or an email, as typed) may have from one client network in
	// 15 minutes before further attempts from that network are refused
	// with ErrRateLimited. Zero means 5; negative turns every login and
	// change-password limit off.
	LoginMaxFailures int
	// LoginFailuresPerHour is the slower ceiling on the failed logins of
	// one identifier from every network together. A client that presents
	// a device token from an earlier successful login of the account
	// (Client.DeviceToken) is not held by it. Zero means 100; negative
	// turns the ceiling off.
	LoginFailuresPerHour int
	// DeviceTokenTTL is how long a device token, handed out at each
	// successful login (Tokens.DeviceToken), lets its device through the
	// account-wide ceiling. Zero means 90 days; negative turns device
	// tokens off.
	DeviceTokenTTL time.Duration

	// NewLimiter makes the limiters the service uses (failed logins, code
	// guesses and code sends), given a name to keep their keys apart. Nil
	// means in-memory limiters, which are per process; pass a Redis-backed
	// constructor when several instances serve one user base.
	NewLimiter func(name string, rule ratelimit.Rule) (ratelimit.Limiter, error)

	// TokenCacheSize bounds the cache of access tokens that passed full
	// verification, which spares a JWT parse when a client presents the
	// same token again. Zero means 10,000 tokens; negative turns the cache
	// off. The cache never skips the user, session and revocation checks
	// of [Service.Authenticate], and an entry lives no longer than its
	// token.
	TokenCacheSize int

	// CustomClaims, when set, is called every time an access token is
	// issued (at login, at each refresh, and in any other flow that issues
	// one), with the user as the store has them then (without the password
	// hash), and returns the caller's own claims for the token: a JSON
	// object of at most 4 KiB, written under the one claim "ext" (see
	// [token.Identity.Custom]), so that none of its members can replace a
	// registered or forgeauth claim: {"sub":"x"} is ext.sub. Nil (or empty)
	// adds no ext claim. Because a refresh loads the user again, a changed
	// role shows in the access token of the next refresh.
	//
	// An error from it, or a result that is not such an object, fails the
	// login or refresh as an internal error: it is logged, and the flow
	// returns an error wrapping it (or [token.ErrCustomClaims]); no token
	// and no session is created, and a refresh token presented stays
	// usable. It runs on the goroutine of the request, with its ctx, and
	// must be safe for concurrent use.
	//
	// Every access token also carries is_superuser (true only for a
	// superuser), from the user, for services that verify tokens alone.
	CustomClaims func(ctx context.Context, u store.User) (json.RawMessage, error)
	// OAuth turns on sign-in with other providers (Complete mode); see
	// [OAuthConfig]. The zero value turns it off.
	OAuth OAuthConfig
	// Passkeys turns on passkeys (DESIGN §8) for the relying party it
	// names; see [PasskeyConfig]. The store must implement store.Passkeys
	// and store.Tickets. The zero value turns them off.
	Passkeys PasskeyConfig
	// Lifecycle configures the account lifecycle: change of email, deletion
	// of one's account, uniform registration, notices and administration
	// (lifecycle.go).
	Lifecycle LifecycleConfig

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
	defaultCodeTTL               = time.Hour
	defaultCodeMaxAttempts       = 5
	defaultCodeResendCooldown    = time.Minute
	defaultCodeSendsPerHour      = 5
	defaultLoginMaxFailures      = 5
	defaultLoginFailuresPerHour  = 100
	defaultSessionMaxLifetime    = 30 * 24 * time.Hour
	defaultUnverifiedTTL         = 7 * 24 * time.Hour
	defaultDeviceTokenTTL        = 90 * 24 * time.Hour
	defaultAppName               = "forgeauth"
	loginFailureWindow           = 15 * time.Minute
	defaultCodeGuessesPerNetwork = 10
	codeGuessWindow              = 15 * time.Minute
)
