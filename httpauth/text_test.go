package httpauth_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/httpauth"
)

// textEndpoint is an endpoint with a JSON body: its required members and
// its optional ones.
type textEndpoint struct {
	path     string
	required []string
	optional []string
	bearer   bool
}

func textEndpoints() []textEndpoint {
	return []textEndpoint{
		{path: "/auth/register", required: []string{"username", "email", "password"}},
		{path: "/auth/login", required: []string{"username", "password"}, optional: []string{"device_name", "device_type"}},
		{path: "/auth/verify-email", required: []string{"email", "code"}},
		{path: "/auth/resend-verification", required: []string{"email"}},
		{path: "/auth/refresh", required: []string{"refresh_token"}},
		{path: "/auth/logout", required: []string{"refresh_token"}},
		{path: "/auth/forgot-password", required: []string{"email"}},
		{path: "/auth/reset-password", required: []string{"email", "code", "new_password"}},
		{path: "/auth/change-password", required: []string{"current_password", "new_password"}, bearer: true},
	}
}

// TestNotTextRefused: a NUL character, however written, or a lone UTF-16
// surrogate in any string member of any JSON body is a 400 bad_request
// naming the member (invalid_text), before any flow runs: a store such as
// PostgreSQL would otherwise fail on it with a 500.
func TestNotTextRefused(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}})
	f.verifiedUser(t, "texty")
	tok := f.login(t, "texty")

	bad := []struct{ name, json string }{
		{"escaped NUL", `"a\u0000b"`},
		{"escaped NUL alone", `"\u0000"`},
		{"lone high surrogate", `"a\ud800b"`},
		{"lone high surrogate at the end", `"ab\uD83D"`},
		{"lone low surrogate", `"\udc00"`},
		{"high surrogate before a non-surrogate escape", `"\ud800\u0041"`},
		{"high surrogate before another high", `"\ud800\ud800"`},
		{"pair in the wrong order", `"\udc00\ud800"`},
		{"high surrogate after an escaped backslash", `"\\\ud800"`},
	}
	for _, ep := range textEndpoints() {
		for _, member := range append(append([]string{}, ep.required...), ep.optional...) {
			for _, b := range bad {
				t.Run(ep.path+"/"+member+"/"+b.name, func(t *testing.T) {
					parts := make([]string, 0, len(ep.required)+1)
					for _, m := range ep.required {
						if m != member {
							parts = append(parts, `"`+m+`":"`+canary+`"`)
						}
					}
					parts = append(parts, `"`+member+`":`+b.json)
					r := req{method: "POST", path: prefix + ep.path, body: "{" + strings.Join(parts, ",") + "}"}
					if ep.bearer {
						r.bearer = tok.AccessToken
					}
					res := f.do(t, r)
					p := res.problem(t, http.StatusBadRequest, "bad_request")
					require.Len(t, p.Errors, 1, "body: %s", res.body)
					assert.Equal(t, member, p.Errors[0].Field)
					assert.Equal(t, "invalid_text", p.Errors[0].Code)
					assert.Contains(t, p.Detail, `"`+member+`"`)
					assert.NotContains(t, string(res.body), canary)
				})
			}
		}
	}

	// A raw NUL byte or invalid UTF-8 never was JSON text: refused as before.
	for _, body := range []string{"{\"username\":\"a\x00\",\"password\":\"b\"}", "{\"username\":\"a\xff\",\"password\":\"b\"}"} {
		f.post(t, "/auth/login", body).problem(t, http.StatusBadRequest, "bad_request")
	}
}

