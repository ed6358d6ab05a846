package redislimit_test

import (
	"context"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/ratelimit"
	"github.com/forgeauth/forgeauth/ratelimit/limittest"
	"github.com/forgeauth/forgeauth/ratelimit/redislimit"
)

const urlVar = "FORGEAUTH_TEST_REDIS_URL"

// redisClient connects to the server named by FORGEAUTH_TEST_REDIS_URL, or
// skips the test when it is unset.
func redisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv(urlVar)
	if url == "" {
		tb.Skip("set " + urlVar + " (e.g. redis://127.0.0.1:6379/0) to run the Redis tests")
	}
	opts, err := redis.ParseURL(url)
	require.NoError(tb, err)
	c := redis.NewClient(opts)
	tb.Cleanup(func() { _ = c.Close() })
	require.NoError(tb, c.Ping(context.Background()).Err(), "Redis at %s", urlVar)
	return c
}

// testPrefix returns a key prefix no other run uses, and deletes its keys
// when the test ends.
func testPrefix(tb testing.TB, c redis.UniversalClient) string {
	tb.Helper()
	prefix := "forgeauth:test:rl:" + rand.Text() + ":"
	tb.Cleanup(func() { deleteKeys(tb, c, prefix+"*") })
	return prefix
}

func deleteKeys(tb testing.TB, c redis.UniversalClient, pattern string) {
	tb.Helper()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, pattern, 100).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			tb.Errorf("deleting %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("scanning %s: %v", pattern, err)
	}
}

func newLimiter(tb testing.TB, cfg redislimit.Config) *redislimit.Limiter {
	tb.Helper()
	l, err := redislimit.New(cfg)
	require.NoError(tb, err)
	return l
}

func TestConformance(t *testing.T) {
	c := redisClient(t)
	limittest.Run(t, func(tb testing.TB, rule ratelimit.Rule) ratelimit.Limiter {
		return newLimiter(tb, redislimit.Config{Client: c, Rule: rule, Prefix: testPrefix(tb, c)})
	})
}

func TestNew(t *testing.T) {
	// New does not contact the server, so nothing needs to listen here.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	tests := []struct {
		name    string
		cfg     redislimit.Config
		wantErr error
	}{
		{"no client", redislimit.Config{Rule: ratelimit.Rule{Limit: 1, Window: time.Second}}, redislimit.ErrNoClient},
		{"zero rule", redislimit.Config{Client: c}, ratelimit.ErrInvalidRule},
		{"limit zero", redislimit.Config{Client: c, Rule: ratelimit.Rule{Window: time.Second}}, ratelimit.ErrInvalidRule},
		{"window too long", redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 1, Window: ratelimit.MaxWindow + time.Microsecond}}, ratelimit.ErrInvalidRule},
		{"window under a microsecond", redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 1, Window: 999}}, ratelimit.ErrInvalidRule},
		{"window not whole microseconds", redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 1, Window: 1500}}, ratelimit.ErrInvalidRule},
		{"one microsecond", redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 1, Window: time.Microsecond}}, nil},
		{"largest", redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: ratelimit.MaxLimit, Window: ratelimit.MaxWindow}}, nil},
		{"prefix", redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 5, Window: time.Minute}, Prefix: "app:"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := redislimit.New(tt.cfg)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Nil(t, l)
				assert.True(t, strings.HasPrefix(err.Error(), "ratelimit: ") || strings.HasPrefix(err.Error(), "redislimit: "), err.Error())
				return
			}
			require.NoError(t, err)
			require.NotNil(t, l)
		})
	}
}

