package benchsrv

import (
	"errors"
	"fmt"
)

// The defaults of [Settings] and the shape of the measured route.
const (
	// DefaultIssuer is the iss of the tokens when Settings.Issuer is empty.
	DefaultIssuer = "forgeauth-bench"
	// DefaultAudience is the aud of the tokens when Settings.Audience is
	// empty.
	DefaultAudience = "forgeauth-bench-api"
	// MePath is the route every server answers with the user JSON.
	MePath = "/api/v1/users/me"
	// MinSecretBytes is the shortest HS256 secret accepted (RFC 7518 §3.2).
	MinSecretBytes = 32
)

// ErrWeakSecret is returned, wrapped, by the constructors and
// [SettingsFromEnv] when the HS256 secret is shorter than [MinSecretBytes].
var ErrWeakSecret = errors.New("benchsrv: the JWT secret must be at least 32 bytes")

// Settings are shared by the forgeauth and jwtauth servers, so that a token
// issued by one verifies in the other. The zero value lacks the secret; the
// empty Issuer and Audience mean [DefaultIssuer] and [DefaultAudience].
type Settings struct {
	// Secret is the raw HS256 key, at least 32 bytes.
	Secret []byte
	// Issuer is the iss written and required.
	Issuer string
	// Audience is the aud written and required.
	Audience string
}

// SettingsFromEnv reads JWT_SECRET_KEY (raw bytes, required), JWT_ISSUER and
// JWT_AUDIENCE through getenv (nil is not allowed). It returns an error
// wrapping [ErrWeakSecret] when the secret is missing or short.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	return Settings{
		Secret:   []byte(getenv("JWT_SECRET_KEY")),
		Issuer:   getenv("JWT_ISSUER"),
		Audience: getenv("JWT_AUDIENCE"),
	}.complete()
}

// complete checks the secret and fills in the defaults.
func (s Settings) complete() (Settings, error) {
	if len(s.Secret) < MinSecretBytes {
		return Settings{}, fmt.Errorf("%w (got %d)", ErrWeakSecret, len(s.Secret))
	}
	if s.Issuer == "" {
		s.Issuer = DefaultIssuer
	}
	if s.Audience == "" {
		s.Audience = DefaultAudience
	}
	return s, nil
}
