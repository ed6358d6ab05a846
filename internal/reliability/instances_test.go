package reliability_test

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildServer builds the reference server into a temporary directory and
// returns the binary's path. It skips the test when the go command is not
// there.
func buildServer(tb testing.TB) string {
	tb.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("the go command is not on PATH: cannot build the reference server")
	}
	bin := filepath.Join(tb.TempDir(), "server")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", bin, "github.com/forgeauth/forgeauth/examples/server")
	out, err := cmd.CombinedOutput()
	require.NoError(tb, err, "go build ./examples/server:\n%s", out)
	return bin
}

// instance is one running process of the reference server.
type instance struct {
	name   string
	url    string
	logs   *logBuffer
	exited chan struct{}
}

var listenRE = regexp.MustCompile(`msg="forgeauth server listening" addr=(\S+)`)

// startInstance runs the server binary with exactly the environment env
// (nothing inherited: no EMAIL_HOST, so the log mailer writes each code to
// stderr), on 127.0.0.1 and a free port, and stops it at the end of the
// test.
func startInstance(tb testing.TB, bin, name string, env map[string]string) *instance {
	tb.Helper()
	in := &instance{name: name, logs: newLogBuffer(), exited: make(chan struct{})}
	cmd := exec.Command(bin)
	cmd.Env = []string{"ADDR=127.0.0.1:0"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout = in.logs
	cmd.Stderr = in.logs
	require.NoError(tb, cmd.Start())
	go func() {
		_ = cmd.Wait()
		close(in.exited)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(guard)
		defer t.Stop()
		select {
		case <-in.exited:
		case <-t.C:
			_ = cmd.Process.Kill()
			<-in.exited
			tb.Errorf("instance %s did not stop on SIGTERM", name)
		}
		if log := in.logs.String(); strings.Contains(log, "panic") {
			tb.Errorf("instance %s panicked:\n%s", name, log)
		}
	})
	addr := in.logs.waitFor(tb, "listening line of instance "+name, in.exited, func(log string) (string, bool) {
		m := listenRE.FindStringSubmatch(log)
		if m == nil {
			return "", false
		}
		return m[1], true
	})
	in.url = "http://" + addr
	return in
}

// mailCode returns the code of the n-th (from 0) email that the instance's
// log mailer wrote for to.
func (in *instance) mailCode(tb testing.TB, to string, n int) string {
	tb.Helper()
	marker := `msg="mailer: email not sent (development mailer)" to=` + to + ` `
	return in.logs.waitFor(tb, "email to "+to+" from instance "+in.name, in.exited, func(log string) (string, bool) {
		seen := 0
		for line := range strings.Lines(log) {
			_, rest, ok := strings.Cut(line, marker)
			if !ok {
				continue
			}
			_, text, ok := strings.Cut(rest, " text=")
			if !ok {
				continue
			}
			if seen == n {
				if m := codeRE.FindStringSubmatch(text); m != nil {
					return m[1], true
				}
				return "", false
			}
			seen++
		}
		return "", false
	})
}