// TestTextAccepted: what looks like the refused input but is text goes
// through to the flow.
func TestTextAccepted(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}})
	for _, v := range []string{
		`"\ud83d\ude00"`,   // a surrogate pair: one emoji
		`"\uD83D\uDE00"`,   // the same, upper case
		`"\\ud800"`,        // an escaped backslash, then the letters "ud800"
		`"a\u0001b\u00e9"`, // a control character other than NUL is the flow's business
		`"\u2028"`,
	} {
		t.Run(v, func(t *testing.T) {
			res := f.post(t, "/auth/login", `{"username":`+v+`,"password":"Wrong-Horse-7"}`)
			res.problem(t, http.StatusUnauthorized, "invalid_credentials")
		})
	}
	// An emoji in a device name is kept.
	f.verifiedUser(t, "emoji")
	var tok tokenBody
	f.post(t, "/auth/login", `{"username":"emoji","password":"`+strongPW+`","device_name":"phone \ud83d\ude00"}`).json(t, http.StatusOK, &tok)
	var devs []deviceBody
	f.do(t, req{method: "GET", path: prefix + "/auth/devices", bearer: tok.AccessToken}).json(t, http.StatusOK, &devs)
	require.Len(t, devs, 1)
	assert.Equal(t, "phone 😀", devs[0].DeviceName)
}

// TestFormNotTextRefused: the form login refuses a NUL or invalid UTF-8
// in every value, the OAuth2 members it ignores included, naming the field.
func TestFormNotTextRefused(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}})
	const ct = "application/x-www-form-urlencoded"
	members := []string{"username", "password", "device_name", "device_type", "scope", "client_id", "client_secret", "grant_type"}
	for _, member := range members {
		for _, v := range []struct{ name, escaped string }{{"NUL", "a%00b"}, {"invalid UTF-8", "a%ffb"}, {"cut UTF-8", "%c3"}} {
			t.Run(member+"/"+v.name, func(t *testing.T) {
				form := url.Values{}
				for _, m := range []string{"username", "password"} {
					if m != member {
						form.Set(m, canary)
					}
				}
				body := form.Encode() + "&" + member + "=" + v.escaped
				res := f.do(t, req{method: "POST", path: prefix + "/auth/login", body: body, contentType: ct})
				p := res.problem(t, http.StatusBadRequest, "bad_request")
				require.Len(t, p.Errors, 1)
				assert.Equal(t, member, p.Errors[0].Field)
				assert.Equal(t, "invalid_text", p.Errors[0].Code)
				assert.NotContains(t, string(res.body), canary)
			})
		}
	}
	t.Run("a name that is not text", func(t *testing.T) {
		p := f.do(t, req{method: "POST", path: prefix + "/auth/login", body: "user%00name=a&password=b", contentType: ct}).
			problem(t, http.StatusBadRequest, "bad_request")
		assert.Empty(t, p.Errors)
	})
}

// TestDeviceIDNotText: a device id that is not text names no device: 404,
// without asking the store (which, being PostgreSQL, would fail on it; the
// fault stands for that failure).
func TestDeviceIDNotText(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "ids")
	tok := f.login(t, "ids")
	f.store.setFault("RevokeFamily", errors.New("pq: invalid byte sequence for encoding \"UTF8\": 0x00"))
	for _, id := range []string{"%00", "a%00b", "%ff", "a%c3"} {
		t.Run(id, func(t *testing.T) {
			f.do(t, req{method: "DELETE", path: prefix + "/auth/devices/" + id, bearer: tok.AccessToken}).
				problem(t, http.StatusNotFound, "not_found")
		})
	}
	// The fault is real: a text id reaches the store.
	f.do(t, req{method: "DELETE", path: prefix + "/auth/devices/abc", bearer: tok.AccessToken}).
		problem(t, http.StatusInternalServerError, "internal")
}

// TestUserAgentSanitised: a User-Agent with control characters or invalid
// UTF-8 is not refused (clients do not choose it), but kept cleaned: the
// control characters dropped, invalid bytes replaced by U+FFFD.
func TestUserAgentSanitised(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "agent")
	var tok tokenBody
	f.do(t, req{method: "POST", path: prefix + "/auth/login", body: `{"username":"agent","password":"` + strongPW + `"}`,
		header: http.Header{"User-Agent": {"curl/8.5.0\x00\x01 \xff\xfe\r\nX"}}}).json(t, http.StatusOK, &tok)
	var devs []deviceBody
	f.do(t, req{method: "GET", path: prefix + "/auth/devices", bearer: tok.AccessToken}).json(t, http.StatusOK, &devs)
	require.Len(t, devs, 1)
	assert.Equal(t, "curl/8.5.0 \uFFFDX", devs[0].UserAgent)
	assert.Equal(t, "curl", devs[0].DeviceName)
}
