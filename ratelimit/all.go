package ratelimit

import (
	"context"
	"errors"
)

// AllowAll counts one event for key on each limiter of ls, in order, and
// allows it only when every one of them does. Each element of ls must be
// non-nil.
//
// When all allow, the Result is allowed with the smallest Remaining among
// them (with no limiters at all it is allowed with Remaining 0). When one
// denies, the limiters before it, which counted the event, are refunded
// ([Limiter.Refund]), the limiters after it are only asked ([Limiter.Peek]),
// and the Result is the denial with the longest RetryAfter among all the
// denials: the time after which every limiter would allow again. A request
// refused by one limiter therefore spends nothing on the others; with a
// 60-second cooldown and a cap of five an hour, a request that the
// cooldown refuses does not use up the hourly budget.
//
// When a limiter fails (its Allow, its Peek after a denial, or a Refund),
// AllowAll returns the zero Result (not allowed) and an error that wraps
// every error met, after giving back what was counted; as with one
// limiter, failing open or closed is the caller's choice. Refunds run
// with context.WithoutCancel(ctx), so that a context that ends between two
// limiters does not leave an event counted.
func AllowAll(ctx context.Context, key string, ls ...Limiter) (Result, error) {
	all := Result{Allowed: true}
	for i, l := range ls {
		res, err := l.Allow(ctx, key)
		if err != nil {
			if rerr := refundAll(ctx, key, ls[:i]); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return Result{}, err
		}
		if !res.Allowed {
			return deny(ctx, key, res, ls[:i], ls[i+1:])
		}
		if i == 0 || res.Remaining < all.Remaining {
			all.Remaining = res.Remaining
		}
	}
	return all, nil
}

// deny completes the denial res: it asks the limiters in rest for a longer
// wait and gives back the event the limiters in counted have counted.
func deny(ctx context.Context, key string, res Result, counted, rest []Limiter) (Result, error) {
	var errs []error
	for _, l := range rest {
		r, err := l.Peek(ctx, key)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if !r.Allowed && r.RetryAfter > res.RetryAfter {
			res.RetryAfter = r.RetryAfter
		}
	}
	if err := refundAll(ctx, key, counted); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Result{}, errors.Join(errs...)
	}
	return res, nil
}

// refundAll refunds key on every limiter of ls, whatever the others
// answer, and returns their errors joined.
func refundAll(ctx context.Context, key string, ls []Limiter) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, l := range ls {
		if err := l.Refund(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
