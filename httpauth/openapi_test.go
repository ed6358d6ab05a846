package httpauth_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
)

// openAPIDir, when set, is where TestOpenAPIDocuments writes the documents
// it checks (complete.json, cookies.json and basic.json), for a linter to
// read:
//
//	go test ./httpauth -run '^TestOpenAPIDocuments$' -args -openapi.dir=DIR
var openAPIDir = flag.String("openapi.dir", "", "write the Complete and the Basic OpenAPI documents to this directory")

// TestOpenAPIDocuments checks what a linter asks of the served documents,
// in both modes: every operation states its security (an empty list for
// the public ones) and documents a 4xx answer, and every component is used.
func TestOpenAPIDocuments(t *testing.T) {
	for _, mode := range []struct {
		name    string
		basic   bool
		cookies bool
		mfa     bool // the Complete document with every path, the second factor's too
		public  []string
	}{
		{"complete", false, false, true, []string{
			"POST /auth/register", "POST /auth/login", "POST /auth/verify-email", "POST /auth/resend-verification",
			"POST /auth/refresh", "POST /auth/logout", "POST /auth/forgot-password", "POST /auth/reset-password",
			"POST /auth/mfa/verify", "GET /auth/jwks.json", "GET /openapi.json",
			"GET /auth/oauth/providers", "GET /auth/oauth/{provider}/authorize", "GET /auth/oauth/{provider}/callback",
			"POST /auth/oauth/exchange",
			"POST /auth/passkeys/signup/begin", "POST /auth/passkeys/signup/finish",
			"POST /auth/passkeys/login/begin", "POST /auth/passkeys/login/finish",
		}},
		{"cookies", false, true, false, []string{
			"POST /auth/register", "POST /auth/login", "POST /auth/verify-email", "POST /auth/resend-verification",
			"POST /auth/refresh", "POST /auth/logout", "POST /auth/forgot-password", "POST /auth/reset-password",
			"GET /auth/jwks.json", "GET /openapi.json",
			"GET /auth/oauth/providers", "GET /auth/oauth/{provider}/authorize", "GET /auth/oauth/{provider}/callback",
			"POST /auth/oauth/exchange",
			"POST /auth/passkeys/signup/begin", "POST /auth/passkeys/signup/finish",
			"POST /auth/passkeys/login/begin", "POST /auth/passkeys/login/finish",
		}},
		{"basic", true, false, false, []string{"POST /auth/register", "POST /auth/login", "GET /auth/jwks.json", "GET /openapi.json"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			// With every optional feature on, so that the documents hold
			// every operation the mode can serve.
			// A key pair, so that the key set is served and documented.
			keys := withKeyPair(t, "EdDSA")
			passkeys := func(c *auth.Config) {
				if !mode.basic {
					c.Passkeys = auth.PasskeyConfig{RPID: "localhost", Origins: []string{passkeyOrigin}}
				}
			}
			fo := fixtureOpts{basic: mode.basic, mutate: func(c *auth.Config) { lifecycleOn(c); keys(c); passkeys(c) }}
			if mode.cookies {
				fo.opts.Cookies = &httpauth.CookieOptions{}
			}
			if mode.mfa {
				fo.mutate = func(c *auth.Config) {
					mfaOn(c)
					lifecycleOn(c)
					keys(c)
					passkeys(c)
					c.MFAKey = []byte("an MFA key of exactly 32 bytes!!")
				}
			}
			f := newFixture(t, fo)
			res := f.do(t, req{method: "GET", path: prefix + "/openapi.json"})
			require.Equal(t, http.StatusOK, res.status)
			if *openAPIDir != "" {
				require.NoError(t, os.WriteFile(filepath.Join(*openAPIDir, mode.name+".json"), res.body, 0o644))
			}
			var doc struct {
				Paths      map[string]map[string]json.RawMessage `json:"paths"`
				Components map[string]map[string]json.RawMessage `json:"components"`
			}
			require.NoError(t, json.Unmarshal(res.body, &doc))

			var public []string
			for path, item := range doc.Paths {
				for method, raw := range item {
					switch method {
					case "get", "put", "post", "delete", "options", "head", "patch", "trace":
					default:
						continue // parameters, summary: not an operation
					}
					var op struct {
						Security  *[]map[string][]string     `json:"security"`
						Responses map[string]json.RawMessage `json:"responses"`
					}
					require.NoError(t, json.Unmarshal(raw, &op))
					name := strings.ToUpper(method) + " " + path
					if assert.NotNil(t, op.Security, "%s states no security", name) && len(*op.Security) == 0 {
						public = append(public, name)
					}
					has4xx := false
					for code := range op.Responses {
						has4xx = has4xx || strings.HasPrefix(code, "4")
					}
					assert.True(t, has4xx, "%s documents no 4xx answer", name)
				}
			}
			sort.Strings(public)
			want := append([]string(nil), mode.public...)
			sort.Strings(want)
			assert.Equal(t, want, public, "the operations without authentication")

			used := usedComponents(t, res.body)
			for kind, items := range doc.Components {
				for name := range items {
					assert.True(t, used[kind+"/"+name], "components/%s/%s is not used", kind, name)
				}
			}

		})
	}
}

// usedComponents lists the components ("schemas/User") that a document's
// references name, and the security schemes its requirements name.
func usedComponents(tb testing.TB, body []byte) map[string]bool {
	tb.Helper()
	var v any
	require.NoError(tb, json.Unmarshal(body, &v))
	used := map[string]bool{}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					used[strings.TrimPrefix(s, "#/components/")] = true
				}
				walk(x, k)
			}
		case []any:
			for _, x := range v {
				if req, ok := x.(map[string]any); ok && key == "security" {
					for scheme := range req {
						used["securitySchemes/"+scheme] = true
					}
				}
				walk(x, "")
			}
		}
	}
	walk(v, "")
	return used
}
