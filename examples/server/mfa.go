package main

import (
	"strings"

	"github.com/forgeauth/forgeauth/auth"
)

// mfaDefault decides the second factor (TOTP and recovery codes) when
// AUTH_MFA is not set. It is on when the key that seals the TOTP secrets
// outlives a restart of the server: AUTH_MFA_KEY is set, or, with an HMAC
// algorithm, the key is derived from a JWT_SECRET_KEY given in the
// environment, or from one made up at start over a database that ends with
// the process too (memory). Otherwise it is off: after a restart with a
// new random secret every sealed secret would stop opening, and each user
// who turned TOTP on could no longer finish a sign-in until the operator
// ran mfa-disable. madeUpSecret reports that run made JWT_SECRET_KEY up.
// When off, the string says why, for the log.
func mfaDefault(getenv func(string) string, madeUpSecret bool, db database) (bool, string) {
	switch {
	case strings.TrimSpace(getenv("AUTH_MFA_KEY")) != "":
		return true, ""
	case auth.Asymmetric(strings.TrimSpace(getenv("JWT_ALGORITHM"))):
		return false, "two-step verification (TOTP) is off: with a key pair it needs AUTH_MFA_KEY, the key that seals the TOTP secrets"
	case !madeUpSecret || db.Kind == dbMemory:
		return true, ""
	}
	return false, "two-step verification (TOTP) is off: its secrets are sealed with a key derived from JWT_SECRET_KEY, and a random one would not open them after a restart; set JWT_SECRET_KEY or AUTH_MFA_KEY to turn it on"
}
