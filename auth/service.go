package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// Service runs every authentication flow. It is safe for concurrent use; make
// one with [New] and share it.
type Service struct {
	mode               Mode
	store              store.Store
	mail               *mailer.Async // nil in Basic mode without a mailer
	ownsMail           bool          // New made mail, so Shutdown drains it
	templates          *mailer.Templates
	welcomeMail        bool
	tokens             *token.Manager
	tokenCache         *tokenCache // nil when turned off
	hasher             *password.Hasher
	policy             password.Policy
	requireVerified    bool
	sessionMaxLifetime time.Duration
	refreshGrace       time.Duration      // 0: no reuse grace window
	graceStore         store.RefreshGrace // set when refreshGrace is
	unverifiedTTL      time.Duration      // 0 keeps unverified accounts
	codeTTL            time.Duration
	codeMaxAttempts    int
	codeKey            []byte
	deviceKey          []byte // nil when device tokens are off
	deviceTTL          time.Duration
	appName            string
	mfa                *mfaState     // nil when Config.MFA is off
	passkeys           *passkeyState // nil when Config.Passkeys is zero
	dummyHash          string        // verified for unknown users so login timing does not tell
	hashTime           hashTimer
	// The limiters; a nil slice is a limit turned off.
	loginNetLimits     []ratelimit.Limiter // failures per identifier and client network
	loginAccountLimits []ratelimit.Limiter // failures per identifier from everywhere
	deviceLimits       []ratelimit.Limiter // failures per device token
	passwordLimits     []ratelimit.Limiter // change-password failures per user
	codeGuessLimits    []ratelimit.Limiter // wrong codes per client network
	verifySends        sendLimits
	resetSends         sendLimits
	now                func() time.Time
	rand               io.Reader
	log                *slog.Logger
	onEvent            func(context.Context, Event)
	claimsHook         func(context.Context, store.User) (json.RawMessage, error)
	oauth              *oauthSetup    // nil when no provider is configured
	background         sync.WaitGroup // code sends that outlive their request
	life               lifecycle
}

// New checks cfg and returns a Service. It returns an error for a missing
// store, a missing mailer in Complete mode, a weak or missing token secret
// (token.ErrWeakSecret), invalid hashing parameters, a negative value where
// Config says a setting cannot be turned off, an unknown mode, and, with
// Config.MFA on, a store without the capabilities it needs or an unusable
// MFA key.
func New(cfg Config) (*Service, error) {
	s := &Service{
		mode:            cfg.Mode,
		store:           cfg.Store,
		policy:          password.DefaultPolicy(),
		requireVerified: !cfg.AllowUnverifiedLogin,
		welcomeMail:     !cfg.NoWelcomeMail,
		appName:         cfg.AppName,
		now:             cfg.Now,
		rand:            cfg.Rand,
		log:             cfg.Logger,
		onEvent:         cfg.OnEvent,
		claimsHook:      cfg.CustomClaims,
	}
	switch s.mode {
	case "":
		s.mode = ModeComplete
	case ModeComplete, ModeBasic:
	default:
		return nil, fmt.Errorf("auth: unknown mode %q (want %q or %q)", cfg.Mode, ModeComplete, ModeBasic)
	}
	if s.store == nil {
		return nil, errors.New("auth: Config.Store is required")
	}
	if s.mode == ModeComplete && cfg.Mailer == nil {
		return nil, errors.New("auth: Config.Mailer is required in complete mode")
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Policy != nil {
		s.policy = *cfg.Policy
	}
	if s.appName == "" {
		s.appName = defaultAppName
	}
	var err error
	if s.codeTTL, err = required("CodeTTL", cfg.CodeTTL, defaultCodeTTL); err != nil {
		return nil, err
	}
	if s.codeMaxAttempts, err = required("CodeMaxAttempts", cfg.CodeMaxAttempts, defaultCodeMaxAttempts); err != nil {
		return nil, err
	}
	if s.sessionMaxLifetime, err = required("SessionMaxLifetime", cfg.SessionMaxLifetime, defaultSessionMaxLifetime); err != nil {
		return nil, err
	}
	if err := s.setRefreshGrace(cfg.RefreshReuseGrace); err != nil {
		return nil, err
	}
	s.unverifiedTTL, _ = optional(cfg.UnverifiedAccountTTL, defaultUnverifiedTTL)
	if n, on := optional(cfg.TokenCacheSize, defaultTokenCacheSize); on {
		s.tokenCache = newTokenCache(n)
	}

	tc := cfg.Token
	if tc.Now == nil {
		tc.Now = s.now
	}
	if tc.Rand == nil {
		tc.Rand = s.rand
	}
	if s.tokens, err = token.New(tc); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}

	if s.mfa, err = newMFA(cfg, s.store); err != nil {
		return nil, err
	}

	s.codeKey = cfg.CodeKey
	if s.codeKey == nil && len(tc.Secret) > 0 {
		s.codeKey = derive(tc.Secret, "forgeauth verification code key v1")
	}
	if s.mode == ModeComplete && len(s.codeKey) < 32 {
		return nil, errors.New("auth: Config.CodeKey must be at least 32 bytes (and is required with asymmetric token keys)")
	}
	if s.passkeys, err = newPasskeys(cfg, s.store, s.codeKey, s.rand); err != nil {
		return nil, err
	}
	if ttl, on := optional(cfg.DeviceTokenTTL, defaultDeviceTokenTTL); on && len(s.codeKey) >= 32 {
		s.deviceKey, s.deviceTTL = derive(s.codeKey, "forgeauth device token key v1"), ttl
	}

	hc := cfg.Password
	if hc.Rand == nil {
		hc.Rand = s.rand
	}
	if s.hasher, err = password.NewHasher(hc); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	// The dummy hash has the current parameters, so verifying against it
	// costs what verifying a real user's hash costs.
	started := time.Now()
	if s.dummyHash, err = password.Hash("forgeauth dummy password", s.hasher.Params(), s.rand); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	s.hashTime.observe(time.Since(started)) // the first estimate of a check

	if err := s.makeLimiters(cfg); err != nil {
		return nil, err
	}
	if s.oauth, err = s.newOAuth(cfg.OAuth); err != nil {
		return nil, err
	}
	if err := s.initLifecycle(cfg); err != nil {
		return nil, err
	}

	if cfg.Mailer != nil {
		s.templates = cfg.Templates
		if s.templates == nil {
			if s.templates, err = mailer.LoadTemplates(""); err != nil {
				return nil, fmt.Errorf("auth: %w", err)
			}
		}
		if a, ok := cfg.Mailer.(*mailer.Async); ok {
			s.mail = a
		} else {
			if s.mail, err = mailer.NewAsync(cfg.Mailer, mailer.AsyncConfig{Logger: s.log}); err != nil {
				return nil, fmt.Errorf("auth: %w", err)
			}
			s.ownsMail = true
		}
	}
	return s, nil
}