// TestSeveralInstances runs two processes of the reference server on one
// PostgreSQL schema and one Redis: a refresh token rotated on one instance
// is dead on the other, reuse detected on one revokes the family for both,
// and failed logins counted on both add up to one limit.
func TestSeveralInstances(t *testing.T) {
	schema := newPGSchema(t)
	rURL := redisURL(t)
	bin := buildServer(t)

	appName := "forgeauth_rel_" + randomHex(t, 4)
	env := map[string]string{
		"DATABASE_URL":               schema.url(t, appName, ""),
		"REDIS_URL":                  rURL,
		"JWT_SECRET_KEY":             secret,
		"PASSWORD_HASH_MEMORY_KIB":   "64",
		"PASSWORD_HASH_ITERATIONS":   "1",
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
		"AUTH_LOGIN_MAX_FAILURES":    "5",
	}
	a := startInstance(t, bin, "A", env)
	b := startInstance(t, bin, "B", env)
	ca, cb := newClient(t, a.url), newClient(t, b.url)

	// The limits are keyed by digests of the names and addresses typed and
	// expire by themselves; names of this run's own keep runs that share
	// one Redis apart.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	unique := func(name string) string { return name + run[len(run)-8:] }

	// register on A, verify with A's emailed code on B: one user base.
	register := func(name string) string {
		var u userJSON
		ca.post(t, "/auth/register", "", map[string]string{"username": name, "email": name + "@example.com", "password": strongPW}).
			expect(t, http.StatusCreated, "").decode(t, &u)
		code := a.mailCode(t, name+"@example.com", 0)
		cb.post(t, "/auth/verify-email", "", map[string]string{"email": name + "@example.com", "code": code}).
			expect(t, http.StatusOK, "").decode(t, &u)
		require.True(t, u.IsVerified)
		return u.ID
	}

	t.Run("rotation and reuse across instances", func(t *testing.T) {
		rotor := unique("rotor")
		register(rotor)
		var t1, t2 tokens
		ca.post(t, "/auth/login", "", map[string]string{"username": rotor, "password": strongPW}).
			expect(t, http.StatusOK, "").decode(t, &t1)
		// An access token of A is good on B.
		cb.get(t, apiPrefix+"/users/me", t1.AccessToken).expect(t, http.StatusOK, "")

		cb.post(t, "/auth/refresh", "", map[string]string{"refresh_token": t1.RefreshToken}).
			expect(t, http.StatusOK, "").decode(t, &t2)
		require.NotEqual(t, t1.RefreshToken, t2.RefreshToken)
		ca.get(t, apiPrefix+"/users/me", t2.AccessToken).expect(t, http.StatusOK, "")

		// The rotated token, presented to the other instance: reuse.
		ca.post(t, "/auth/refresh", "", map[string]string{"refresh_token": t1.RefreshToken}).
			expect(t, http.StatusUnauthorized, "invalid_refresh_token")
		// The family is revoked: the newest token fails on both.
		ca.post(t, "/auth/refresh", "", map[string]string{"refresh_token": t2.RefreshToken}).
			expect(t, http.StatusUnauthorized, "invalid_refresh_token")
		cb.post(t, "/auth/refresh", "", map[string]string{"refresh_token": t2.RefreshToken}).
			expect(t, http.StatusUnauthorized, "invalid_refresh_token")

		var active, total int
		require.NoError(t, schema.admin.QueryRow(`SELECT count(*) FILTER (WHERE NOT is_revoked), count(*)
			FROM `+schema.name+`.refresh_tokens t JOIN `+schema.name+`.users u ON u.id = t.user_id
			WHERE u.username = $1`, rotor).Scan(&active, &total))
		assert.Equal(t, 0, active, "no token of the family is left usable")
		assert.Equal(t, 2, total, "one login, one rotation")
		t.Logf("rotation: login on A, refresh on B (200), old token on A (401), newest on A and B (401, 401); tokens in the family: %d, active: %d", total, active)
	})

	t.Run("failed logins add up across instances", func(t *testing.T) {
		name := unique("thrott")
		register(name)
		wrong := map[string]string{"username": name, "password": "Wrong-Horse-8"}
		right := map[string]string{"username": name, "password": strongPW}
		for _, c := range []*client{ca, ca, ca, cb, cb} {
			c.post(t, "/auth/login", "", wrong).expect(t, http.StatusUnauthorized, "invalid_credentials")
		}
		// The sixth attempt, even with the right password, on either.
		for _, c := range []*client{ca, cb} {
			r := c.post(t, "/auth/login", "", right).expect(t, http.StatusTooManyRequests, "rate_limited")
			n, err := strconv.Atoi(r.header.Get("Retry-After"))
			require.NoError(t, err, "Retry-After %q", r.header.Get("Retry-After"))
			assert.Positive(t, n)
			t.Logf("6th login on %s: 429, Retry-After %ds", map[*client]string{ca: "A", cb: "B"}[c], n)
		}
	})

	for _, in := range []*instance{a, b} {
		log := in.logs.String()
		assert.Contains(t, log, "rate_limits=redis", "instance %s", in.name)
		noSecretsIn(t, log)
	}
}
