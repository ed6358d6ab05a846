package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/ratelimit/redislimit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(os.Getenv, runtime.GOMAXPROCS(0)))
	}
	if len(os.Args) > 1 && os.Args[1] == "mfa-disable" {
		if err := mfaDisable(ctx, os.Getenv, os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "forgeauth server:", err)
			stop()
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "user" {
		code := userCommand(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if err := run(ctx, os.Getenv, nil, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "forgeauth server:", err)
		stop()
		os.Exit(1)
	}
}

// memoryLimit is the soft memory limit the server sets when GOMEMLIMIT is
// not given: the Argon2id memory of the hashes that may run at once (one per
// CPU) plus 64 MiB. x/crypto/argon2 allocates a fresh block for every hash,
// so without a limit a burst of logins leaves about as much garbage as the
// hashes in flight, and the heap doubles before the collector runs; with it
// the collector reclaims the blocks first. An unusable
// PASSWORD_HASH_MEMORY_KIB counts as the default here; run reports it.
func memoryLimit(getenv func(string) string, procs int) int64 {
	kib := int64(password.DefaultParams().Memory)
	if v, err := strconv.ParseInt(getenv("PASSWORD_HASH_MEMORY_KIB"), 10, 64); err == nil && v > 0 && v <= password.MaxMemory {
		kib = v
	}
	return int64(procs)*kib<<10 + 64<<20
}

// The limits of the HTTP server. Auth requests are small and quick; the
// timeouts bound what a slow or idle client can hold.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 32 << 10

	// shutdownTimeout bounds the wait for requests in flight, and then
	// separately the wait for queued emails, when the server stops.
	shutdownTimeout = 20 * time.Second
	// redisStartTimeout bounds the ping to Redis at start.
	redisStartTimeout = 5 * time.Second
)

