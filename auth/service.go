package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	mode             Mode
	store            store.Store
	mail             mailer.Mailer // asynchronous; nil in Basic mode without a mailer
	ownsMail         *mailer.Async // the queue New made, drained by Shutdown
	templates        *mailer.Templates
	tokens           *token.Manager
	tokenCache       *tokenCache // nil when turned off
	hasher           *password.Hasher
	policy           password.Policy
	requireVerified  bool
	codeTTL          time.Duration
	codeMaxAttempts  int
	codeKey          []byte
	appName          string
	dummyHash        string // verified for unknown users so login timing does not tell
	loginLimits      []ratelimit.Limiter
	verifySendLimits []ratelimit.Limiter
	resetSendLimits  []ratelimit.Limiter
	now              func() time.Time
	rand             io.Reader
	log              *slog.Logger
	onEvent          func(context.Context, Event)
	background       sync.WaitGroup // code sends that outlive their request
}

// New checks cfg and returns a Service. It returns an error for a missing
// store, a missing mailer in Complete mode, a weak or missing token secret
// (token.ErrWeakSecret), invalid hashing parameters, or an unknown mode.
func New(cfg Config) (*Service, error) {
	s := &Service{
		mode:            cfg.Mode,
		store:           cfg.Store,
		policy:          password.DefaultPolicy(),
		requireVerified: !cfg.AllowUnverifiedLogin,
		codeTTL:         cfg.CodeTTL,
		codeMaxAttempts: cfg.CodeMaxAttempts,
		appName:         cfg.AppName,
		now:             cfg.Now,
		rand:            cfg.Rand,
		log:             cfg.Logger,
		onEvent:         cfg.OnEvent,
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
	if s.codeTTL <= 0 {
		s.codeTTL = defaultCodeTTL
	}
	if s.codeMaxAttempts <= 0 {
		s.codeMaxAttempts = defaultCodeMaxAttempts
	}
	if s.appName == "" {
		s.appName = defaultAppName
	}

	tc := cfg.Token
	if tc.Now == nil {
		tc.Now = s.now
	}
	if tc.Rand == nil {
		tc.Rand = s.rand
	}
	var err error
	if s.tokens, err = token.New(tc); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}

	switch n := cfg.TokenCacheSize; {
	case n == 0:
		s.tokenCache = newTokenCache(defaultTokenCacheSize)
	case n > 0:
		s.tokenCache = newTokenCache(n)
	}

	s.codeKey = cfg.CodeKey
	if s.codeKey == nil && len(tc.Secret) > 0 {
		m := hmac.New(sha256.New, tc.Secret)
		m.Write([]byte("forgeauth verification code key v1"))
		s.codeKey = m.Sum(nil)
	}
	if s.mode == ModeComplete && len(s.codeKey) < 32 {
		return nil, errors.New("auth: Config.CodeKey of at least 32 bytes is required with asymmetric token keys")
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
	if s.dummyHash, err = password.Hash("forgeauth dummy password", s.hasher.Params(), s.rand); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}

	if err := s.makeLimiters(cfg); err != nil {
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
			if s.ownsMail, err = mailer.NewAsync(cfg.Mailer, mailer.AsyncConfig{Logger: s.log}); err != nil {
				return nil, fmt.Errorf("auth: %w", err)
			}
			s.mail = s.ownsMail
		}
	}
	return s, nil
}

func (s *Service) makeLimiters(cfg Config) error {
	newLimiter := cfg.NewLimiter
	if newLimiter == nil {
		newLimiter = func(_ string, rule ratelimit.Rule) (ratelimit.Limiter, error) {
			return ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: rule, Now: s.now})
		}
	}
	type spec struct {
		name string
		rule ratelimit.Rule
	}
	build := func(specs ...spec) ([]ratelimit.Limiter, error) {
		var ls []ratelimit.Limiter
		for _, sp := range specs {
			l, err := newLimiter(sp.name, sp.rule)
			if err != nil {
				return nil, fmt.Errorf("auth: limiter %s: %w", sp.name, err)
			}
			ls = append(ls, l)
		}
		return ls, nil
	}
	var err error
	if limit := cfg.LoginMaxFailures; limit >= 0 {
		if limit == 0 {
			limit = defaultLoginMaxFailures
		}
		s.loginLimits, err = build(
			spec{"login-failures", ratelimit.Rule{Limit: limit, Window: loginFailureWindow}},
			spec{"login-failures-hourly", ratelimit.Rule{Limit: loginFailuresPerHour, Window: time.Hour}},
		)
		if err != nil {
			return err
		}
	}
	if s.mode == ModeComplete {
		sends := func(purpose string) ([]ratelimit.Limiter, error) {
			return build(
				spec{purpose + "-cooldown", ratelimit.Rule{Limit: 1, Window: codeSendCooldown}},
				spec{purpose + "-hourly", ratelimit.Rule{Limit: codeSendsPerHour, Window: time.Hour}},
			)
		}
		if s.verifySendLimits, err = sends("verification-sends"); err != nil {
			return err
		}
		if s.resetSendLimits, err = sends("reset-sends"); err != nil {
			return err
		}
	}
	return nil
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
	if s.ownsMail == nil {
		return nil
	}
	return s.ownsMail.Shutdown(ctx)
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

// limited checks the limiters for key without counting and returns a
// *RateLimitError for the longest wait, or nil.
func limited(ctx context.Context, ls []ratelimit.Limiter, key string) error {
	return checkLimits(ctx, ls, key, ratelimit.Limiter.Peek)
}

// count records one event for key on every limiter; it reports a
// *RateLimitError when any of them refused it.
func count(ctx context.Context, ls []ratelimit.Limiter, key string) error {
	return checkLimits(ctx, ls, key, ratelimit.Limiter.Allow)
}

func checkLimits(ctx context.Context, ls []ratelimit.Limiter, key string,
	check func(ratelimit.Limiter, context.Context, string) (ratelimit.Result, error)) error {
	var wait time.Duration
	for _, l := range ls {
		r, err := check(l, ctx, key)
		if err != nil {
			return &UnavailableError{RetryAfter: time.Second, Err: err}
		}
		if !r.Allowed && r.RetryAfter > wait {
			wait = r.RetryAfter
		}
	}
	if wait > 0 {
		return &RateLimitError{RetryAfter: wait}
	}
	return nil
}

func reset(ctx context.Context, ls []ratelimit.Limiter, key string) error {
	for _, l := range ls {
		if err := l.Reset(ctx, key); err != nil {
			return err
		}
	}
	return nil
}
