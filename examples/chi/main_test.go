package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// The router of the example serves every endpoint through chi, wildcard
// routes included, and guards its own group.
func TestRouter(t *testing.T) {
	rec := &mailer.Recorder{}
	svc, err := auth.New(auth.Config{
		Store:    memstore.New(),
		Mailer:   rec,
		Token:    token.Config{Secret: []byte("test-secret-test-secret-test-secret-0123")},
		Password: password.HasherConfig{Params: authtest.Params()},
	})
	require.NoError(t, err)
	h, err := httpauth.New(svc, httpauth.Options{DisableIPLimit: true})
	require.NoError(t, err)
	srv := httptest.NewServer(newRouter(h))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, svc.Shutdown(ctx))
	})

	call := func(method, path, bearer string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
		require.NoError(t, err)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}

	const pw = "Analytical-Engine-1843"
	status, body := call("POST", "/api/v1/auth/register", "", map[string]string{"username": "ada", "email": "ada@example.com", "password": pw})
	require.Equal(t, http.StatusCreated, status, "%s", body)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	m, err := rec.Wait(ctx, "ada@example.com")
	require.NoError(t, err)
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(m.Text)
	require.NotEmpty(t, code)
	status, body = call("POST", "/api/v1/auth/verify-email", "", map[string]string{"email": "ada@example.com", "code": code})
	require.Equal(t, http.StatusOK, status, "%s", body)

	status, body = call("POST", "/api/v1/auth/login", "", map[string]string{"username": "ada", "password": pw})
	require.Equal(t, http.StatusOK, status, "%s", body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal(body, &tok))

	status, body = call("GET", "/api/v1/hello", tok.AccessToken, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "Hello, ada!\n", string(body))
	status, body = call("GET", "/api/v1/notes", tok.AccessToken, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"owner":"ada","notes":[]}`, string(body))
	status, _ = call("GET", "/api/v1/notes", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status)

	// The device routes, one of them with a {id} wildcard, go through chi.
	status, body = call("GET", "/api/v1/auth/devices", tok.AccessToken, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var devs []struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &devs))
	require.Len(t, devs, 1)
	status, body = call("DELETE", "/api/v1/auth/devices/"+devs[0].ID, tok.AccessToken, nil)
	assert.Equal(t, http.StatusNoContent, status, "%s", body)

	// A known path with another method is the handler's 405 problem.
	status, body = call("GET", "/api/v1/auth/login", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, status)
	assert.Contains(t, string(body), `"code":"method_not_allowed"`)
}