func TestUnreachable(t *testing.T) {
	errDown := errors.New("test: network down")
	c := redis.NewClient(&redis.Options{
		MaxRetries:         -1,
		DialerRetries:      1,
		DialerRetryBackoff: func(int) time.Duration { return 0 },
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			return nil, errDown
		},
	})
	t.Cleanup(func() { _ = c.Close() })
	l := newLimiter(t, redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 5, Window: time.Minute}})
	ctx := context.Background()

	res, err := l.Allow(ctx, "k")
	require.ErrorIs(t, err, errDown)
	assert.Equal(t, ratelimit.Result{}, res, "an error never allows")
	assert.True(t, strings.HasPrefix(err.Error(), "redislimit: "), err.Error())

	res, err = l.Peek(ctx, "k")
	require.ErrorIs(t, err, errDown)
	assert.Equal(t, ratelimit.Result{}, res)

	require.ErrorIs(t, l.Reset(ctx, "k"), errDown)

	err = l.Refund(ctx, "k")
	require.ErrorIs(t, err, errDown)
	assert.True(t, strings.HasPrefix(err.Error(), "redislimit: "), err.Error())
}

func TestDeadline(t *testing.T) {
	c := redisClient(t)
	l := newLimiter(t, redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 5, Window: time.Minute}, Prefix: testPrefix(t, c)})
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, err := l.Allow(ctx, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = l.Peek(ctx, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, l.Reset(ctx, "k"), context.DeadlineExceeded)
	require.ErrorIs(t, l.Refund(ctx, "k"), context.DeadlineExceeded)
}

func TestKeysExpire(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	prefix := testPrefix(t, c)
	rule := ratelimit.Rule{Limit: 4, Window: time.Hour}
	l := newLimiter(t, redislimit.Config{Client: c, Rule: rule, Prefix: prefix})

	res, err := l.Peek(ctx, "k")
	require.NoError(t, err)
	require.True(t, res.Allowed)
	require.Zero(t, c.Exists(ctx, prefix+"k").Val(), "Peek stores nothing")

	_, err = l.Allow(ctx, "k")
	require.NoError(t, err)
	ttl := c.PTTL(ctx, prefix+"k").Val()
	assert.Greater(t, ttl, 14*time.Minute, "one event is paid off after Window/Limit")
	assert.LessOrEqual(t, ttl, 15*time.Minute)

	for range 3 {
		_, err = l.Allow(ctx, "k")
		require.NoError(t, err)
	}
	ttl = c.PTTL(ctx, prefix+"k").Val()
	assert.Greater(t, ttl, 59*time.Minute, "a full burst is paid off after Window")
	assert.LessOrEqual(t, ttl, time.Hour)

	res, err = l.Allow(ctx, "k")
	require.NoError(t, err)
	require.False(t, res.Allowed)
	assert.LessOrEqual(t, c.PTTL(ctx, prefix+"k").Val(), time.Hour, "a denied event does not extend the key")

	require.NoError(t, l.Reset(ctx, "k"))
	require.Zero(t, c.Exists(ctx, prefix+"k").Val(), "Reset deletes the key")

	for range 2 {
		_, err = l.Allow(ctx, "k")
		require.NoError(t, err)
	}
	require.NoError(t, l.Refund(ctx, "k"))
	ttl = c.PTTL(ctx, prefix+"k").Val()
	assert.Greater(t, ttl, 14*time.Minute, "a refund moves the expiry back by Window/Limit")
	assert.LessOrEqual(t, ttl, 15*time.Minute)
	require.NoError(t, l.Refund(ctx, "k"))
	require.Zero(t, c.Exists(ctx, prefix+"k").Val(), "a key refunded to its full Limit is deleted")
	require.NoError(t, l.Refund(ctx, "k"))
	require.Zero(t, c.Exists(ctx, prefix+"k").Val(), "a refund of an unknown key stores nothing")
}

func TestDefaultPrefix(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	key := "test-" + rand.Text()
	t.Cleanup(func() { c.Del(context.Background(), redislimit.DefaultPrefix+key) })
	l := newLimiter(t, redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 2, Window: time.Hour}})

	_, err := l.Allow(ctx, key)
	require.NoError(t, err)
	require.Equal(t, int64(1), c.Exists(ctx, "forgeauth:rl:"+key).Val())
}

