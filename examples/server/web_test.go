package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
)

// TestWebSettingsErrors: a bad AUTH_COOKIES or AUTH_TRUSTED_ORIGINS stops
// the server at start with an error naming the variable.
func TestWebSettingsErrors(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"AUTH_COOKIES":         {"AUTH_COOKIES": "maybe"},
		"AUTH_TRUSTED_ORIGINS": {"AUTH_TRUSTED_ORIGINS": "https://ok.example, not-an-origin"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := runErr(t, envOf(fastHashing, map[string]string{
				"DATABASE_URL": "memory", "JWT_SECRET_KEY": testSecret,
			}, env))
			var envErr *auth.EnvError
			require.ErrorAs(t, err, &envErr)
			assert.Equal(t, name, envErr.Name)
		})
	}
}

// TestWebPageHeaders: the page and its assets come with a strict
// Content-Security-Policy (own scripts only: no inline script, no CDN);
// a trusted origin gets CORS from the cookie API.
func TestWebPageHeaders(t *testing.T) {
	ts := startWebServer(t, map[string]string{"AUTH_TRUSTED_ORIGINS": "https://app.example.com"})
	for path, ct := range map[string]string{"/": "text/html", "/assets/app.js": "javascript", "/assets/app.css": "text/css"} {
		res, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Contains(t, res.Header.Get("Content-Type"), ct, path)
		csp := res.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'self'", path)
		assert.Contains(t, csp, "frame-ancestors 'none'", path)
		assert.NotContains(t, string(body), "http://", "%s loads nothing from elsewhere", path)
		assert.NotContains(t, string(body), "https://", "%s loads nothing from elsewhere", path)
	}
	req, err := http.NewRequest("OPTIONS", ts.URL+"/web/api/v1/auth/refresh", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Equal(t, "https://app.example.com", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
}

// TestWarnInsecureCookies: the server warns about the Secure cookie when
// it listens beyond loopback with the page on, and only then.
func TestWarnInsecureCookies(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		web  bool
		warn bool
	}{
		{"all interfaces", &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, true, true},
		{"a public address", &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 8080}, true, true},
		{"IPv4 loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, true, false},
		{"IPv6 loopback", &net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, true, false},
		{"page off", &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			warnInsecureCookies(tt.addr, tt.web, slog.New(slog.NewTextHandler(&buf, nil)))
			assert.Equal(t, tt.warn, strings.Contains(buf.String(), "HTTPS"), buf.String())
		})
	}
}
