package redislimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/ratelimit/internal/gcra"
)

// DefaultPrefix is the key prefix of a [Limiter] whose [Config.Prefix] is
// empty.
const DefaultPrefix = "forgeauth:rl:"

var (
	// ErrNoClient is returned by [New] when [Config.Client] is nil.
	ErrNoClient = errors.New("redislimit: Config.Client is required")

	// ErrUnexpectedReply is returned, wrapped, when the server answers
	// something other than what the limiter's script returns: a key under
	// the limiter's prefix written by someone else, or not a Redis server.
	ErrUnexpectedReply = errors.New("redislimit: unexpected reply")
)

// Config configures [New].
type Config struct {
	// Client is the Redis connection: a *redis.Client, *redis.ClusterClient
	// or *redis.Ring. Required. The Limiter never closes it.
	Client redis.UniversalClient

	// Rule is the limit enforced; it must pass [ratelimit.Rule.Validate],
	// and its Window must be a whole number of microseconds (the
	// resolution of the Redis clock).
	Rule ratelimit.Rule

	// Prefix is prepended to every key; empty means [DefaultPrefix].
	// Every instance that shares a limit must use the same Prefix and the
	// same Rule; limiters with different rules must use different
	// prefixes, or their counts mix.
	Prefix string
}

// Limiter is a [ratelimit.Limiter] on Redis, for services that run on
// several machines. Allow, Peek and Refund are each one Lua script
// (EVALSHA, falling back to EVAL), run atomically on the server and timed by
// the server's clock, so instances agree however their own clocks drift;
// Reset is one DEL. It uses the same
// algorithm and arithmetic as [ratelimit.Memory], at microsecond resolution.
// A key is a single string that expires as soon as it is back to a full
// Limit, so idle keys cost nothing. Each key lives in one hash slot, so
// Redis Cluster works. Keys are stored after the prefix as given: a caller
// that limits by something personal, such as an email address, may prefer
// to pass a digest of it.
//
// A Limiter is safe for concurrent use. Create one with [New]; the zero
// value is not usable.
type Limiter struct {
	client redis.UniversalClient
	rule   gcra.Rule // in microseconds
	prefix string
	script *redis.Script // scriptSource: Allow and Peek
	refund *redis.Script // refundSource: Refund
	args   [4]any        // window, limit, window / limit, window % limit
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Limiter. It returns [ErrNoClient] when cfg.Client is nil and
// an error wrapping [ratelimit.ErrInvalidRule] when cfg.Rule is invalid or
// its Window is not a whole number of microseconds. It does not contact the
// server.
func New(cfg Config) (*Limiter, error) {
	if cfg.Client == nil {
		return nil, ErrNoClient
	}
	if err := cfg.Rule.Validate(); err != nil {
		return nil, err
	}
	if cfg.Rule.Window%time.Microsecond != 0 {
		return nil, fmt.Errorf("redislimit: window %v is not a whole number of microseconds: %w",
			cfg.Rule.Window, ratelimit.ErrInvalidRule)
	}
	r := gcra.Rule{Window: cfg.Rule.Window.Microseconds(), Limit: int64(cfg.Rule.Limit)}
	l := &Limiter{
		client: cfg.Client,
		rule:   r,
		prefix: cfg.Prefix,
		script: redis.NewScript(scriptSource),
		refund: redis.NewScript(refundSource),
		args:   [4]any{r.Window, r.Limit, r.Window / r.Limit, r.Window % r.Limit},
	}
	if l.prefix == "" {
		l.prefix = DefaultPrefix
	}
	return l, nil
}

// Allow implements [ratelimit.Limiter.Allow]. It returns an error wrapping
// the client's error when Redis cannot be reached, one wrapping ctx.Err()
// when ctx is done, and one wrapping [ErrUnexpectedReply] when the key holds
// something the limiter did not write.
func (l *Limiter) Allow(ctx context.Context, key string) (ratelimit.Result, error) {
	return l.run(ctx, key, "1")
}

// Peek implements [ratelimit.Limiter.Peek]. It returns the same errors as
// [Limiter.Allow].
func (l *Limiter) Peek(ctx context.Context, key string) (ratelimit.Result, error) {
	return l.run(ctx, key, "0")
}

// Reset implements [ratelimit.Limiter.Reset]. It returns an error wrapping
// the client's error when Redis cannot be reached, and one wrapping
// ctx.Err() when ctx is done.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := l.client.Del(ctx, l.prefix+key).Err(); err != nil {
		return wrap(ctx, err)
	}
	return nil
}

// Refund implements [ratelimit.Limiter.Refund] in one atomic script on the
// server's clock; a key given back its full Limit is deleted. It returns
// the same errors as [Limiter.Allow]; after an error nothing may have been
// given back.
func (l *Limiter) Refund(ctx context.Context, key string) error {
	reply, err := l.refund.Run(ctx, l.client, []string{l.prefix + key},
		l.args[0], l.args[1], l.args[2], l.args[3]).Int64Slice()
	if err != nil {
		return wrap(ctx, err)
	}
	return l.checkRefund(reply)
}

// checkRefund checks a reply of the refund script: the debt left, within
// one window.
func (l *Limiter) checkRefund(reply []int64) error {
	if len(reply) != 2 || reply[0] < 0 || reply[1] < 0 || reply[1] >= l.rule.Limit ||
		reply[0] > l.rule.Window || (reply[0] == l.rule.Window && reply[1] > 0) {
		return fmt.Errorf("%w: %v", ErrUnexpectedReply, reply)
	}
	return nil
}

func (l *Limiter) run(ctx context.Context, key, count string) (ratelimit.Result, error) {
	reply, err := l.script.Run(ctx, l.client, []string{l.prefix + key},
		l.args[0], l.args[1], l.args[2], l.args[3], count).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, wrap(ctx, err)
	}
	return l.result(reply)
}

// wrap makes err say which package it came from and keeps errors.Is working
// for ctx's error even when the client reports only its own (a broken
// connection as the deadline passes).
func wrap(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("redislimit: %w (%w)", ctxErr, err)
	}
	if isScriptError(err) {
		return fmt.Errorf("%w: %w", ErrUnexpectedReply, err)
	}
	return fmt.Errorf("redislimit: %w", err)
}

func (l *Limiter) result(reply []int64) (ratelimit.Result, error) {
	if len(reply) != 3 || reply[0] < 0 || reply[0] > 1 || reply[1] < 0 || reply[2] < 0 || reply[2] >= l.rule.Limit {
		return ratelimit.Result{}, fmt.Errorf("%w: %v", ErrUnexpectedReply, reply)
	}
	d := gcra.Outcome(l.rule, reply[1], reply[2])
	if d.Allowed != (reply[0] == 1) {
		return ratelimit.Result{}, fmt.Errorf("%w: %v", ErrUnexpectedReply, reply)
	}
	return ratelimit.Result{
		Allowed:    d.Allowed,
		Remaining:  int(d.Remaining),
		RetryAfter: time.Duration(d.RetryAfter) * time.Microsecond,
	}, nil
}

// isScriptError reports whether err is the server refusing the stored value:
// the script's own error for a malformed state, or WRONGTYPE for a key of
// another type.
func isScriptError(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	return redis.HasErrorPrefix(err, "WRONGTYPE") || strings.Contains(err.Error(), "redislimit: malformed state")
}
