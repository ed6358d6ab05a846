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

// Reserve before the expensive work, and give back what was not spent: a
// burst of concurrent attempts cannot all pass a check made before any of
// them is counted, and a successful login does not count against the
// account.
func ExampleLimiter_refund() {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	failedLogins, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 2, Window: 15 * time.Minute},
		Now:  func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	login := func(pw string) {
		res, err := failedLogins.Allow(ctx, "alice") // reserve first
		if err != nil {
			fmt.Println(err)
			return
		}
		if !res.Allowed {
			fmt.Printf("%s: locked, retry after %v\n", pw, res.RetryAfter)
			return
		}
		if pw != "right" { // stands for the password hash check
			fmt.Printf("%s: wrong password, attempts left: %d\n", pw, res.Remaining)
			return
		}
		// A success gives its reservation back.
		if err := failedLogins.Refund(context.WithoutCancel(ctx), "alice"); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: welcome\n", pw)
	}
	login("right")
	login("right")
	login("wrong")
	login("right")
	login("wrong")
	login("right")
	// Output:
	// right: welcome
	// right: welcome
	// wrong: wrong password, attempts left: 1
	// right: welcome
	// wrong: wrong password, attempts left: 0
	// right: locked, retry after 7m30s
}

// A 60-second cooldown and a cap of five an hour: a request refused by the
// cooldown does not use up the hourly budget.
func ExampleAllowAll() {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cooldown, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 1, Window: time.Minute}, Now: clock,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	hourly, err := ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rule: ratelimit.Rule{Limit: 5, Window: time.Hour}, Now: clock,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, wait := range []time.Duration{0, 10 * time.Second, 10 * time.Second, 40 * time.Second} {
		now = now.Add(wait)
		res, err := ratelimit.AllowAll(ctx, "alice@example.com", hourly, cooldown)
		if err != nil {
			fmt.Println(err)
			return
		}
		// Peek's Remaining is what one more event would leave.
		left, _ := hourly.Peek(ctx, "alice@example.com")
		fmt.Printf("allowed=%v retry after=%v hourly left=%d\n", res.Allowed, res.RetryAfter, left.Remaining+1)
	}
	// Output:
	// allowed=true retry after=0s hourly left=4
	// allowed=false retry after=50s hourly left=4
	// allowed=false retry after=40s hourly left=4
	// allowed=true retry after=0s hourly left=3
}