func TestInstancesShareCounts(t *testing.T) {
	prefix := ""
	rule := ratelimit.Rule{Limit: 6, Window: time.Hour}
	var limiters []*redislimit.Limiter
	for range 3 { // three service instances, each with its own connection
		c := redisClient(t)
		if prefix == "" {
			prefix = testPrefix(t, c)
		}
		limiters = append(limiters, newLimiter(t, redislimit.Config{Client: c, Rule: rule, Prefix: prefix}))
	}
	allowed := 0
	for i := range 30 {
		res, err := limiters[i%3].Allow(context.Background(), "shared")
		require.NoError(t, err)
		if res.Allowed {
			allowed++
		}
	}
	require.Equal(t, rule.Limit, allowed)
}

func TestCorruptState(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	prefix := testPrefix(t, c)
	l := newLimiter(t, redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 3, Window: time.Hour}, Prefix: prefix})

	tests := []struct {
		name  string
		write func(key string) error
	}{
		{"garbage", func(key string) error { return c.Set(ctx, key, "garbage", time.Minute).Err() }},
		{"negative", func(key string) error { return c.Set(ctx, key, "-5:0", time.Minute).Err() }},
		{"wrong type", func(key string) error { return c.HSet(ctx, key, "tat", "1").Err() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.write(prefix+tt.name))
			res, err := l.Allow(ctx, tt.name)
			require.ErrorIs(t, err, redislimit.ErrUnexpectedReply)
			require.Equal(t, ratelimit.Result{}, res)
			_, err = l.Peek(ctx, tt.name)
			require.ErrorIs(t, err, redislimit.ErrUnexpectedReply)
			require.ErrorIs(t, l.Refund(ctx, tt.name), redislimit.ErrUnexpectedReply)
			require.NoError(t, l.Reset(ctx, tt.name), "Reset clears a corrupt key")
			res, err = l.Allow(ctx, tt.name)
			require.NoError(t, err)
			require.True(t, res.Allowed)
		})
	}
}

func TestStateFromAnotherRule(t *testing.T) {
	// Counts written under a rule with a higher limit (a fraction of 999)
	// or a longer window (debt beyond this window) are read, not refused.
	c := redisClient(t)
	ctx := context.Background()
	prefix := testPrefix(t, c)
	rule := ratelimit.Rule{Limit: 3, Window: time.Minute}
	l := newLimiter(t, redislimit.Config{Client: c, Rule: rule, Prefix: prefix})

	farFuture := time.Now().Add(24 * time.Hour).UnixMicro()
	require.NoError(t, c.Set(ctx, prefix+"k", strconv.FormatInt(farFuture, 10)+":999", time.Hour).Err())
	res, err := l.Allow(ctx, "k")
	require.NoError(t, err)
	require.False(t, res.Allowed)
	require.Greater(t, res.RetryAfter, time.Duration(0))
	require.LessOrEqual(t, res.RetryAfter, 20*time.Second, "the wait is bounded by this rule's interval")
}

