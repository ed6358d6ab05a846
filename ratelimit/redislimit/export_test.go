package redislimit

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/forgeauth/forgeauth/ratelimit"
)

// RunAt runs the limiter's script with the clock replaced by now, in
// microseconds, so that tests can drive it through time. count is what
// Allow passes; !count is Peek.
func RunAt(ctx context.Context, l *Limiter, key string, now int64, count bool) (ratelimit.Result, error) {
	c := "0"
	if count {
		c = "1"
	}
	reply, err := redis.NewScript(atClock(scriptSource)).Run(ctx, l.client, []string{l.prefix + key},
		l.args[0], l.args[1], l.args[2], l.args[3], c, now).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, err
	}
	return l.result(reply)
}

// RefundAt runs the limiter's refund script with the clock replaced by now,
// in microseconds.
func RefundAt(ctx context.Context, l *Limiter, key string, now int64) error {
	reply, err := redis.NewScript(atClock(refundSource)).Run(ctx, l.client, []string{l.prefix + key},
		l.args[0], l.args[1], l.args[2], l.args[3], "", now).Int64Slice()
	if err != nil {
		return err
	}
	return l.checkRefund(reply)
}

// atClock replaces the server's clock in src by ARGV[6]. The expiry stays
// on the server's clock, so it is set to an hour: an expired state reads as
// no state anyway, so keeping it longer changes no decision.
func atClock(src string) string {
	for _, r := range [][2]string{
		{nowLine, "local now = tonumber(ARGV[6])"},
		{msLine, "local ms = 3600000"},
	} {
		if !strings.Contains(src, r[0]) {
			panic("redislimit: the script has no line " + r[0])
		}
		src = strings.Replace(src, r[0], r[1], 1)
	}
	return src
}

// CheckRefund checks a reply of the refund script as the limiter does.
func CheckRefund(l *Limiter, reply []int64) error {
	return l.checkRefund(reply)
}

// ResultOf interprets a reply of the script as the limiter does.
func ResultOf(l *Limiter, reply []int64) (ratelimit.Result, error) {
	return l.result(reply)
}
