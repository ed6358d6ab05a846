package httpauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/httpauth"
)

// canary is a value that must never come back in an error.
const canary = "Canary-Value-9"

// jsonEndpoint is an endpoint with a JSON body and its members, all
// required, in order.
type jsonEndpoint struct {
	path   string
	fields []string
	bearer bool
}

func jsonEndpoints() []jsonEndpoint {
	return []jsonEndpoint{
		{path: "/auth/register", fields: []string{"username", "email", "password"}},
		{path: "/auth/login", fields: []string{"username", "password"}},
		{path: "/auth/verify-email", fields: []string{"email", "code"}},
		{path: "/auth/resend-verification", fields: []string{"email"}},
		{path: "/auth/refresh", fields: []string{"refresh_token"}},
		{path: "/auth/logout", fields: []string{"refresh_token"}},
		{path: "/auth/forgot-password", fields: []string{"email"}},
		{path: "/auth/reset-password", fields: []string{"email", "code", "new_password"}},
		{path: "/auth/change-password", fields: []string{"current_password", "new_password"}, bearer: true},
	}
}

// object writes a JSON object of the members, each with the canary value.
func object(members ...string) string {
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = `"` + m + `":"` + canary + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestStrictJSON is SECURITY.md case 23 against every JSON endpoint.
func TestStrictJSON(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}})
	f.verifiedUser(t, "strict")
	tok := f.login(t, "strict")

	type strictCase struct {
		name       string
		body       string
		ct         string
		wantStatus int
		wantCode   string
		wantField  string // the field named in errors[0], if any
		wantFCode  string
	}
	for _, ep := range jsonEndpoints() {
		first, last := ep.fields[0], ep.fields[len(ep.fields)-1]
		valid := object(ep.fields...)
		inner := strings.TrimSuffix(valid, "}")
		cases := []strictCase{
			{name: "malformed", body: `{"` + first + `":`, wantStatus: 400, wantCode: "bad_request"},
			{name: "not JSON", body: `hello`, wantStatus: 400, wantCode: "bad_request"},
			{name: "array", body: `[` + valid + `]`, wantStatus: 400, wantCode: "bad_request"},
			{name: "string", body: `"` + canary + `"`, wantStatus: 400, wantCode: "bad_request"},
			{name: "null", body: `null`, wantStatus: 400, wantCode: "bad_request"},
			{name: "empty body", body: ``, ct: "application/json", wantStatus: 400, wantCode: "bad_request"},
			{name: "whitespace body", body: "  \n", wantStatus: 400, wantCode: "bad_request"},
			{name: "trailing object", body: valid + `{}`, wantStatus: 400, wantCode: "bad_request"},
			{name: "trailing garbage", body: valid + ` x`, wantStatus: 400, wantCode: "bad_request"},
			{name: "second object", body: valid + valid, wantStatus: 400, wantCode: "bad_request"},
			{name: "unknown field", body: inner + `,"is_superuser":"true"}`, wantStatus: 400, wantCode: "bad_request", wantField: "is_superuser", wantFCode: "unknown_field"},
			{name: "duplicate field", body: inner + `,"` + first + `":"x"}`, wantStatus: 400, wantCode: "bad_request", wantField: first, wantFCode: "duplicate_field"},
			{name: "field in upper case", body: strings.Replace(valid, `"`+first+`"`, `"`+strings.ToUpper(first)+`"`, 1), wantStatus: 400, wantCode: "bad_request", wantField: strings.ToUpper(first), wantFCode: "unknown_field"},
			{name: "field in title case", body: strings.Replace(valid, `"`+first+`"`, `"`+strings.ToUpper(first[:1])+first[1:]+`"`, 1), wantStatus: 400, wantCode: "bad_request", wantFCode: "unknown_field"},
			{name: "list for a string", body: strings.Replace(valid, `"`+canary+`"`, `["`+canary+`"]`, 1), wantStatus: 400, wantCode: "bad_request", wantField: first, wantFCode: "invalid_type"},
			{name: "number for a string", body: strings.Replace(valid, `"`+canary+`"`, `12345`, 1), wantStatus: 400, wantCode: "bad_request", wantField: first, wantFCode: "invalid_type"},
			{name: "object for a string", body: strings.Replace(valid, `"`+canary+`"`, `{"a":"b"}`, 1), wantStatus: 400, wantCode: "bad_request", wantField: first, wantFCode: "invalid_type"},
			{name: "bool for a string", body: strings.Replace(valid, `"`+canary+`"`, `true`, 1), wantStatus: 400, wantCode: "bad_request", wantField: first, wantFCode: "invalid_type"},
			{name: "null for a required string", body: strings.Replace(valid, `"`+canary+`"`, `null`, 1), wantStatus: 400, wantCode: "bad_request", wantField: first, wantFCode: "invalid_type"},
			{name: "missing field", body: object(ep.fields[:len(ep.fields)-1]...), wantStatus: 400, wantCode: "bad_request", wantField: last, wantFCode: "required"},
			{name: "empty object", body: `{}`, wantStatus: 400, wantCode: "bad_request", wantField: first, wantFCode: "required"},
			{name: "invalid UTF-8", body: strings.Replace(valid, canary, "a\xffb", 1), wantStatus: 400, wantCode: "bad_request"},
			{name: "text/plain", body: valid, ct: "text/plain", wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "form", body: "a=b", ct: "application/x-www-form-urlencoded", wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "other charset", body: valid, ct: "application/json; charset=latin1", wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "bad media type", body: valid, ct: "application/json; ===", wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "json-ish type", body: valid, ct: "application/jsonx", wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "too large", body: `{"` + first + `":"` + strings.Repeat("a", 16<<10) + `"}`, wantStatus: 413, wantCode: "payload_too_large"},
		}
		if ep.path == "/auth/login" {
			// Login also takes a form: its form case is not a 415.
			cases = append(cases[:23], cases[24:]...)
		}
		for _, tc := range cases {
			t.Run(ep.path+"/"+tc.name, func(t *testing.T) {
				r := req{method: "POST", path: prefix + ep.path, body: tc.body, contentType: tc.ct}
				if ep.bearer {
					r.bearer = tok.AccessToken
				}
				res := f.do(t, r)
				p := res.problem(t, tc.wantStatus, tc.wantCode)
				assert.NotContains(t, string(res.body), canary, "a value is echoed")
				if tc.wantFCode != "" {
					require.Len(t, p.Errors, 1)
					assert.Equal(t, tc.wantFCode, p.Errors[0].Code)
					if tc.wantField != "" {
						assert.Equal(t, tc.wantField, p.Errors[0].Field)
						assert.Contains(t, p.Detail, `"`+tc.wantField+`"`, "the detail names the field")
					}
				}
			})
		}
		t.Run(ep.path+"/no content type", func(t *testing.T) {
			r := req{method: "POST", path: prefix + ep.path}
			if ep.bearer {
				r.bearer = tok.AccessToken
			}
			f.do(t, r).problem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		})
		t.Run(ep.path+"/two content types", func(t *testing.T) {
			r := req{method: "POST", path: prefix + ep.path, body: valid, header: http.Header{"Content-Type": {"application/json"}}}
			if ep.bearer {
				r.bearer = tok.AccessToken
			}
			f.do(t, r).problem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		})
		t.Run(ep.path+"/valid framing passes", func(t *testing.T) {
			// The same members, well framed, with a charset parameter and
			// white space: not a framing error (the flow may still refuse).
			r := req{method: "POST", path: prefix + ep.path, body: " \n" + valid + "\n ", contentType: "application/json; charset=UTF-8"}
			if ep.bearer {
				r.bearer = tok.AccessToken
			}
			res := f.do(t, r)
			if res.status == http.StatusBadRequest {
				res.problem(t, http.StatusBadRequest, "invalid_code") // the flow's answer
				return
			}
			assert.NotContains(t, []int{413, 415}, res.status, "body: %s", res.body)
		})
	}
}

