package redislimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/ratelimit/redislimit"
)

// Two limiters on one Redis: one per client IP, one per account, each under
// its own prefix so that their keys never meet.
func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()

	perIP, err := redislimit.New(redislimit.Config{
		Client: client,
		Rule:   ratelimit.Rule{Limit: 60, Window: time.Minute},
		Prefix: "myapp:rl:ip:",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	perAccount, err := redislimit.New(redislimit.Config{
		Client: client,
		Rule:   ratelimit.Rule{Limit: 5, Window: 15 * time.Minute},
		Prefix: "myapp:rl:login:",
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	res, err := perIP.Allow(ctx, "203.0.113.7")
	if err != nil {
		fmt.Println("limiter unavailable:", err) // fail open or closed: the caller's choice
		return
	}
	if !res.Allowed {
		fmt.Printf("429, Retry-After: %.0f\n", res.RetryAfter.Seconds()+0.5)
		return
	}
	if res, err := perAccount.Peek(ctx, "alice"); err == nil && !res.Allowed {
		fmt.Println("too many failed logins for alice")
	}
}
