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
	// The expiry stays on the server's clock, so it is set to an hour: an
	// expired state reads as no state anyway, so keeping it longer changes
	// no decision.
	src := scriptSource
	for _, r := range [][2]string{
		{nowLine, "local now = tonumber(ARGV[6])"},
		{msLine, "local ms = 3600000"},
	} {
		if !strings.Contains(src, r[0]) {
			panic("redislimit: the script has no line " + r[0])
		}
		src = strings.Replace(src, r[0], r[1], 1)
	}
	c := "0"
	if count {
		c = "1"
	}
	reply, err := redis.NewScript(src).Run(ctx, l.client, []string{l.prefix + key},
		l.args[0], l.args[1], l.args[2], l.args[3], c, now).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, err
	}
	return l.result(reply)
}

// ResultOf interprets a reply of the script as the limiter does.
func ResultOf(l *Limiter, reply []int64) (ratelimit.Result, error) {
	return l.result(reply)
}
