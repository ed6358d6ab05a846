package reliability_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
)

const mib = 1 << 20

// memPeak samples runtime.MemStats until stopped and keeps the peaks.
type memPeak struct {
	stop                   chan struct{}
	done                   chan struct{}
	baseHeapInuse, baseSys uint64
	peakHeapInuse, peakSys uint64
	samples                int
	mu                     sync.Mutex
}

func startMemPeak() *memPeak {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &memPeak{stop: make(chan struct{}), done: make(chan struct{}),
		baseHeapInuse: ms.HeapInuse, baseSys: ms.Sys, peakHeapInuse: ms.HeapInuse, peakSys: ms.Sys}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m.mu.Lock()
			m.peakHeapInuse = max(m.peakHeapInuse, ms.HeapInuse)
			m.peakSys = max(m.peakSys, ms.Sys)
			m.samples++
			m.mu.Unlock()
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memPeak) Stop() {
	close(m.stop)
	<-m.done
}

// TestConcurrentLogins sends 200 logins at once to a service with the
// default Argon2id parameters (m=19456 KiB) and as many hashes at once as
// GOMAXPROCS, waiting at most 50 ms for a slot: every answer is 200 or a
// 503 with Retry-After, and the heap stays near the hashes at once times
// their memory rather than 200 times it.
func TestConcurrentLogins(t *testing.T) {
	const logins = 200
	procs := runtime.GOMAXPROCS(0)
	st := memstore.New()
	s := newService(t, serviceOpts{store: st, mutate: func(c *auth.Config) {
		c.Password = password.HasherConfig{MaxConcurrent: procs, MaxWait: 50 * time.Millisecond}
		c.AllowUnverifiedLogin = true
		// Attempts are counted before the hash, so the failed-login limit
		// would answer most of these 429 before they reach the hasher;
		// this test is about the hasher's bound.
		c.LoginMaxFailures = -1
	}})
	hash, err := password.Hash(strongPW, password.DefaultParams(), nil)
	require.NoError(t, err)
	const users = 4
	for i := range users {
		name := "load" + strconv.Itoa(i)
		require.NoError(t, st.CreateUser(context.Background(), store.User{
			ID: "user-" + name, Username: name, Email: name + "@example.com", HashedPassword: hash,
			IsActive: true, IsVerified: true, CreatedAt: s.clock.Now(), UpdatedAt: s.clock.Now(),
		}))
	}
	// One login first, so that the connection pool and the handler's
	// first-use allocations are not counted against the hashes.
	s.login(t, "load0", strongPW)

	answers := make([]answer, logins)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range logins {
		wg.Go(func() {
			<-start
			answers[i] = s.c.do(context.Background(), "POST", apiPrefix+"/auth/login", "",
				map[string]string{"username": "load" + strconv.Itoa(i%users), "password": strongPW})
		})
	}
	mem := startMemPeak()
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)
	mem.Stop()

	var tl tally
	var ok, busy []time.Duration
	for i, a := range answers {
		if msg := checkAnswer(a); msg != "" {
			t.Errorf("login %d: %s", i, msg)
			continue
		}
		tl.add(strconv.Itoa(a.status) + ":" + a.problemCode())
		switch a.status {
		case http.StatusOK:
			ok = append(ok, a.took)
		case http.StatusServiceUnavailable:
			busy = append(busy, a.took)
			assert.Equal(t, "unavailable", a.problemCode())
		default:
			t.Errorf("login %d: %d %s", i, a.status, a.body)
		}
	}
	assert.NotEmpty(t, ok, "no login got through")

	bound := uint64(procs+1)*19*mib + 64*mib
	growth := mem.peakHeapInuse - mem.baseHeapInuse
	t.Logf("%d concurrent logins (GOMAXPROCS=%d, MaxWait=50ms) in %s: %s", logins, procs, elapsed.Round(time.Millisecond), tl.String())
	t.Logf("latency of the 200s: %s", quantiles(ok))
	t.Logf("latency of the 503s: %s", quantiles(busy))
	t.Logf("memory (%d samples): HeapInuse %d MiB at start, peak %d MiB (+%d MiB); Sys %d MiB at start, peak %d MiB; (GOMAXPROCS+1)x19 MiB + 64 MiB = %d MiB; unbounded hashing would need about %d MiB",
		mem.samples, mem.baseHeapInuse/mib, mem.peakHeapInuse/mib, growth/mib, mem.baseSys/mib, mem.peakSys/mib, bound/mib, logins*19)
	// Generous on purpose: garbage from finished hashes stays in the heap
	// until the next collection, so the peak may exceed the slots' own
	// memory; unbounded hashing would be an order of magnitude above.
	assert.Less(t, growth, 3*bound, "the heap grew by %d MiB during the logins", growth/mib)
	assert.Less(t, mem.peakSys-mem.baseSys, 3*bound, "the process took %d MiB more from the system during the logins", (mem.peakSys-mem.baseSys)/mib)
}

