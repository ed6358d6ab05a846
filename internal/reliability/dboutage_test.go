package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The phases of an outage run.
const (
	phaseBefore = iota
	phaseDuring
	phaseAfter
	phases
)

var phaseNames = [phases]string{"before", "during", "after"}

// A run moves through steps: 2p is phase p, and the odd steps between are
// the moments the fault is beginning or ending. An answer belongs to a
// phase only if it started and ended in the phase's step; one that saw a
// transition is "spanning".
const (
	stepBefore    = 2 * phaseBefore
	stepBeginning = stepBefore + 1
	stepDuring    = 2 * phaseDuring
	stepEnding    = stepDuring + 1
	stepAfter     = 2 * phaseAfter
)

var stepNames = [...]string{"before", "beginning", "during", "ending", "after"}

// phaseOf returns the phase of a record that started and ended in one
// phase's step.
func phaseOf(start, end int32) (int, bool) {
	if start != end || start%2 != 0 {
		return 0, false
	}
	return int(start / 2), true
}

// outagePlan is one way of taking the database away.
type outagePlan struct {
	name string
	// begin and end start and stop the fault.
	begin, end func()
	// total: while the fault lasts nothing reaches the database, so every
	// answer is 503. Otherwise the fault is intermittent and answers may
	// succeed.
	total bool
	// enough reports whether the fault has lasted long enough, given the
	// answers received entirely within it.
	enough func(answers int) bool
	// report describes the fault for the log.
	report func() string
}

// outageRun is the state shared by the workers and the controller of one
// run.
type outageRun struct {
	step   atomic.Int32
	notify chan struct{} // a non-blocking wake-up of the controller

	mu       sync.Mutex
	records  []record
	okCycles [phases][]int // per phase, per worker: cycles entirely within the phase that fully succeeded
	within   [phases]int   // answers entirely within each phase
	// withinOps counts them by operation.
	withinOps [phases]map[string]int
}

// record is one answer of the run and the steps in which it started and
// ended.
type record struct {
	op         string
	worker     int
	start, end int32
	a          answer
	// unsure: a refresh of a token whose earlier presentation got a 503,
	// so whether it was rotated then is unknown to the client.
	unsure bool
}

func (r *outageRun) wake() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *outageRun) add(rec record) {
	r.mu.Lock()
	r.records = append(r.records, rec)
	if p, ok := phaseOf(rec.start, rec.end); ok {
		r.within[p]++
		if r.withinOps[p] == nil {
			r.withinOps[p] = map[string]int{}
		}
		r.withinOps[p][rec.op]++
	}
	r.mu.Unlock()
	r.wake()
}

// await waits until cond holds, checked under the lock after every answer.
func (r *outageRun) await(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			r.mu.Lock()
			defer r.mu.Unlock()
			tb.Fatalf("%s did not happen within %s; answers within each phase: %v, ok cycles: %v", what, guard, r.within, r.okCycles)
		}
	}
}

