package main

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
)

func TestPasskeyDefaults(t *testing.T) {
	listening := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9123}
	tests := []struct {
		name      string
		cfg       auth.PasskeyConfig
		env       map[string]string
		addr      net.Addr
		want      auth.PasskeyConfig
		defaulted bool
	}{
		{
			name:      "nothing set: localhost at the listening port",
			addr:      listening,
			want:      auth.PasskeyConfig{RPID: "localhost", Origins: []string{"http://localhost:9123"}},
			defaulted: true,
		},
		{
			name:      "no port known",
			want:      auth.PasskeyConfig{RPID: "localhost", Origins: []string{"http://localhost:8080"}},
			defaulted: true,
		},
		{
			name:      "the name is kept",
			env:       map[string]string{"WEBAUTHN_RP_NAME": "Acme"},
			addr:      listening,
			want:      auth.PasskeyConfig{RPName: "Acme", RPID: "localhost", Origins: []string{"http://localhost:9123"}},
			defaulted: true,
		},
		{
			name:      "PUBLIC_URL with a host name",
			env:       map[string]string{"PUBLIC_URL": "https://Auth.Example.com/"},
			addr:      listening,
			want:      auth.PasskeyConfig{RPID: "auth.example.com", Origins: []string{"https://auth.example.com"}},
			defaulted: true,
		},
		{
			name:      "PUBLIC_URL with a port",
			env:       map[string]string{"PUBLIC_URL": "https://dev.example.test:8443"},
			addr:      listening,
			want:      auth.PasskeyConfig{RPID: "dev.example.test", Origins: []string{"https://dev.example.test:8443"}},
			defaulted: true,
		},
		{
			name:      "PUBLIC_URL over http beyond localhost is no relying party",
			env:       map[string]string{"PUBLIC_URL": "http://dev.example.test:8443"},
			addr:      listening,
			want:      auth.PasskeyConfig{RPID: "localhost", Origins: []string{"http://localhost:9123"}},
			defaulted: true,
		},
		{
			name:      "PUBLIC_URL at localhost over http",
			env:       map[string]string{"PUBLIC_URL": "http://app.localhost:3000"},
			addr:      listening,
			want:      auth.PasskeyConfig{RPID: "app.localhost", Origins: []string{"http://app.localhost:3000"}},
			defaulted: true,
		},
		{
			name:      "PUBLIC_URL with the default port",
			env:       map[string]string{"PUBLIC_URL": "https://auth.example.com:443"},
			want:      auth.PasskeyConfig{RPID: "auth.example.com", Origins: []string{"https://auth.example.com"}},
			defaulted: true,
		},
		{
			name:      "PUBLIC_URL with an IP address is no relying party",
			env:       map[string]string{"PUBLIC_URL": "http://127.0.0.1:9123"},
			addr:      listening,
			want:      auth.PasskeyConfig{RPID: "localhost", Origins: []string{"http://localhost:9123"}},
			defaulted: true,
		},
		{
			name: "set relying party ID",
			cfg:  auth.PasskeyConfig{RPID: "example.com", Origins: []string{"https://example.com"}},
			env:  map[string]string{"PUBLIC_URL": "https://other.example.org"},
			addr: listening,
			want: auth.PasskeyConfig{RPID: "example.com", Origins: []string{"https://example.com"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from := passkeyDefaults(tt.cfg, envOf(tt.env), tt.addr)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.defaulted, from != "", from)
		})
	}
}

// TestPasskeySettingsErrors: a bad relying party stops the server at
// start with an error naming the variable.
func TestPasskeySettingsErrors(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"origins without an id":  {"WEBAUTHN_ORIGINS": "https://example.com"},
		"origin of another site": {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://example.org"},
		"IP address as the id":   {"WEBAUTHN_RP_ID": "127.0.0.1", "WEBAUTHN_ORIGINS": "http://127.0.0.1:8080"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := runErr(t, envOf(fastHashing, map[string]string{
				"DATABASE_URL": "memory", "JWT_SECRET_KEY": testSecret,
			}, env))
			var envErr *auth.EnvError
			require.ErrorAs(t, err, &envErr)
			assert.Contains(t, envErr.Name, "WEBAUTHN_")
		})
	}
}

// TestPasskeysOff: AUTH_PASSKEYS=false serves no passkey route; a value
// that is not a boolean stops the start.
func TestPasskeysOff(t *testing.T) {
	ts := startWebServer(t, map[string]string{"AUTH_PASSKEYS": "false", "WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_ORIGINS": "http://localhost:8080"})
	res, err := http.Post(ts.URL+"/api/v1/auth/passkeys/login/begin", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	on := startWebServer(t, nil)
	res, err = http.Post(on.URL+"/api/v1/auth/passkeys/login/begin", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "on by default")

	_, err = runErr(t, envOf(fastHashing, map[string]string{"DATABASE_URL": "memory", "JWT_SECRET_KEY": testSecret, "AUTH_PASSKEYS": "maybe"}))
	var envErr *auth.EnvError
	require.ErrorAs(t, err, &envErr)
	assert.Equal(t, "AUTH_PASSKEYS", envErr.Name)
}
