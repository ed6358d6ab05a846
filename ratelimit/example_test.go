package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/forgeauth/forgeauth/ratelimit"
)

func ExampleMemory() {
	// A fixed clock, so that the output does not depend on when it runs.
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	limiter, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 3, Window: time.Minute},
		Now:  func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for range 4 {
		res, err := limiter.Allow(ctx, "203.0.113.7")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("allowed=%v remaining=%d retry after=%v\n", res.Allowed, res.Remaining, res.RetryAfter)
	}

	// One event is earned back every Window/Limit.
	now = now.Add(20 * time.Second)
	res, _ := limiter.Allow(ctx, "203.0.113.7")
	fmt.Println("20s later:", res.Allowed)
	// Output:
	// allowed=true remaining=2 retry after=0s
	// allowed=true remaining=1 retry after=0s
	// allowed=true remaining=0 retry after=0s
	// allowed=false remaining=0 retry after=20s
	// 20s later: true
}

func ExampleNewMemory_invalidRule() {
	_, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 0, Window: time.Minute},
	})
	fmt.Println(errors.Is(err, ratelimit.ErrInvalidRule))
	fmt.Println(err)
	// Output:
	// true
	// ratelimit: invalid rule: limit 0 is less than 1
}