// TestDatabaseOutage runs a bounded load of logins, refreshes and requests
// to a RequireUser route against PostgreSQL while the database goes away
// and comes back: through a proxy that is cut (every connection reset,
// none accepted) and restored, and by terminating the service's backends
// every few milliseconds. While it is away, protected routes answer 503,
// never 200 and never a 500 or anything internal; afterwards the service
// recovers without a restart, and the rows show nothing lost, duplicated
// or half done. Password resets started during the outage either fully
// happened or not at all.
func TestDatabaseOutage(t *testing.T) {
	postgresURL(t)
	t.Run("proxy cut", func(t *testing.T) {
		schema := newPGSchema(t)
		p := newProxy(t, pgHost(t, schema.base))
		appName := "forgeauth_rel_" + randomHex(t, 4)
		st, _ := newPGStore(t, schema, appName, p.Addr(), 8)
		s := newService(t, serviceOpts{store: st})
		plan := outagePlan{
			name:   "proxy cut",
			begin:  p.Cut,
			end:    p.Restore,
			total:  true,
			enough: func(n int) bool { return n >= 120 },
			report: func() string {
				acc, cuts := p.Stats()
				return fmt.Sprintf("proxy accepted %d connections, went down %d time(s)", acc, cuts)
			},
		}
		runOutage(t, schema, s, plan)
	})
	t.Run("proxy hangs", func(t *testing.T) {
		// A database that stops answering without closing anything (a
		// network partition): the library sets no deadline of its own on
		// store calls, so the application's request deadline is what turns
		// the wait into a 503.
		schema := newPGSchema(t)
		p := newProxy(t, pgHost(t, schema.base))
		appName := "forgeauth_rel_" + randomHex(t, 4)
		st, _ := newPGStore(t, schema, appName, p.Addr(), 8)
		s := newService(t, serviceOpts{store: st, wrap: requestDeadline(time.Second)})
		plan := outagePlan{
			name:   "proxy hangs",
			begin:  p.Hang,
			end:    p.Restore,
			total:  true,
			enough: func(n int) bool { return n >= 12 },
			report: func() string {
				acc, cuts := p.Stats()
				return fmt.Sprintf("proxy accepted %d connections, hung %d time(s); request deadline 1s", acc, cuts)
			},
		}
		runOutage(t, schema, s, plan)
	})
	t.Run("backends terminated", func(t *testing.T) {
		schema := newPGSchema(t)
		appName := "forgeauth_rel_" + randomHex(t, 4)
		st, _ := newPGStore(t, schema, appName, "", 8)
		s := newService(t, serviceOpts{store: st})
		var (
			killed  atomic.Int64
			rounds  atomic.Int64
			stop    = make(chan struct{})
			stopped = make(chan struct{})
		)
		plan := outagePlan{
			name: "backends terminated",
			begin: func() {
				go func() {
					defer close(stopped)
					tick := time.NewTicker(3 * time.Millisecond)
					defer tick.Stop()
					for {
						n, err := schema.terminate(context.Background(), appName)
						if err == nil {
							killed.Add(int64(n))
							rounds.Add(1)
						}
						select {
						case <-stop:
							return
						case <-tick.C:
						}
					}
				}()
			},
			end: func() {
				close(stop)
				<-stopped
			},
			enough: func(n int) bool { return n >= 200 && killed.Load() >= 20 },
			report: func() string {
				return fmt.Sprintf("%d backends terminated in %d rounds", killed.Load(), rounds.Load())
			},
		}
		runOutage(t, schema, s, plan)
	})
}

