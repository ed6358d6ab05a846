package auth_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
)

func TestPasskeyConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}

	t.Run("unset turns passkeys off", func(t *testing.T) {
		cfg, err := auth.PasskeyConfigFromEnv(env())
		require.NoError(t, err)
		assert.Zero(t, cfg)
		cfg, err = auth.PasskeyConfigFromEnv(env("WEBAUTHN_RP_NAME", "Example"))
		require.NoError(t, err)
		assert.Equal(t, auth.PasskeyConfig{RPName: "Example"}, cfg, "off, with the name for a default relying party")
	})
	t.Run("origins without an id", func(t *testing.T) {
		_, err := auth.PasskeyConfigFromEnv(env("WEBAUTHN_ORIGINS", "https://example.com"))
		var envErr *auth.EnvError
		require.ErrorAs(t, err, &envErr)
		assert.Equal(t, "WEBAUTHN_RP_ID", envErr.Name)
	})

	t.Run("a relying party and its origins", func(t *testing.T) {
		cfg, err := auth.PasskeyConfigFromEnv(env(
			"WEBAUTHN_RP_ID", "example.com",
			"WEBAUTHN_RP_NAME", "Example",
			"WEBAUTHN_ORIGINS", " https://example.com , https://app.example.com:8443 ",
		))
		require.NoError(t, err)
		assert.Equal(t, auth.PasskeyConfig{RPID: "example.com", RPName: "Example",
			Origins: []string{"https://example.com", "https://app.example.com:8443"}}, cfg)
	})

	t.Run("localhost over http", func(t *testing.T) {
		cfg, err := auth.PasskeyConfigFromEnv(env("WEBAUTHN_RP_ID", "localhost", "WEBAUTHN_ORIGINS", "http://localhost:8080"))
		require.NoError(t, err)
		assert.Equal(t, []string{"http://localhost:8080"}, cfg.Origins)
	})

	for _, tc := range []struct {
		name, rpID, origins, variable, reason string
	}{
		{"no origin", "example.com", "", "WEBAUTHN_ORIGINS", "at least one origin"},
		{"an origin of another site", "example.com", "https://example.org", "WEBAUTHN_ORIGINS", "does not belong"},
		{"a look-alike suffix", "example.com", "https://badexample.com", "WEBAUTHN_ORIGINS", "does not belong"},
		{"the parent of the relying party", "app.example.com", "https://example.com", "WEBAUTHN_ORIGINS", "does not belong"},
		{"http beyond localhost", "example.com", "http://example.com", "WEBAUTHN_ORIGINS", "must be https"},
		{"an origin with a path", "example.com", "https://example.com/app", "WEBAUTHN_ORIGINS", "scheme://host"},
		{"an origin without a scheme", "example.com", "example.com", "WEBAUTHN_ORIGINS", "scheme://host"},
		{"a relying party with a scheme", "https://example.com", "https://example.com", "WEBAUTHN_RP_ID", "domain name"},
		{"a relying party with a port", "example.com:443", "https://example.com", "WEBAUTHN_RP_ID", "domain name"},
		{"an IP address", "192.0.2.1", "https://192.0.2.1", "WEBAUTHN_RP_ID", "domain name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.PasskeyConfigFromEnv(env("WEBAUTHN_RP_ID", tc.rpID, "WEBAUTHN_ORIGINS", tc.origins))
			var envErr *auth.EnvError
			require.True(t, errors.As(err, &envErr), "err = %v", err)
			assert.Equal(t, tc.variable, envErr.Name)
			assert.Contains(t, envErr.Reason, tc.reason)
		})
	}

	t.Run("ConfigFromEnv reads them and refuses a mismatch", func(t *testing.T) {
		base := []string{"JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef0123456789abcdef"}
		cfg, err := auth.ConfigFromEnv(env(append(base, "WEBAUTHN_RP_ID", "localhost", "WEBAUTHN_ORIGINS", "http://localhost:8080")...))
		require.NoError(t, err)
		assert.Equal(t, "localhost", cfg.Passkeys.RPID)
		_, err = auth.ConfigFromEnv(env(append(base, "WEBAUTHN_RP_ID", "example.com", "WEBAUTHN_ORIGINS", "https://example.org")...))
		var envErr *auth.EnvError
		require.True(t, errors.As(err, &envErr), "err = %v", err)
		assert.Equal(t, "WEBAUTHN_ORIGINS", envErr.Name)
	})
}