// TestMatchesMemory drives the script with an injected clock through random
// sequences and checks that it decides exactly as ratelimit.Memory does.
func TestMatchesMemory(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	rules := []ratelimit.Rule{
		{Limit: 1, Window: time.Minute},
		{Limit: 7, Window: time.Minute},
		{Limit: 3, Window: time.Hour},
		{Limit: 20, Window: 10 * time.Minute},
		{Limit: 13, Window: 10 * time.Second},
	}
	for _, rule := range rules {
		t.Run(rule.Window.String()+"/"+strconv.Itoa(rule.Limit), func(t *testing.T) {
			l := newLimiter(t, redislimit.Config{Client: c, Rule: rule, Prefix: testPrefix(t, c)})
			start := time.Now().Truncate(time.Microsecond)
			now := start
			m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Rule: rule, Now: func() time.Time { return now }})
			require.NoError(t, err)

			interval := int64(rule.Window / time.Microsecond / time.Duration(rule.Limit))
			rng := mrand.New(mrand.NewPCG(uint64(rule.Limit), uint64(rule.Window)))
			var counts [2]int // denied, allowed
			refunds := 0
			for i := range 400 {
				// The clock never steps back here: Memory drops a paid-off key
				// at once while Redis keeps it until it expires, and a clock
				// stepping back may find such a key still owing.
				// Time passes more slowly than events are earned back, so the
				// keys hover near their limit and both answers are common.
				switch n := rng.IntN(16); {
				case i == 200:
					now = now.Add(2 * rule.Window) // a fresh start
				case n < 10: // same instant
				case n < 15:
					now = now.Add(time.Duration(rng.Int64N(interval/2+1)) * time.Microsecond)
				default:
					now = now.Add(time.Duration(rng.Int64N(4*interval+1)) * time.Microsecond)
				}
				key := []string{"a", "b"}[rng.IntN(2)]
				if rng.IntN(8) == 0 {
					// A refund, checked by the Peek that follows.
					require.NoError(t, redislimit.RefundAt(ctx, l, key, now.UnixMicro()))
					require.NoError(t, m.Refund(ctx, key))
					refunds++
				}
				count := rng.IntN(4) != 0
				got, err := redislimit.RunAt(ctx, l, key, now.UnixMicro(), count)
				require.NoError(t, err)
				var want ratelimit.Result
				if count {
					want, err = m.Allow(ctx, key)
				} else {
					want, err = m.Peek(ctx, key)
				}
				require.NoError(t, err)
				// Memory rounds RetryAfter up to the nanosecond, Redis to
				// the microsecond.
				want.RetryAfter = (want.RetryAfter + time.Microsecond - 1).Truncate(time.Microsecond)
				require.Equal(t, want, got, "step %d at %v", i, now.Sub(start))
				if got.Allowed {
					counts[1]++
				} else {
					counts[0]++
				}
			}
			require.Greater(t, counts[0], 20, "denials")
			require.Greater(t, counts[1], 20, "allowed events")
			require.Greater(t, refunds, 20, "refunds")
		})
	}
}

func TestConcurrentInstances(t *testing.T) {
	c := redisClient(t)
	rule := ratelimit.Rule{Limit: 25, Window: time.Hour}
	prefix := testPrefix(t, c)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 4 {
		l := newLimiter(t, redislimit.Config{Client: redisClient(t), Rule: rule, Prefix: prefix})
		for range 25 {
			wg.Go(func() {
				res, err := l.Allow(context.Background(), "k")
				assert.NoError(t, err)
				mu.Lock()
				defer mu.Unlock()
				if res.Allowed {
					allowed++
				}
			})
		}
	}
	wg.Wait()
	require.Equal(t, rule.Limit, allowed)
}

// brokenConn fails every write after calling onWrite.
type brokenConn struct {
	net.Conn
	onWrite func()
	err     error
}

func (c brokenConn) Write([]byte) (int, error) {
	c.onWrite()
	return 0, c.err
}

func (c brokenConn) Close() error                     { return nil }
func (c brokenConn) SetDeadline(time.Time) error      { return nil }
func (c brokenConn) SetReadDeadline(time.Time) error  { return nil }
func (c brokenConn) SetWriteDeadline(time.Time) error { return nil }
func (c brokenConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c brokenConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }

func TestCanceledWhileWriting(t *testing.T) {
	// The connection fails with its own error as the context is canceled;
	// the caller sees both.
	errBroken := errors.New("test: connection broken")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := redis.NewClient(&redis.Options{
		MaxRetries: -1,
		Protocol:   2,
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			return brokenConn{onWrite: cancel, err: errBroken}, nil
		},
	})
	t.Cleanup(func() { _ = c.Close() })
	l := newLimiter(t, redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 5, Window: time.Minute}})

	_, err := l.Allow(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, errBroken)

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	err = l.Reset(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, errBroken)
}