// runOutage is the body of TestDatabaseOutage for one plan.
func runOutage(t *testing.T, schema *pgSchema, s *service, plan outagePlan) {
	const (
		workers    = 6
		resetUsers = 3
	)
	for i := range workers {
		s.verifiedUser(t, "worker"+strconv.Itoa(i))
	}
	// The reset users each hold a live session and a reset code from
	// before the outage.
	resetCodes := make([]string, resetUsers)
	resetSessions := make([]tokens, resetUsers)
	for i := range resetUsers {
		name := "resetter" + strconv.Itoa(i)
		s.verifiedUser(t, name)
		resetSessions[i] = s.login(t, name, strongPW)
		s.c.post(t, "/auth/forgot-password", "", map[string]string{"email": name + "@example.com"}).expect(t, http.StatusAccepted, "")
		resetCodes[i] = mailCode(t, s.mail, name+"@example.com")
	}

	run := &outageRun{notify: make(chan struct{}, 1)}
	for p := range phases {
		run.okCycles[p] = make([]int, workers)
	}
	// The workers finish the cycle they are in when told to stop, so that
	// their last tokens are known to be current.
	var stop atomic.Bool
	final := make([]tokens, workers)
	unsure := make([]bool, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { final[w], unsure[w] = outageWorker(&stop, run, s.c, w) })
	}
	faulty := false
	defer func() {
		// On a failure, too: the fault ends and the workers stop.
		if faulty {
			plan.end()
		}
		stop.Store(true)
		wg.Wait()
	}()
	ctx := context.Background()

	run.await(t, "two good cycles of every worker before the outage", func() bool {
		for _, n := range run.okCycles[phaseBefore] {
			if n < 2 {
				return false
			}
		}
		return true
	})
	before := make([]userState, resetUsers)
	for i := range resetUsers {
		before[i] = readUserState(t, schema, "resetter"+strconv.Itoa(i))
	}

	run.step.Store(stepBeginning)
	plan.begin()
	faulty = true
	run.step.Store(stepDuring)
	resets := make([]answer, resetUsers)
	var resetting sync.WaitGroup
	for i := range resetUsers {
		resetting.Go(func() {
			name := "resetter" + strconv.Itoa(i)
			resets[i] = s.c.do(ctx, "POST", apiPrefix+"/auth/reset-password", "",
				map[string]string{"email": name + "@example.com", "code": resetCodes[i], "new_password": newPW})
		})
	}
	run.await(t, "enough answers during the outage", func() bool {
		ops := run.withinOps[phaseDuring]
		return plan.enough(run.within[phaseDuring]) && ops["login"] > 0 && ops["private"] > 0 && ops["refresh"] > 0
	})
	resetting.Wait()
	run.step.Store(stepEnding)
	plan.end()
	faulty = false
	run.step.Store(stepAfter)

	run.await(t, "a good cycle of every worker after the outage (recovery without a restart)", func() bool {
		for _, n := range run.okCycles[phaseAfter] {
			if n < 1 {
				return false
			}
		}
		return true
	})
	stop.Store(true)
	wg.Wait()

	// Every answer, whatever the phase.
	run.mu.Lock()
	records := run.records
	run.mu.Unlock()
	var byPhase [phases]tally
	var latency [phases][]time.Duration
	for _, rec := range records {
		if msg := checkAnswer(rec.a); msg != "" {
			t.Errorf("%s by worker %d (%s..%s): %s", rec.op, rec.worker, stepNames[rec.start], stepNames[rec.end], msg)
			continue
		}
		key := rec.op + ":" + strconv.Itoa(rec.a.status)
		if p, ok := phaseOf(rec.start, rec.end); ok {
			byPhase[p].add(key)
			latency[p] = append(latency[p], rec.a.took)
		} else {
			byPhase[(rec.end+1)/2].add("(spanning) " + key)
		}
		switch {
		case rec.a.status == http.StatusOK, rec.a.status == http.StatusServiceUnavailable:
		case rec.op == "refresh" && rec.a.status == http.StatusUnauthorized && rec.a.problemCode() == "invalid_refresh_token":
			// The client cannot know whether a refresh answered 503 was
			// carried out: if it was, presenting the token again is reuse.
			// A refresh token never presented before must not fail.
			assert.True(t, rec.unsure, "worker %d: a fresh refresh token was refused: %s", rec.worker, rec.a.body)
		default:
			t.Errorf("%s by worker %d: unexpected %d %s", rec.op, rec.worker, rec.a.status, rec.a.body)
		}
		if plan.total && rec.start == stepDuring && rec.end == stepDuring {
			assert.Equal(t, http.StatusServiceUnavailable, rec.a.status,
				"%s during the outage by worker %d: %s", rec.op, rec.worker, rec.a.body)
		}
	}
	for p := range phases {
		t.Logf("%s, %s: %s", plan.name, phaseNames[p], byPhase[p].String())
		t.Logf("%s, %s: latency %s", plan.name, phaseNames[p], quantiles(latency[p]))
	}
	t.Logf("%s: %s", plan.name, plan.report())
	if plan.total {
		assert.Positive(t, byPhase[phaseDuring].get("private:503"), "no request to the protected route during the outage")
		assert.Positive(t, byPhase[phaseDuring].get("refresh:503"), "no refresh during the outage")
		assert.Positive(t, byPhase[phaseDuring].get("login:503"), "no login during the outage")
	}

	// The resets started during the outage: all or nothing, and the
	// service carries on afterwards.
	burnt := 0
	for i, a := range resets {
		name := "resetter" + strconv.Itoa(i)
		require.NoError(t, a.err, "reset of %s", name)
		if msg := checkAnswer(a); msg != "" {
			t.Errorf("reset of %s: %s", name, msg)
		}
		after := readUserState(t, schema, name)
		changed := passwordChanged(t, name, before[i], after, 0)
		switch a.status {
		case http.StatusNoContent:
			assert.True(t, changed, "%s: reset answered 204 but the hash did not change", name)
		case http.StatusServiceUnavailable:
		default:
			t.Errorf("reset of %s during the outage: unexpected %d %s", name, a.status, a.body)
		}
		if plan.total {
			assert.Equal(t, http.StatusServiceUnavailable, a.status, "reset of %s while the database is away", name)
		}
		pw := strongPW
		switch {
		case changed:
			pw = newPW
			s.c.post(t, "/auth/refresh", "", map[string]string{"refresh_token": resetSessions[i].RefreshToken}).
				expect(t, http.StatusUnauthorized, "invalid_refresh_token")
		case after.unusedResetCodes == 1:
			// Not carried out and the code still good: the client retries.
			s.c.post(t, "/auth/reset-password", "", map[string]string{"email": name + "@example.com", "code": resetCodes[i], "new_password": newPW}).
				expect(t, http.StatusNoContent, "")
			pw = newPW
		default:
			// The code was spent but the password not set: the user asks
			// for another code.
			burnt++
			s.clock.Advance(61 * time.Second)
			s.c.post(t, "/auth/forgot-password", "", map[string]string{"email": name + "@example.com"}).expect(t, http.StatusAccepted, "")
			code := mailCode(t, s.mail, name+"@example.com")
			s.c.post(t, "/auth/reset-password", "", map[string]string{"email": name + "@example.com", "code": code, "new_password": newPW}).
				expect(t, http.StatusNoContent, "")
			pw = newPW
		}
		s.login(t, name, pw)
		t.Logf("%s: reset during the outage answered %d; carried out: %v; code spent without a reset: %v", name, a.status, changed, !changed && after.unusedResetCodes == 0)
	}
	if burnt > 0 {
		t.Logf("%s: %d reset code(s) spent by a reset that failed before setting the password; the user had to ask for a new code", plan.name, burnt)
	}

	// Every worker's last session goes on (unless its last refresh got a
	// 503, when the client cannot know whether the token was rotated).
	for w, tok := range final {
		if tok.RefreshToken == "" {
			continue
		}
		a := s.c.post(t, "/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
		if unsure[w] && a.status == http.StatusUnauthorized {
			continue
		}
		a.expect(t, http.StatusOK, "")
	}
	checkInvariants(t, schema)
	var users int
	require.NoError(t, schema.admin.QueryRow(`SELECT count(*) FROM `+schema.name+`.users`).Scan(&users))
	assert.Equal(t, workers+resetUsers, users, "users lost or duplicated")
	var secrets []string
	for _, tok := range final {
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	}
	log := s.logs.String()
	noSecretsIn(t, log, secrets...)
	assert.NotContains(t, log, "httpauth: internal error", "an error was answered 500")
	for _, cause := range logCauses(log, "httpauth: service unavailable", 6) {
		t.Logf("%s: a cause of 503: %s", plan.name, cause)
	}
}