// run serves until ctx ends, then shuts down gracefully and returns nil.
// It reads its configuration through getenv and returns an error naming the
// variable when a value is bad. ln nil means listening on ADDR; a given ln
// is closed when run returns. Logs go to logOut as slog text.
func run(ctx context.Context, getenv func(string) string, ln net.Listener, logOut io.Writer) (err error) {
	logger := slog.New(slog.NewTextHandler(logOut, nil))

	// Resources are released in reverse order of acquisition, whatever
	// happens: the mail queue drains before the database closes. After a
	// clean stop, a failure here (mails left unsent) is run's error.
	var closers []func() error
	defer func() {
		if ln != nil {
			closers = append(closers, ln.Close)
		}
		var errs []error
		for _, c := range slices.Backward(closers) {
			if cerr := c(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
				logger.Warn("closing on shutdown failed", "error", cerr)
				errs = append(errs, cerr)
			}
		}
		if err == nil {
			err = errors.Join(errs...)
		}
	}()

	// Every variable is checked before anything is opened.
	set, err := readSettings(getenv)
	if err != nil {
		return err
	}
	randomSecret, randomCodeKey := keyNeeds(getenv)
	if randomSecret {
		if getenv, err = withRandomSecret(getenv); err != nil {
			return err
		}
	}
	if randomCodeKey {
		if getenv, err = withRandomCodeKey(getenv); err != nil {
			return err
		}
	}
	cfg, err := auth.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	// AUTH_MFA unset: on where the TOTP secrets stay readable.
	var mfaOff string
	if strings.TrimSpace(getenv("AUTH_MFA")) == "" {
		cfg.MFA, mfaOff = mfaDefault(getenv, randomSecret, set.DB)
	}
	passkeysOn, err := passkeysEnabled(getenv)
	if err != nil {
		return err
	}
	smtpCfg, useSMTP, err := auth.SMTPConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	if cfg.Templates, err = mailer.LoadTemplates(set.TemplateDir); err != nil {
		return &auth.EnvError{Name: "EMAIL_TEMPLATE_DIR", Reason: "cannot load the templates", Err: err}
	}

	if randomSecret {
		logger.Warn("JWT_SECRET_KEY is not set: using a random secret; tokens will not survive a restart and are not shared between instances")
	}
	if randomCodeKey {
		logger.Warn("AUTH_CODE_KEY is not set: using a random key; emailed codes and device tokens will not survive a restart and are not shared between instances")
	}
	if mfaOff != "" {
		logger.Info(mfaOff)
	}
	cfg.Logger = logger

	mailDesc := "log"
	if useSMTP {
		m, err := mailer.NewSMTP(smtpCfg)
		if err != nil {
			return smtpEnvError(err)
		}
		cfg.Mailer = m
		mailDesc = fmt.Sprintf("smtp:%s:%d", smtpCfg.Host, smtpCfg.Port)
	} else {
		cfg.Mailer = mailer.NewLog(logger)
		logger.Warn("EMAIL_HOST is not set: mails, with their codes, go to this log instead of being sent; set EMAIL_HOST before real users sign up")
	}

	opts := httpauth.Options{
		TrustedProxies: set.TrustedProxies,
		Logger:         logger,
		DisableIPLimit: set.RatePerMinute == 0,
	}
	ipRule := ratelimit.Rule{Limit: max(set.RatePerMinute, 1), Window: time.Minute}
	limitDesc := "memory"
	if set.RedisURL != "" {
		rdb, err := openRedis(ctx, set.RedisURL)
		if err != nil {
			return err
		}
		closers = append(closers, rdb.Close)
		cfg.NewLimiter = func(name string, rule ratelimit.Rule) (ratelimit.Limiter, error) {
			return redislimit.New(redislimit.Config{Client: rdb, Rule: rule, Prefix: "forgeauth:" + name + ":"})
		}
		if !opts.DisableIPLimit {
			if opts.IPLimiter, err = redislimit.New(redislimit.Config{Client: rdb, Rule: ipRule, Prefix: "forgeauth:ip:"}); err != nil {
				return err
			}
		}
		limitDesc = "redis"
	} else if !opts.DisableIPLimit {
		if opts.IPLimiter, err = ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: ipRule}); err != nil {
			return err
		}
	}

	st, closeDB, err := openStore(ctx, set.DB)
	if err != nil {
		return err
	}
	closers = append(closers, closeDB)
	cfg.Store = st
	page, err := pageEnabled(getenv)
	if err != nil {
		return err
	}
	if cfg.OAuth, err = providersFromEnv(ctx, getenv, opts.Prefix, page, logger); err != nil {
		return err
	}
	// The default relying party of passkeys is the address the server
	// listens on: listen first.
	if ln == nil {
		if ln, err = net.Listen("tcp", set.Addr); err != nil {
			return &auth.EnvError{Name: "ADDR", Reason: "cannot listen", Err: err}
		}
	}
	var rpDefault string
	if passkeysOn {
		cfg.Passkeys, rpDefault = passkeyDefaults(cfg.Passkeys, getenv, ln.Addr())
	} else {
		cfg.Passkeys = auth.PasskeyConfig{}
	}
	if rpDefault != "" {
		logger.Info("WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS are not set: passkeys work at the default origin only, from "+rpDefault,
			"rp_id", cfg.Passkeys.RPID, "origins", strings.Join(cfg.Passkeys.Origins, ","))
	}

	svc, err := auth.New(cfg)
	if err != nil {
		return err
	}
	closers = append(closers, func() error {
		// The request's ctx may be gone already: queued mails get their
		// own deadline.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		return svc.Shutdown(sctx)
	})
	h, err := httpauth.New(svc, opts)
	if err != nil {
		return err
	}
	webMount, err := newWeb(svc, opts, getenv, logger)
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           routes(svc, h, logger, set.TrustedProxies, webMount),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	cleanCtx, stopCleaning := context.WithCancel(ctx)
	var cleaning sync.WaitGroup
	cleaning.Go(func() { cleanExpired(cleanCtx, svc.DeleteExpired, cleanupInterval, logger) })
	// Cleaning stops before the database closes.
	closers = append(closers, func() error { stopCleaning(); cleaning.Wait(); return nil })

	logger.Info("forgeauth server listening",
		"addr", ln.Addr().String(),
		"mode", svc.Mode(),
		"store", set.DB.String(),
		"mailer", mailDesc,
		"rate_limits", limitDesc,
		"mfa", svc.MFAEnabled(),
	)
	warnInsecureCookies(ln.Addr(), webMount != nil, logger)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("server stopped")
	return nil
}

// withRandomSecret returns getenv with JWT_SECRET_KEY set to 32 random bytes.
func withRandomSecret(getenv func(string) string) (func(string) string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("JWT_SECRET_KEY: making a random secret: %w", err)
	}
	secret := string(b)
	return func(name string) string {
		if name == "JWT_SECRET_KEY" {
			return secret
		}
		return getenv(name)
	}, nil
}

// smtpEnvError names the variable behind an invalid SMTP setting.
func smtpEnvError(err error) error {
	names := map[string]string{
		"Host":      "EMAIL_HOST",
		"Port":      "EMAIL_PORT",
		"Username":  "EMAIL_HOST_USER",
		"Password":  "EMAIL_HOST_PASSWORD",
		"FromName":  "EMAIL_FROM_NAME",
		"FromEmail": "EMAIL_FROM_EMAIL",
	}
	var ce *mailer.ConfigError
	if errors.As(err, &ce) && names[ce.Field] != "" {
		return &auth.EnvError{Name: names[ce.Field], Reason: "invalid email setting", Err: err}
	}
	return &auth.EnvError{Name: "EMAIL_HOST", Reason: "invalid email settings", Err: err}
}

// openRedis connects to REDIS_URL and checks that the server answers.
func openRedis(ctx context.Context, redisURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, &auth.EnvError{Name: "REDIS_URL", Reason: "not a valid redis:// or rediss:// URL", Err: errWithoutURL(err)}
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, &auth.EnvError{Name: "REDIS_URL", Reason: "cannot reach " + opt.Addr, Err: err}
	}
	return rdb, nil
}