func TestUnexpectedReply(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	// One event per 20 minutes: debt 20 minutes in microseconds after one event.
	l := newLimiter(t, redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 3, Window: time.Hour}})
	const interval = int64(20 * time.Minute / time.Microsecond)

	tests := []struct {
		name    string
		reply   []int64
		want    ratelimit.Result
		wantErr error
	}{
		{"allowed", []int64{1, interval, 0}, ratelimit.Result{Allowed: true, Remaining: 2}, nil},
		{"denied", []int64{0, 4 * interval, 0}, ratelimit.Result{RetryAfter: 20 * time.Minute}, nil},
		{"denied with fraction", []int64{0, 3 * interval, 1}, ratelimit.Result{RetryAfter: time.Microsecond}, nil},
		{"empty", nil, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
		{"too long", []int64{1, interval, 0, 0}, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
		{"flag not 0 or 1", []int64{2, interval, 0}, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
		{"negative flag", []int64{-1, interval, 0}, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
		{"fraction too large", []int64{1, interval, 3}, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
		{"negative debt", []int64{1, -1, 0}, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
		{"negative fraction", []int64{1, interval, -1}, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
		{"allowed over the window", []int64{1, 4 * interval, 0}, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
		{"denied within the window", []int64{0, interval, 0}, ratelimit.Result{}, redislimit.ErrUnexpectedReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := redislimit.ResultOf(l, tt.reply)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestUnexpectedRefundReply(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	l := newLimiter(t, redislimit.Config{Client: c, Rule: ratelimit.Rule{Limit: 3, Window: time.Hour}})
	const window = int64(time.Hour / time.Microsecond)

	tests := []struct {
		name  string
		reply []int64
		ok    bool
	}{
		{"back to full", []int64{0, 0}, true},
		{"owes some", []int64{window / 3, 0}, true},
		{"owes a fraction", []int64{0, 2}, true},
		{"owes the window", []int64{window, 0}, true},
		{"empty", nil, false},
		{"too long", []int64{0, 0, 0}, false},
		{"negative debt", []int64{-1, 0}, false},
		{"negative fraction", []int64{0, -1}, false},
		{"fraction too large", []int64{0, 3}, false},
		{"over the window", []int64{window + 1, 0}, false},
		{"fraction over the window", []int64{window, 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := redislimit.CheckRefund(l, tt.reply)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, redislimit.ErrUnexpectedReply)
		})
	}
}

// TestRefundAtClock drives the refund script through time: time already
// earned back is not given twice, and a clock far back is clamped.
func TestRefundAtClock(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	rule := ratelimit.Rule{Limit: 3, Window: 3 * time.Minute} // one a minute
	l := newLimiter(t, redislimit.Config{Client: c, Rule: rule, Prefix: testPrefix(t, c)})
	t0 := time.Now().UnixMicro()
	const minute = int64(time.Minute / time.Microsecond)

	for range 3 {
		res, err := redislimit.RunAt(ctx, l, "k", t0, true)
		require.NoError(t, err)
		require.True(t, res.Allowed)
	}
	// Half a minute later the key owes 2.5 minutes; a refund leaves 1.5.
	require.NoError(t, redislimit.RefundAt(ctx, l, "k", t0+minute/2))
	res, err := redislimit.RunAt(ctx, l, "k", t0+minute/2, false)
	require.NoError(t, err)
	require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, res)

	// A clock a day back finds the debt clamped to the window.
	require.NoError(t, redislimit.RefundAt(ctx, l, "k", t0-24*60*minute))
	res, err = redislimit.RunAt(ctx, l, "k", t0-24*60*minute, false)
	require.NoError(t, err)
	require.Equal(t, ratelimit.Result{Allowed: true, Remaining: 0}, res)
}
