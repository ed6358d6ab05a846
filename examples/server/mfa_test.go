package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMFADefault(t *testing.T) {
	sqlite := database{Kind: dbSQLite, Path: "forgeauth.db"}
	memory := database{Kind: dbMemory}
	const key = "0000000000000000000000000000000000000000000000000000000000000000"
	tests := []struct {
		name         string
		env          map[string]string
		madeUpSecret bool
		db           database
		want         bool
		why          string
	}{
		{name: "JWT_SECRET_KEY given", db: sqlite, want: true},
		{name: "a random secret over a file", madeUpSecret: true, db: sqlite, why: "set JWT_SECRET_KEY or AUTH_MFA_KEY"},
		{name: "a random secret over memory", madeUpSecret: true, db: memory, want: true},
		{name: "a random secret and AUTH_MFA_KEY", env: map[string]string{"AUTH_MFA_KEY": key}, madeUpSecret: true, db: sqlite, want: true},
		{name: "a key pair", env: map[string]string{"JWT_ALGORITHM": "EdDSA"}, db: memory, why: "needs AUTH_MFA_KEY"},
		{name: "a key pair and AUTH_MFA_KEY", env: map[string]string{"JWT_ALGORITHM": "EdDSA", "AUTH_MFA_KEY": key}, db: sqlite, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			on, why := mfaDefault(envOf(tc.env), tc.madeUpSecret, tc.db)
			assert.Equal(t, tc.want, on)
			if tc.want {
				assert.Empty(t, why)
			} else {
				assert.Contains(t, why, tc.why)
			}
		})
	}
}

// TestMFASwitch: the page's API serves the second factor by default with a
// secret that outlives a restart, AUTH_MFA=false leaves it out, and with a
// random secret over a database file it is off, with the reason in the log.
func TestMFASwitch(t *testing.T) {
	served := func(ts *testServer) bool {
		r := ts.client("").do(t, "GET", webPrefix+"/openapi.json", "", nil)
		r.expect(t, http.StatusOK, "")
		return strings.Contains(string(r.Body), `"/auth/mfa/totp/setup"`)
	}
	assert.True(t, served(startWebServer(t, nil)), "on by default")
	assert.False(t, served(startWebServer(t, map[string]string{"AUTH_MFA": "false"})), "AUTH_MFA=false")

	t.Chdir(t.TempDir())
	ts := startServer(t, envOf(fastHashing, map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "0"}))
	assert.False(t, served(ts), "off with a random secret over a file")
	assert.Contains(t, ts.Logs.String(), "two-step verification (TOTP) is off")
	assert.Contains(t, ts.Logs.String(), "mfa=false")
}
