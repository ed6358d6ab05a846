package auth

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/token"
)

// ErrMissingSecret is returned by [ConfigFromEnv] when JWT_SECRET_KEY is not
// set. The library never makes up a secret.
var ErrMissingSecret = errors.New("auth: JWT_SECRET_KEY is required")

// EnvError reports an environment variable with a value that cannot be
// used, and the cause when there is one.
type EnvError struct {
	Name   string
	Reason string
	Err    error
}

func (e *EnvError) Error() string {
	s := "auth: " + e.Name + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, such as [token.ErrWeakSecret].
func (e *EnvError) Unwrap() error { return e.Err }

// ConfigFromEnv reads a Config from the environment, through getenv (nil
// means os.Getenv). It reads:
//
//	JWT_SECRET_KEY                 required with HS256, HS384, HS512: the raw HMAC key, at least 32 bytes
//	JWT_ALGORITHM                  HS256; or EdDSA, ES256, RS256 (see [Asymmetric])
//	JWT_PRIVATE_KEY_FILE           with EdDSA, ES256, RS256: the signing key, a PKCS #8 PEM file
//	JWT_PUBLIC_KEY_FILES           with EdDSA, ES256, RS256: comma-separated PKIX PEM files of older keys that still verify
//	AUTH_CODE_KEY                  the key of code digests and device tokens, hex (read as such when it is hex) or base64, at least 32 bytes;
//	                               required in complete mode with EdDSA, ES256, RS256; derived from JWT_SECRET_KEY when unset
//	JWT_ACCESS_TOKEN_EXPIRATION    1800 (seconds)
//	JWT_REFRESH_TOKEN_EXPIRATION   86400 (seconds)
//	JWT_ISSUER, JWT_AUDIENCE
//	EMAIL_EXPIRATION               3600 (seconds a code is valid)
//	EMAIL_FROM_NAME                the application name in emails
//	AUTH_MODE                      complete or basic
//	AUTH_REQUIRE_VERIFIED_LOGIN    true
//	AUTH_LOGIN_MAX_FAILURES        5 per identifier and client network in 15 minutes; 0 turns the login limits off
//	AUTH_LOGIN_FAILURES_PER_HOUR   100 per identifier from everywhere; 0 turns this ceiling off
//	AUTH_CODE_RESEND_COOLDOWN      60 (seconds between two mailed codes); 0 turns it off
//	AUTH_CODE_SENDS_PER_HOUR       5 codes of one purpose an hour per address; 0 turns it off
//	AUTH_UNVERIFIED_ACCOUNT_TTL    604800 (seconds an unverified account is kept); 0 keeps them
//	AUTH_WELCOME_MAIL              true
//	JWT_SESSION_MAX_LIFETIME       2592000 (seconds a session lives, however often refreshed)
//	AUTH_REFRESH_REUSE_GRACE       0 (seconds a rotated refresh token still refreshes its session; 0 is none, at most 300)
//	AUTH_MFA                       false; true turns the second factor on
//	AUTH_MFA_KEY                   32 bytes in hex or base64 that seal TOTP secrets; unset derives it from JWT_SECRET_KEY
//	WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME, WEBAUTHN_ORIGINS   passkeys; see PasskeyConfigFromEnv
//	PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_ITERATIONS, PASSWORD_HASH_PARALLELISM
//	AUTH_REGISTER_UNIFORM          false; true: register answers alike for new and taken addresses
//	AUTH_ACCOUNT_CHANGES           false; true: change of email and deletion of one's account
//	AUTH_ADMIN                     false; true: the administration flows
//	AUTH_NOTICES_OFF               notices not sent, comma-separated kinds (see NoticeKind), or "all"
//
// The rule for numbers: an unset or empty variable means the default, and
// 0 turns off what the list says can be turned off (it becomes a negative
// value in Config, see [Config]); elsewhere 0 is out of range.
//
// With an asymmetric JWT_ALGORITHM, JWT_SECRET_KEY must be unset: the
// tokens are signed with the private key, and nothing is derived from a
// secret. The JWT_*_KEY_FILE variables must be unset with an HMAC one.
//
// Store, Mailer and the limiters are left for the caller. It returns
// [ErrMissingSecret] without a secret for an HMAC algorithm and an
// *[EnvError] naming the variable for a value that does not parse, is out
// of range, or that [New] would refuse (a secret under 32 bytes matches
// [token.ErrWeakSecret]). For the key files that is: a file that cannot be
// read, that is not PEM of the expected kind (PKCS #8 "PRIVATE KEY", PKIX
// "PUBLIC KEY"), that holds no key, or a key of the wrong type for the
// algorithm (matching [token.ErrKeyMismatch]) or an RSA key under 2048 bits
// (matching [token.ErrWeakKey]).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	e := env{getenv: getenv}
	if e.getenv == nil {
		e.getenv = os.Getenv
	}
	var cfg Config
	cfg.Token.Algorithm = e.str("JWT_ALGORITHM")
	if err := e.tokenKeys(&cfg.Token); err != nil {
		return Config{}, err
	}
	cfg.Token.Issuer = e.str("JWT_ISSUER")
	cfg.Token.Audience = e.str("JWT_AUDIENCE")
	cfg.Token.AccessTTL = e.seconds("JWT_ACCESS_TOKEN_EXPIRATION")
	cfg.Token.RefreshTTL = e.seconds("JWT_REFRESH_TOKEN_EXPIRATION")
	cfg.CodeTTL = e.seconds("EMAIL_EXPIRATION")
	cfg.SessionMaxLifetime = e.seconds("JWT_SESSION_MAX_LIFETIME")
	cfg.CodeResendCooldown = e.secondsOrOff("AUTH_CODE_RESEND_COOLDOWN")
	cfg.CodeSendsPerHour = e.limitOrOff("AUTH_CODE_SENDS_PER_HOUR")
	cfg.UnverifiedAccountTTL = e.secondsOrOff("AUTH_UNVERIFIED_ACCOUNT_TTL")
	cfg.LoginMaxFailures = e.limitOrOff("AUTH_LOGIN_MAX_FAILURES")
	if v, ok := e.integer("AUTH_REFRESH_REUSE_GRACE", 0, int(MaxRefreshReuseGrace/time.Second)); ok {
		cfg.RefreshReuseGrace = time.Duration(v) * time.Second
	}
	cfg.LoginFailuresPerHour = e.limitOrOff("AUTH_LOGIN_FAILURES_PER_HOUR")
	if v, ok := e.boolean("AUTH_WELCOME_MAIL"); ok {
		cfg.NoWelcomeMail = !v
	}
	cfg.AppName = e.str("EMAIL_FROM_NAME")
	if v, ok := e.boolean("AUTH_MFA"); ok {
		cfg.MFA = v
	}
	pk, err := PasskeyConfigFromEnv(e.getenv)
	if err != nil {
		return Config{}, err
	}
	cfg.Passkeys = pk
	cfg.MFAKey = e.key("AUTH_MFA_KEY")

	switch m := strings.ToLower(e.str("AUTH_MODE")); m {
	case "", string(ModeComplete):
		cfg.Mode = ModeComplete
	case string(ModeBasic):
		cfg.Mode = ModeBasic
	default:
		e.fail("AUTH_MODE", "want complete or basic")
	}
	cfg.CodeKey = e.codeKey(cfg.Mode == ModeComplete && Asymmetric(cfg.Token.Algorithm), cfg.Token.Algorithm)
	if v, ok := e.boolean("AUTH_REQUIRE_VERIFIED_LOGIN"); ok {
		cfg.AllowUnverifiedLogin = !v
	}
	e.lifecycle(&cfg.Lifecycle)
	if v, ok := e.integer("PASSWORD_HASH_MEMORY_KIB", 8, 262144); ok {
		cfg.Password.Params.Memory = uint32(v)
	}
	if v, ok := e.integer("PASSWORD_HASH_ITERATIONS", 1, 10); ok {
		cfg.Password.Params.Iterations = uint32(v)
	}
	if v, ok := e.integer("PASSWORD_HASH_PARALLELISM", 1, 16); ok {
		cfg.Password.Params.Parallelism = uint8(v)
	}
	if p := &cfg.Password.Params; p.Memory != 0 || p.Iterations != 0 || p.Parallelism != 0 {
		// A partial override keeps the defaults for the rest.
		d := password.DefaultParams()
		if p.Memory == 0 {
			p.Memory = d.Memory
		}
		if p.Iterations == 0 {
			p.Iterations = d.Iterations
		}
		if p.Parallelism == 0 {
			p.Parallelism = d.Parallelism
		}
		p.SaltLength, p.KeyLength = d.SaltLength, d.KeyLength
	}
	if e.err != nil {
		return Config{}, e.err
	}
	// Check what New would refuse now, so the error names the variable.
	if _, err := token.New(cfg.Token); err != nil {
		name := "JWT_ALGORITHM"
		if errors.Is(err, token.ErrWeakSecret) {
			name = "JWT_SECRET_KEY"
		}
		return Config{}, &EnvError{Name: name, Reason: "unusable token settings", Err: err}
	}
	if p := cfg.Password.Params; p != (password.Params{}) {
		if err := p.Validate(); err != nil {
			return Config{}, &EnvError{Name: "PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_ITERATIONS, PASSWORD_HASH_PARALLELISM", Reason: "invalid hashing parameters", Err: err}
		}
	}
	return cfg, nil
}

