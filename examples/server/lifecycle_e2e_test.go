package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLifecycleSQLite(t *testing.T) {
	lifecycleFlow(t, "sqlite:"+filepath.Join(t.TempDir(), "lifecycle.db"))
}

func TestLifecyclePostgres(t *testing.T) {
	lifecycleFlow(t, postgresURL(t))
}

// lifecycleFlow runs the account lifecycle and administration routes over
// real HTTP on the example server, with the user command run against the
// same database while the server serves it.
func lifecycleFlow(t *testing.T, databaseURL string) {
	env := envOf(fastHashing, map[string]string{
		"DATABASE_URL":               databaseURL,
		"JWT_SECRET_KEY":             testSecret,
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
		"AUTH_ACCOUNT_CHANGES":       "true",
		"AUTH_ADMIN":                 "true",
	})
	ts := startServer(t, env)
	c := ts.client("lifecycle-e2e")
	const pw = "Corr3ct-Horse-Battery!"
	// n counts the earlier registrations of the address.
	signUp := func(name string, n int) string {
		email := name + "@example.com"
		r := c.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": name, "email": email, "password": pw})
		r.expect(t, http.StatusCreated, "")
		code := ts.Logs.logMailCode(t, email, subjectVerify, n)
		c.do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"email": email, "code": code}).expect(t, http.StatusOK, "")
		return r.object(t)["id"].(string)
	}
	rootID, aliceID := signUp("root", 0), signUp("alice", 0)

	// An operator promotes the first admin from the command line.
	var out, errOut bytes.Buffer
	require.Equal(t, 0, userCommand(context.Background(), []string{"promote", "root@example.com"}, env, &out, &errOut), errOut.String())
	assert.Equal(t, 3, userCommand(context.Background(), []string{"promote", "nobody@example.com"}, env, &out, &errOut), "an unknown email")

	root := c.login(t, "root", pw)
	alice := c.login(t, "alice", pw)
	c.do(t, "GET", "/api/v1/admin/users", alice.Access, nil).expect(t, http.StatusForbidden, "forbidden")

	r := c.do(t, "GET", "/api/v1/admin/users?q="+url.QueryEscape("ali"), root.Access, nil)
	r.expect(t, http.StatusOK, "")
	users := r.object(t)["users"].([]any)
	require.Len(t, users, 1)
	assert.Equal(t, aliceID, users[0].(map[string]any)["id"])
	c.do(t, "GET", "/api/v1/admin/users?cursor=tampered", root.Access, nil).expect(t, http.StatusBadRequest, "bad_request")

	// Disabling ends alice's access at once; enabling brings it not back.
	c.do(t, "PATCH", "/api/v1/admin/users/"+aliceID, root.Access, map[string]any{"is_active": false}).expect(t, http.StatusOK, "")
	c.do(t, "GET", "/api/v1/users/me", alice.Access, nil).expect(t, http.StatusUnauthorized, "invalid_token")
	c.do(t, "PATCH", "/api/v1/admin/users/"+aliceID, root.Access, map[string]any{"is_active": true}).expect(t, http.StatusOK, "")
	c.do(t, "GET", "/api/v1/users/me", alice.Access, nil).expect(t, http.StatusUnauthorized, "invalid_token")
	alice = c.login(t, "alice", pw)

	// Change of email: the code goes to the new address; the old one stops working.
	c.do(t, "POST", "/api/v1/auth/change-email", alice.Access, map[string]string{"current_password": pw, "new_email": "alice.new@example.com"}).
		expect(t, http.StatusAccepted, "")
	code := ts.Logs.logMailCode(t, "alice.new@example.com", "Confirm your new email address", 0)
	r = c.do(t, "POST", "/api/v1/auth/confirm-email-change", alice.Access, map[string]string{"code": code})
	r.expect(t, http.StatusOK, "")
	assert.Equal(t, "alice.new@example.com", r.object(t)["email"])
	c.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "alice@example.com", "password": pw}).
		expect(t, http.StatusUnauthorized, "invalid_credentials")
	alice = c.login(t, "alice.new@example.com", pw)

	// The last superuser cannot demote themself.
	c.do(t, "PATCH", "/api/v1/admin/users/"+rootID, root.Access, map[string]any{"is_superuser": false}).
		expect(t, http.StatusConflict, "last_superuser")

	// Deleting one's account ends everything; the name is free again.
	c.do(t, "DELETE", "/api/v1/users/me", alice.Access, map[string]string{"current_password": pw}).expect(t, http.StatusNoContent, "")
	c.do(t, "GET", "/api/v1/users/me", alice.Access, nil).expect(t, http.StatusUnauthorized, "invalid_token")
	signUp("alice", 1)
}
