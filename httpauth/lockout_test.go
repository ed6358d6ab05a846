package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
)

// TestLoginLimitsPerNetwork: failed logins are limited per client network,
// an IPv6 client by its /64, and a device token from an earlier login
// gets the owner through the account-wide ceiling.
func TestLoginLimitsPerNetwork(t *testing.T) {
	f := newFixture(t, fixtureOpts{
		opts:   httpauth.Options{DisableIPLimit: true},
		mutate: func(c *auth.Config) { c.LoginFailuresPerHour = 7 },
	})
	f.verifiedUser(t, "alice")
	login := func(addr, pw, deviceToken string) result {
		body := `{"username":"alice","password":"` + pw + `"`
		if deviceToken != "" {
			body += `,"device_token":"` + deviceToken + `"`
		}
		return f.do(t, req{method: "POST", path: prefix + "/auth/login", body: body + "}", remoteAddr: addr})
	}

	for i := range 5 {
		// Five addresses of one /64: one client.
		addr := "[2001:db8:1:2::" + string(rune('a'+i)) + "]:1234"
		login(addr, "Wrong-Password-1", "").problem(t, http.StatusUnauthorized, "invalid_credentials")
	}
	login("[2001:db8:1:2:ffff::1]:1234", "Wrong-Password-1", "").problem(t, http.StatusTooManyRequests, "rate_limited")

	var tok tokenBody
	login("[2001:db8:9::1]:1234", strongPW, "").json(t, http.StatusOK, &tok)
	assert.NotEmpty(t, tok.DeviceToken, "a login hands out a device token")

	// Two more failures elsewhere reach the ceiling of 7 for "alice".
	login("192.0.2.1:1234", "Wrong-Password-1", "").problem(t, http.StatusUnauthorized, "invalid_credentials")
	login("192.0.2.2:1234", "Wrong-Password-1", "").problem(t, http.StatusUnauthorized, "invalid_credentials")
	login("198.51.100.1:1234", strongPW, "").problem(t, http.StatusTooManyRequests, "rate_limited")
	login("198.51.100.1:1234", strongPW, tok.DeviceToken).json(t, http.StatusOK, &tokenBody{})

	form := f.do(t, req{method: "POST", path: prefix + "/auth/login", contentType: "application/x-www-form-urlencoded",
		body: "username=alice&password=" + strongPW + "&device_token=" + tok.DeviceToken, remoteAddr: "198.51.100.1:1234"})
	form.json(t, http.StatusOK, &tokenBody{})
}