// required applies the rule of Config to a setting that cannot be turned
// off: zero is the default, negative an error.
func required[T int | time.Duration](name string, v, def T) (T, error) {
	switch {
	case v == 0:
		return def, nil
	case v < 0:
		return 0, fmt.Errorf("auth: Config.%s must not be negative (it cannot be turned off)", name)
	}
	return v, nil
}

// optional applies the rule of Config to a setting that can be turned off:
// zero is the default, negative is off (on == false).
func optional[T int | time.Duration](v, def T) (val T, on bool) {
	switch {
	case v == 0:
		return def, true
	case v < 0:
		return 0, false
	}
	return v, true
}

// derive returns a key for one purpose from a master key.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

func (s *Service) makeLimiters(cfg Config) error {
	newLimiter := cfg.NewLimiter
	if newLimiter == nil {
		newLimiter = func(_ string, rule ratelimit.Rule) (ratelimit.Limiter, error) {
			return ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: rule, Now: s.now})
		}
	}
	// build makes one limiter per rule that is on (a positive limit).
	build := func(dst *[]ratelimit.Limiter, name string, limit int, window time.Duration) error {
		if limit <= 0 || window <= 0 {
			return nil
		}
		l, err := newLimiter(name, ratelimit.Rule{Limit: limit, Window: window})
		if err != nil {
			return fmt.Errorf("auth: limiter %s: %w", name, err)
		}
		*dst = append(*dst, l)
		return nil
	}
	perNetwork, on := optional(cfg.LoginMaxFailures, defaultLoginMaxFailures)
	if on {
		perHour, _ := optional(cfg.LoginFailuresPerHour, defaultLoginFailuresPerHour)
		err := errors.Join(
			build(&s.loginNetLimits, "login-failures", perNetwork, loginFailureWindow),
			build(&s.loginAccountLimits, "login-failures-hourly", perHour, time.Hour),
			build(&s.deviceLimits, "login-failures-device", perNetwork, loginFailureWindow),
			build(&s.passwordLimits, "password-failures", perNetwork, loginFailureWindow),
			build(&s.passwordLimits, "password-failures-hourly", perHour, time.Hour),
		)
		if err != nil {
			return err
		}
	}
	if s.mode != ModeComplete {
		return nil
	}
	cooldown, _ := optional(cfg.CodeResendCooldown, defaultCodeResendCooldown)
	perHour, _ := optional(cfg.CodeSendsPerHour, defaultCodeSendsPerHour)
	guesses, _ := optional(cfg.CodeGuessesPerNetwork, defaultCodeGuessesPerNetwork)
	sends := func(dst *sendLimits, purpose string) error {
		err := errors.Join(
			build(&dst.hourly, purpose+"-hourly", perHour, time.Hour),
			build(&dst.cooldown, purpose+"-cooldown", 1, cooldown),
		)
		dst.all = append(slices.Clip(dst.cooldown), dst.hourly...)
		return err
	}
	return errors.Join(
		build(&s.codeGuessLimits, "code-guesses", guesses, codeGuessWindow),
		sends(&s.verifySends, "verification-sends"),
		sends(&s.resetSends, "reset-sends"),
	)
}