// TestLongFieldName: an unknown member with a huge name is named in the
// error, but cut.
func TestLongFieldName(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	name := strings.Repeat("n", 1000)
	res := f.post(t, "/auth/login", `{"`+name+`":"x","username":"u","password":"p"}`)
	p := res.problem(t, http.StatusBadRequest, "bad_request")
	require.Len(t, p.Errors, 1)
	assert.Equal(t, strings.Repeat("n", 64)+"…", p.Errors[0].Field)
	assert.NotContains(t, string(res.body), strings.Repeat("n", 65))
}

// TestTooLargeWithoutLength: a chunked body (no Content-Length) over the
// limit is cut by the reader, and a smaller limit is honoured.
func TestTooLargeWithoutLength(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{MaxBodyBytes: 64}})
	r := f.newRequest(req{method: "POST", path: prefix + "/auth/login", body: `{"username":"` + strings.Repeat("a", 100) + `","password":"x"}`})
	r.ContentLength = -1
	rec := httptestRecorder()
	f.h.ServeHTTP(rec, r)
	res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	res.problem(t, http.StatusRequestEntityTooLarge, "payload_too_large")

	// Within the limit: no 413.
	f.post(t, "/auth/login", `{"username":"a","password":"b"}`).problem(t, http.StatusUnauthorized, "invalid_credentials")
}

