// Package redislimit is a [ratelimit.Limiter] on Redis, for services that
// run on several machines and must share one count per client.
//
// It decides exactly as [ratelimit.Memory] does (the same generic cell rate
// algorithm and the same exact arithmetic), in one atomic Lua script per
// call timed by the Redis server's clock, so instances agree however their
// own clocks drift. Each key is one short string with an expiry at the
// moment it is back to a full Limit. It works with a single server, Sentinel,
// Ring and Cluster (every call touches one key). The server must be Redis 5
// or later (or a server that runs Redis Lua scripts alike, such as Valkey).
//
// Only this package imports go-redis: a service that limits in memory does
// not link it.
//
// # Failure
//
// When Redis cannot be reached, Allow returns an error and a Result that
// does not allow. Whether to refuse the request (fail closed) or to let it
// through (fail open) is the caller's decision; forgeauth's HTTP layer
// decides it, not this package.
//
// # Example
//
//	opts, err := redis.ParseURL(os.Getenv("REDIS_URL"))
//	if err != nil {
//		return err
//	}
//	limiter, err := redislimit.New(redislimit.Config{
//		Client: redis.NewClient(opts),
//		Rule:   ratelimit.Rule{Limit: 60, Window: time.Minute},
//		Prefix: "myapp:rl:ip:",
//	})
//	if err != nil {
//		return err
//	}
//	res, err := limiter.Allow(ctx, clientIP)
package redislimit