// sendLimits are the limiters of the codes of one purpose mailed to one
// address.
type sendLimits struct {
	cooldown []ratelimit.Limiter // one send per cooldown
	hourly   []ratelimit.Limiter // the hourly cap
	all      []ratelimit.Limiter // both
}

// Mode reports the service's mode.
func (s *Service) Mode() Mode { return s.mode }

// Ready reports whether the store answers, for a readiness probe. Stores
// that cannot tell (no store.Pinger) are taken as ready.
func (s *Service) Ready(ctx context.Context) error {
	if p, ok := s.store.(store.Pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return &UnavailableError{RetryAfter: time.Second, Err: err}
		}
	}
	return nil
}

// Shutdown waits for the code sends still running and then drains the mail
// queue the service owns, until ctx ends. The service must not be used
// after Shutdown.
func (s *Service) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.background.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("auth: shutdown: %w", ctx.Err())
	}
	if !s.ownsMail {
		return nil
	}
	return s.mail.Shutdown(ctx)
}

// backgroundTimeout bounds work that outlives its request.
const backgroundTimeout = 30 * time.Second

// inBackground runs fn after the request's answer, with the request's
// values but not its cancellation, so that answers that must not tell
// whether an account exists take the same time either way.
func (s *Service) inBackground(ctx context.Context, fn func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backgroundTimeout)
	s.background.Go(func() {
		defer cancel()
		fn(ctx)
	})
}

// newID returns a random UUID (version 4) string.
func (s *Service) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("auth: reading randomness: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:]), nil
}

// revocationMoment returns now rounded up to a whole second. Access tokens
// carry their issue time in whole seconds, so a token issued earlier in the
// same second as a revocation has an iat below this moment and fails, while
// tokens issued afterwards are given this moment as their iat.
func (s *Service) revocationMoment() time.Time {
	now := s.now().UTC()
	if t := now.Truncate(time.Second); !t.Equal(now) {
		return t.Add(time.Second)
	}
	return now
}

// storeErr turns a store failure into the service's answer: unavailable
// when the backend cannot be reached, otherwise an internal error.
func storeErr(op string, err error) error {
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return &UnavailableError{RetryAfter: time.Second, Err: fmt.Errorf("auth: %s: %w", op, err)}
	}
	return fmt.Errorf("auth: %s: %w", op, err)
}

// hashErr turns a hashing failure into the service's answer: a saturated
// hasher is unavailable for a moment.
func hashErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return &UnavailableError{RetryAfter: time.Second, Err: err}
	}
	return fmt.Errorf("auth: %w", err)
}

// reserve counts one event for key on every limiter before the work it
// limits is done, so that concurrent requests can never all pass a check
// made before any of them is counted. When one limiter refuses, the events
// already counted on the others are given back (ratelimit.AllowAll), and
// the answer is a *RateLimitError with the longest wait. A limiter that
// fails makes the request unavailable (fail closed).
func reserve(ctx context.Context, ls []ratelimit.Limiter, key string) error {
	r, err := ratelimit.AllowAll(ctx, key, ls...)
	switch {
	case err != nil:
		return &UnavailableError{RetryAfter: time.Second, Err: fmt.Errorf("auth: rate limiter: %w", err)}
	case !r.Allowed:
		return &RateLimitError{RetryAfter: max(r.RetryAfter, time.Second)}
	}
	return nil
}

// refund gives back the event reserve counted for key on every limiter,
// for work that turned out not to count (a right password, a code that was
// accepted, a mail that could not be queued).
func (s *Service) refund(ctx context.Context, ls []ratelimit.Limiter, key string) {
	for _, l := range ls {
		if err := l.Refund(ctx, key); err != nil {
			s.log.WarnContext(ctx, "auth: giving back a rate-limit event failed", "error", err)
		}
	}
}

// forgive forgets key on every limiter: the failures counted so far.
func (s *Service) forgive(ctx context.Context, ls []ratelimit.Limiter, key string) {
	for _, l := range ls {
		if err := l.Reset(ctx, key); err != nil {
			s.log.WarnContext(ctx, "auth: resetting a rate limit failed", "error", err)
		}
	}
}