// outageWorker logs in, calls the protected route and refreshes, again and
// again until stop is set, and returns its last tokens and whether their
// refresh token got a 503 when last presented. A cycle is: a login,
// then with the worker's session the protected route, a refresh and the
// protected route again. The session is the first login's and lives on
// through its rotations; a fresh login replaces it only when a refresh is
// refused.
func outageWorker(stop *atomic.Bool, run *outageRun, c *client, w int) (tokens, bool) {
	ctx := context.Background()
	name := "worker" + strconv.Itoa(w)
	var (
		sess   tokens
		unsure bool // the session's refresh token got a 503 when last presented
	)
	call := func(op, method, path, bearer string, body any) answer {
		start := run.step.Load()
		a := c.do(ctx, method, path, bearer, body)
		rec := record{op: op, worker: w, start: start, end: run.step.Load(), a: a}
		if op == "refresh" {
			rec.unsure = unsure
		}
		run.add(rec)
		return a
	}
	for !stop.Load() {
		start := run.step.Load()
		ok := true
		a := call("login", "POST", apiPrefix+"/auth/login", "", map[string]string{"username": name, "password": strongPW})
		if a.status != http.StatusOK {
			ok = false
		} else if t := decodeTokens(a); t != nil && sess.RefreshToken == "" {
			sess, unsure = *t, false
		}
		if sess.RefreshToken == "" {
			continue
		}
		ok = call("private", "GET", privatePath, sess.AccessToken, nil).status == http.StatusOK && ok
		a = call("refresh", "POST", apiPrefix+"/auth/refresh", "", map[string]string{"refresh_token": sess.RefreshToken})
		switch a.status {
		case http.StatusOK:
			if t := decodeTokens(a); t != nil {
				sess, unsure = *t, false
			}
		case http.StatusUnauthorized:
			sess, unsure, ok = tokens{}, false, false
		default:
			unsure, ok = true, false
		}
		if sess.RefreshToken != "" {
			ok = call("private", "GET", privatePath, sess.AccessToken, nil).status == http.StatusOK && ok
		}
		if p, within := phaseOf(start, run.step.Load()); ok && within {
			run.mu.Lock()
			run.okCycles[p][w]++
			run.mu.Unlock()
			run.wake()
		}
	}
	return sess, unsure
}

// decodeTokens decodes a token answer, or returns nil.
func decodeTokens(a answer) *tokens {
	var t tokens
	if err := json.Unmarshal(a.body, &t); err != nil || t.RefreshToken == "" {
		return nil
	}
	return &t
}

// requestDeadline is middleware that gives every request a deadline, as an
// application in production would.
func requestDeadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