// SMTPConfigFromEnv reads the SMTP settings, through getenv (nil means
// os.Getenv). ok is false when EMAIL_HOST is not set (use a log mailer then).
// It reads EMAIL_HOST, EMAIL_PORT (587), EMAIL_HOST_USER,
// EMAIL_HOST_PASSWORD, EMAIL_USE_TLS (true; false allows plain SMTP),
// EMAIL_FROM_NAME and EMAIL_FROM_EMAIL (required with a host). It returns an
// *[EnvError] for a bad value.
func SMTPConfigFromEnv(getenv func(string) string) (cfg mailer.SMTPConfig, ok bool, err error) {
	e := env{getenv: getenv}
	if e.getenv == nil {
		e.getenv = os.Getenv
	}
	cfg.Host = e.str("EMAIL_HOST")
	if cfg.Host == "" {
		return mailer.SMTPConfig{}, false, nil
	}
	cfg.Port = 587
	if v, ok := e.integer("EMAIL_PORT", 1, 65535); ok {
		cfg.Port = v
	}
	cfg.Username = e.str("EMAIL_HOST_USER")
	cfg.Password = e.getenv("EMAIL_HOST_PASSWORD")
	if v, ok := e.boolean("EMAIL_USE_TLS"); ok {
		cfg.Insecure = !v
	}
	cfg.FromName = e.str("EMAIL_FROM_NAME")
	cfg.FromEmail = e.str("EMAIL_FROM_EMAIL")
	if cfg.FromEmail == "" {
		e.fail("EMAIL_FROM_EMAIL", "required when EMAIL_HOST is set")
	}
	if e.err != nil {
		return mailer.SMTPConfig{}, false, e.err
	}
	return cfg, true, nil
}