// TestConcurrentRefresh presents one refresh token 50 times at once, over
// HTTP, on every store: exactly one rotation succeeds, the others are
// refused as reuse, which revokes the session, so even the winner's new
// token then fails.
func TestConcurrentRefresh(t *testing.T) {
	type backend struct {
		name string
		make func(t *testing.T) (store.Store, *pgSchema)
	}
	backends := []backend{
		{"memory", func(*testing.T) (store.Store, *pgSchema) { return memstore.New(), nil }},
		{"SQLite", func(t *testing.T) (store.Store, *pgSchema) { st, _ := newSQLiteStore(t); return st, nil }},
		{"PostgreSQL", func(t *testing.T) (store.Store, *pgSchema) {
			schema := newPGSchema(t)
			st, _ := newPGStore(t, schema, "forgeauth_rel_"+randomHex(t, 4), "", 16)
			return st, schema
		}},
	}
	const presentations = 50
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st, schema := b.make(t)
			s := newService(t, serviceOpts{store: st})
			s.verifiedUser(t, "racer")
			tok := s.login(t, "racer", strongPW)

			answers := make([]answer, presentations)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range presentations {
				wg.Go(func() {
					<-start
					answers[i] = s.c.do(context.Background(), "POST", apiPrefix+"/auth/refresh", "",
						map[string]string{"refresh_token": tok.RefreshToken})
				})
			}
			close(start)
			wg.Wait()

			var tl tally
			var winner *tokens
			for i, a := range answers {
				if msg := checkAnswer(a); msg != "" {
					t.Errorf("refresh %d: %s", i, msg)
					continue
				}
				tl.add(strconv.Itoa(a.status) + ":" + a.problemCode())
				switch {
				case a.status == http.StatusOK:
					winner = decodeTokens(a)
				case a.status == http.StatusUnauthorized && a.problemCode() == "invalid_refresh_token":
				default:
					t.Errorf("refresh %d: %d %s", i, a.status, a.body)
				}
			}
			t.Logf("%s: %d concurrent refreshes of one token: %s", b.name, presentations, tl.String())
			require.Equal(t, 1, tl.get("200:"), "exactly one rotation must succeed")
			require.NotNil(t, winner)
			s.c.post(t, "/auth/refresh", "", map[string]string{"refresh_token": winner.RefreshToken}).
				expect(t, http.StatusUnauthorized, "invalid_refresh_token")
			if schema != nil {
				checkInvariants(t, schema)
				var n int
				require.NoError(t, schema.admin.QueryRow(`SELECT count(*) FROM `+schema.name+`.refresh_tokens`).Scan(&n))
				assert.Equal(t, 2, n, "one login and one rotation: two tokens")
			}
		})
	}
}

// TestSQLiteConcurrentWriters has 20 clients register and log in at once
// on one SQLite file, then 20 clients register one email at once: nobody
// sees a 500 or a trace of SQLite's locking, every registration lands,
// and one email makes one account.
func TestSQLiteConcurrentWriters(t *testing.T) {
	const clients = 20
	st, db := newSQLiteStore(t)
	s := newService(t, serviceOpts{store: st, mutate: func(c *auth.Config) {
		c.AllowUnverifiedLogin = true
		// Hashing is cheap here and must not refuse anyone (its own
		// bound is TestConcurrentLogins' subject): the writers meet in
		// SQLite.
		c.Password.MaxConcurrent = 2 * clients
	}})

	type result struct{ register, login answer }
	results := make([]result, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			<-start
			name := "writer" + strconv.Itoa(i)
			ctx := context.Background()
			results[i].register = s.c.do(ctx, "POST", apiPrefix+"/auth/register", "",
				map[string]string{"username": name, "email": name + "@example.com", "password": strongPW})
			results[i].login = s.c.do(ctx, "POST", apiPrefix+"/auth/login", "",
				map[string]string{"username": name, "password": strongPW})
		})
	}
	close(start)
	wg.Wait()
	var tl tally
	for i, r := range results {
		for _, a := range []answer{r.register, r.login} {
			if msg := checkAnswer(a); msg != "" {
				t.Errorf("client %d, %s: %s", i, a.path, msg)
				continue
			}
			tl.add(a.path[len(apiPrefix):] + ":" + strconv.Itoa(a.status))
		}
		assert.Equal(t, http.StatusCreated, r.register.status, "client %d register: %s", i, r.register.body)
		assert.Equal(t, http.StatusOK, r.login.status, "client %d login: %s", i, r.login.body)
	}
	var users, sessions, codes int
	require.NoError(t, db.QueryRow(`SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM refresh_tokens),
		(SELECT count(*) FROM verification_codes)`).Scan(&users, &sessions, &codes))
	assert.Equal(t, clients, users, "registrations lost")
	assert.Equal(t, clients, sessions, "sessions lost")
	assert.Equal(t, clients, codes, "verification codes lost")
	t.Logf("%d clients registering and logging in at once on SQLite: %s; rows: %d users, %d sessions, %d codes", clients, tl.String(), users, sessions, codes)
	for _, cause := range logCauses(s.logs.String(), "httpauth: service unavailable", 5) {
		t.Logf("a cause of 503: %s", cause)
	}

	// One email, twenty clients.
	answers := make([]answer, clients)
	start = make(chan struct{})
	for i := range clients {
		wg.Go(func() {
			<-start
			answers[i] = s.c.do(context.Background(), "POST", apiPrefix+"/auth/register", "",
				map[string]string{"username": fmt.Sprintf("same%d", i), "email": "Same@Example.com", "password": strongPW})
		})
	}
	close(start)
	wg.Wait()
	var same tally
	for i, a := range answers {
		if msg := checkAnswer(a); msg != "" {
			t.Errorf("client %d: %s", i, msg)
			continue
		}
		same.add(strconv.Itoa(a.status) + ":" + a.problemCode())
	}
	t.Logf("%d clients registering one email at once: %s", clients, same.String())
	assert.Equal(t, 1, same.get("201:"), "one email must make exactly one account")
	assert.Equal(t, clients-1, same.get("409:user_exists"))
}