func TestLoginForm(t *testing.T) {
	f := newFixture(t, fixtureOpts{opts: httpauth.Options{DisableIPLimit: true}})
	f.verifiedUser(t, "formy")
	const ct = "application/x-www-form-urlencoded"
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
		wantFCode  string
	}{
		{"ok", url.Values{"username": {"formy"}, "password": {strongPW}}.Encode(), 200, "", ""},
		{"oauth2 extras ignored", url.Values{"username": {"formy"}, "password": {strongPW}, "grant_type": {"password"}, "scope": {"a b"}, "client_id": {"c"}, "client_secret": {"s"}}.Encode(), 200, "", ""},
		{"wrong password", url.Values{"username": {"formy"}, "password": {canary}}.Encode(), 401, "invalid_credentials", ""},
		{"field twice", "username=formy&password=" + url.QueryEscape(strongPW) + "&password=" + canary, 400, "bad_request", "duplicate_field"},
		{"unknown field", url.Values{"username": {"formy"}, "password": {strongPW}, "admin": {"1"}}.Encode(), 400, "bad_request", "unknown_field"},
		{"field in upper case", url.Values{"USERNAME": {"formy"}, "password": {strongPW}}.Encode(), 400, "bad_request", "unknown_field"},
		{"other grant", url.Values{"username": {"formy"}, "password": {strongPW}, "grant_type": {"client_credentials"}}.Encode(), 400, "bad_request", "invalid_type"},
		{"missing password", url.Values{"username": {"formy"}}.Encode(), 400, "bad_request", "required"},
		{"malformed escape", "username=formy&password=%zz", 400, "bad_request", ""},
		{"semicolon", "username=formy;password=x", 400, "bad_request", ""},
		{"invalid UTF-8", "username=formy&password=%ff", 400, "bad_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(t, req{method: "POST", path: prefix + "/auth/login", body: tt.body, contentType: ct})
			if tt.wantStatus == 200 {
				var tok tokenBody
				res.json(t, http.StatusOK, &tok)
				assert.NotEmpty(t, tok.AccessToken)
				return
			}
			p := res.problem(t, tt.wantStatus, tt.wantCode)
			assert.NotContains(t, string(res.body), canary)
			if tt.wantFCode != "" {
				require.Len(t, p.Errors, 1)
				assert.Equal(t, tt.wantFCode, p.Errors[0].Code)
			}
		})
	}
}

// TestLoginDeviceFields: optional members may be null; the device name and
// type are cut to 256 characters.
func TestLoginDeviceFields(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.verifiedUser(t, "devy")
	long := strings.Repeat("ü", 300)
	var tok tokenBody
	f.post(t, "/auth/login", `{"username":"devy","password":"`+strongPW+`","device_name":"`+long+`","device_type":null}`).json(t, http.StatusOK, &tok)
	var devs []deviceBody
	f.do(t, req{method: "GET", path: prefix + "/auth/devices", bearer: tok.AccessToken,
		header: http.Header{"User-Agent": {"curl/8.5.0"}}}).json(t, http.StatusOK, &devs)
	require.Len(t, devs, 1)
	assert.Equal(t, strings.Repeat("ü", 256), devs[0].DeviceName)
	assert.Equal(t, "unknown", devs[0].DeviceType, "null device_type: derived from the User-Agent")

	// null and then a value is still a repeated member.
	f.post(t, "/auth/login", `{"username":"devy","password":"`+strongPW+`","device_name":null,"device_name":"x"}`).
		problem(t, http.StatusBadRequest, "bad_request")

	// A long User-Agent is cut too.
	f.clock.Advance(time.Minute)
	f.do(t, req{method: "POST", path: prefix + "/auth/login", body: `{"username":"devy","password":"` + strongPW + `"}`,
		header: http.Header{"User-Agent": {strings.Repeat("ß", 1000)}}}).json(t, http.StatusOK, &tok)
	f.do(t, req{method: "GET", path: prefix + "/auth/devices", bearer: tok.AccessToken}).json(t, http.StatusOK, &devs)
	require.Len(t, devs, 2)
	assert.Equal(t, strings.Repeat("ß", 256), devs[1].UserAgent)
	assert.Equal(t, "Unknown device", devs[1].DeviceName)
}