// env reads variables and keeps the first error.
type env struct {
	getenv func(string) string
	err    error
}

func (e *env) fail(name, reason string) {
	if e.err == nil {
		e.err = &EnvError{Name: name, Reason: reason}
	}
}

func (e *env) str(name string) string { return strings.TrimSpace(e.getenv(name)) }

func (e *env) integer(name string, lo, hi int) (int, bool) {
	s := e.str(name)
	if s == "" {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		e.fail(name, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
		return 0, false
	}
	return v, true
}

// seconds reads a positive number of seconds; unset is zero (the default).
func (e *env) seconds(name string) time.Duration {
	v, ok := e.integer(name, 1, maxSeconds)
	if !ok {
		return 0
	}
	return time.Duration(v) * time.Second
}

// maxSeconds bounds every duration read from the environment.
const maxSeconds = 10 * 365 * 24 * 3600

// secondsOrOff reads a number of seconds where 0 turns the setting off:
// unset is zero (the default), 0 is negative (off).
func (e *env) secondsOrOff(name string) time.Duration {
	v, ok := e.integer(name, 0, maxSeconds)
	if !ok {
		return 0
	}
	if v == 0 {
		return -1
	}
	return time.Duration(v) * time.Second
}

// limitOrOff reads a count where 0 turns the limit off: unset is zero (the
// default), 0 is negative (off).
func (e *env) limitOrOff(name string) int {
	v, ok := e.integer(name, 0, 1_000_000)
	if !ok {
		return 0
	}
	if v == 0 {
		return -1
	}
	return v
}

func (e *env) boolean(name string) (bool, bool) {
	s := e.str(name)
	if s == "" {
		return false, false
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		e.fail(name, "want true or false")
		return false, false
	}
	return v, true
}
