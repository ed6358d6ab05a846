package httpauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/internal/fakeauthn"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// The fuzz targets post fuzzed bytes to the real handler, as a client
// would, and check the answer only against the contract: no panic, never a
// 500, a status that the handler's own OpenAPI document lists for the
// operation, errors as problem documents that agree with the status, and
// successes as JSON (or an empty 204). Seeds are valid bodies and the
// malformed bodies of SECURITY.md case 23; testdata/fuzz/<target> keeps a
// few more.

const (
	fuzzPrefix   = "/api/v1"
	fuzzUser     = "fuzzer"
	fuzzEmail    = "fuzzer@example.com"
	fuzzPassword = "Correct-Horse-7"
	fuzzJSON     = "application/json"
	fuzzForm     = "application/x-www-form-urlencoded"
)

// fuzzTarget is a Complete-mode handler on a memstore with one verified
// user signed in. The per-IP and failed-login limits are off and the clock
// stands still, so that fuzzing reaches the flows rather than a 429 or an
// expired token.
type fuzzTarget struct {
	h        *httpauth.Handler
	access   string
	refresh  string
	statuses map[string]map[int]bool // "POST /auth/login" -> the documented statuses
}

func newFuzzTarget(tb testing.TB) *fuzzTarget {
	tb.Helper()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	params := authtest.Params()
	st := memstore.New()
	hash, err := password.Hash(fuzzPassword, params, nil)
	if err != nil {
		tb.Fatal(err)
	}
	err = st.CreateUser(context.Background(), store.User{
		ID: "fuzz-user", Username: fuzzUser, Email: fuzzEmail, HashedPassword: hash,
		IsActive: true, IsVerified: true, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := auth.New(auth.Config{
		Store:            st,
		Mailer:           mailer.Func(func(context.Context, mailer.Message) error { return nil }),
		Token:            token.Config{Secret: []byte("fuzz-secret-0123456789abcdef0123")},
		Password:         password.HasherConfig{Params: params},
		LoginMaxFailures: -1,
		Passkeys:         auth.PasskeyConfig{RPID: "localhost", Origins: []string{"http://localhost:8080"}},
		Now:              func() time.Time { return now },
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	})
	h, err := httpauth.New(svc, httpauth.Options{DisableIPLimit: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	ft := &fuzzTarget{h: h, statuses: documentedStatuses(tb, h)}

	w := ft.serve("POST", "/auth/login", fuzzJSON, "",
		[]byte(`{"username":"`+fuzzUser+`","password":"`+fuzzPassword+`"}`))
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &tok) != nil {
		tb.Fatalf("login: %d %s", w.Code, w.Body)
	}
	ft.access, ft.refresh = tok.AccessToken, tok.RefreshToken
	return ft
}

// documentedStatuses reads the statuses of every operation from the
// handler's own OpenAPI document.
func documentedStatuses(tb testing.TB, h http.Handler) map[string]map[int]bool {
	tb.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", fuzzPrefix+"/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		tb.Fatalf("the OpenAPI document: %v", err)
	}
	out := map[string]map[int]bool{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			var op struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if json.Unmarshal(raw, &op) != nil || op.Responses == nil {
				continue
			}
			set := map[int]bool{}
			for code := range op.Responses {
				if n, err := strconv.Atoi(code); err == nil {
					set[n] = true
				}
			}
			out[strings.ToUpper(method)+" "+path] = set
		}
	}
	return out
}

func (ft *fuzzTarget) serve(method, path, contentType, bearer string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, fuzzPrefix+path, bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	ft.h.ServeHTTP(w, r)
	return w
}

// check posts body to path and checks the answer against the contract.
func (ft *fuzzTarget) check(t *testing.T, path, contentType, bearer string, body []byte) {
	t.Helper()
	w := ft.serve("POST", path, contentType, bearer, body)
	status := w.Code
	documented := ft.statuses["POST "+path]
	switch {
	case documented == nil:
		t.Fatalf("POST %s is not in the OpenAPI document", path)
	case status == http.StatusInternalServerError:
		t.Fatalf("POST %s answered 500 to %q: %s", path, body, w.Body)
	case !documented[status]:
		t.Fatalf("POST %s answered %d, which its documentation does not list, to %q: %s", path, status, body, w.Body)
	}
	ct := w.Header().Get("Content-Type")
	switch {
	case status >= 400:
		if ct != "application/problem+json" {
			t.Fatalf("POST %s: %d with Content-Type %q", path, status, ct)
		}
		var p struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
			Code   string `json:"code"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("POST %s: %d with a body that is not JSON: %q", path, status, w.Body)
		}
		if p.Status != status || p.Code == "" || p.Type != "https://forgeauth.dev/problems/"+p.Code || p.Title == "" || p.Detail == "" {
			t.Fatalf("POST %s: %d with an inconsistent problem document: %s", path, status, w.Body)
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			if n, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || n < 1 {
				t.Fatalf("POST %s: %d without a valid Retry-After", path, status)
			}
		}
	case status == http.StatusNoContent:
		if w.Body.Len() != 0 {
			t.Fatalf("POST %s: 204 with a body: %q", path, w.Body)
		}
	default:
		var v map[string]any
		if ct != "application/json" || json.Unmarshal(w.Body.Bytes(), &v) != nil {
			t.Fatalf("POST %s: %d that is not a JSON object (%q): %s", path, status, ct, w.Body)
		}
		if strings.Contains(w.Body.String(), "$argon2") {
			t.Fatalf("POST %s: a password hash in the answer: %s", path, w.Body)
		}
	}
}

// fuzzMember is one member of a JSON body: a name and a string value.
type fuzzMember struct{ name, value string }

// fuzzObject writes the members as a JSON object.
func fuzzObject(members []fuzzMember) string {
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = strconv.Quote(m.name) + ":" + strconv.Quote(m.value)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// jsonSeeds returns the valid body of the members, then every malformed
// body of SECURITY.md case 23 made from it.
func jsonSeeds(members ...fuzzMember) [][]byte {
	valid := fuzzObject(members)
	first := strconv.Quote(members[0].name)
	inner := strings.TrimSuffix(valid, "}")
	value := strconv.Quote(members[0].value)
	swap := func(with string) string { return strings.Replace(valid, first+":"+value, first+":"+with, 1) }
	seeds := []string{
		valid,
		" \n" + valid + "\n ",
		"{" + first + ":",
		"hello",
		"[" + valid + "]",
		first,
		"null",
		"",
		"  \n",
		valid + "{}",
		valid + " x",
		valid + valid,
		inner + `,"is_superuser":"true"}`,
		inner + "," + first + `:"x"}`,
		strings.Replace(valid, first, strings.ToUpper(first), 1),
		strings.Replace(valid, first, `"`+strings.ToUpper(members[0].name[:1])+members[0].name[1:]+`"`, 1),
		swap("[" + value + "]"),
		swap("12345"),
		swap(`{"a":"b"}`),
		swap("true"),
		swap("null"),
		"{}",
		swap("\"a\xffb\""),
		swap(`"\ud800\u0000\"\\"`),
		"{" + first + `:"` + strings.Repeat("a", 16<<10) + `"}`,
		`{"` + strings.Repeat("n", 1000) + `":"x"}`,
		strings.Repeat("[", 10000),
	}
	// Each member missing in turn.
	for i := range members {
		seeds = append(seeds, fuzzObject(append(members[:i:i], members[i+1:]...)))
	}
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = []byte(s)
	}
	return out
}

func FuzzDecodeRegister(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds(fuzzMember{"username", "newbie"},
		fuzzMember{"email", "newbie@example.com"}, fuzzMember{"password", fuzzPassword}) {
		f.Add(s)
	}
	f.Add([]byte(`{"username":"fuzzer","email":"FUZZER@example.com","password":"Correct-Horse-7"}`))
	f.Add([]byte(`{"username":"ab","email":"not an email","password":"short"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "/auth/register", fuzzJSON, "", body)
	})
}

func FuzzDecodeLogin(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds(fuzzMember{"username", fuzzUser}, fuzzMember{"password", fuzzPassword}) {
		f.Add(s)
	}
	f.Add([]byte(`{"username":"fuzzer@example.com","password":"Correct-Horse-7","device_name":"phone","device_type":null}`))
	f.Add([]byte(`{"username":"nobody","password":"Wrong-Horse-8"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "/auth/login", fuzzJSON, "", body)
	})
}

func FuzzDecodeLoginForm(f *testing.F) {
	ft := newFuzzTarget(f)
	valid := url.Values{"username": {fuzzUser}, "password": {fuzzPassword}}
	for _, s := range []string{
		valid.Encode(),
		url.Values{"username": {fuzzUser}, "password": {fuzzPassword}, "grant_type": {"password"}, "scope": {"a b"}, "client_id": {"c"}, "client_secret": {"s"}}.Encode(),
		url.Values{"username": {fuzzUser}, "password": {fuzzPassword}, "grant_type": {"client_credentials"}}.Encode(),
		"username=fuzzer&password=x&password=y",
		"username=fuzzer&password=x&admin=1",
		"USERNAME=fuzzer&password=x",
		"username=fuzzer",
		"username=fuzzer&password=%zz",
		"username=fuzzer;password=x",
		"username=fuzzer&password=%ff",
		"username=%00&password=%00",
		"",
		"&&&==",
		"password=" + strings.Repeat("a", 16<<10),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "/auth/login", fuzzForm, "", body)
	})
}

func FuzzDecodeVerifyEmail(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds(fuzzMember{"email", fuzzEmail}, fuzzMember{"code", "123456"}) {
		f.Add(s)
	}
	f.Add([]byte(`{"email":"nobody@example.com","code":"000000"}`))
	f.Add([]byte(`{"email":"fuzzer@example.com","code":"１２３４５６"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "/auth/verify-email", fuzzJSON, "", body)
	})
}

// FuzzDecodeEmailOnly drives the two endpoints whose body is an email
// alone, which must answer alike.
func FuzzDecodeEmailOnly(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds(fuzzMember{"email", fuzzEmail}) {
		f.Add(s)
	}
	f.Add([]byte(`{"email":"nobody@example.com"}`))
	f.Add([]byte(`{"email":" Fuzzer@Example.COM "}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "/auth/resend-verification", fuzzJSON, "", body)
		ft.check(t, "/auth/forgot-password", fuzzJSON, "", body)
	})
}

// FuzzDecodeRefreshToken drives the two endpoints whose body is a refresh
// token alone.
func FuzzDecodeRefreshToken(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds(fuzzMember{"refresh_token", ft.refresh}) {
		f.Add(s)
	}
	f.Add([]byte(`{"refresh_token":"` + ft.access + `"}`))
	f.Add([]byte(`{"refresh_token":"eyJhbGciOiJub25lIn0.e30."}`))
	f.Add([]byte(`{"refresh_token":"` + strings.Repeat(".", 4000) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "/auth/refresh", fuzzJSON, "", body)
		ft.check(t, "/auth/logout", fuzzJSON, "", body)
	})
}

func FuzzDecodeResetPassword(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds(fuzzMember{"email", fuzzEmail}, fuzzMember{"code", "123456"},
		fuzzMember{"new_password", "Battery-Staple-9"}) {
		f.Add(s)
	}
	f.Add([]byte(`{"email":"fuzzer@example.com","code":"123456","new_password":"weak"}`))
	f.Add([]byte(`{"email":"nobody@example.com","code":"12345","new_password":"Battery-Staple-9"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "/auth/reset-password", fuzzJSON, "", body)
	})
}

// FuzzDecodeChangePassword sends the signed-in user's bearer token with
// every body. The seeds never hold the right current password, so the
// session outlives the run and every input reaches the decoder.
func FuzzDecodeChangePassword(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds(fuzzMember{"current_password", "Wrong-Horse-8"},
		fuzzMember{"new_password", "Battery-Staple-9"}) {
		f.Add(s)
	}
	f.Add([]byte(`{"current_password":"Wrong-Horse-8","new_password":"weak"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "/auth/change-password", fuzzJSON, ft.access, body)
	})
}

// FuzzDecodePasskeyCredential drives the credential of a passkey sign-in
// through the strict decoder and go-webauthn's parser: every input is
// posted as the credential of a live ceremony, and as a whole body. The
// seeds are a real assertion of a registered passkey (for another
// ceremony), and its members broken one way each.
func FuzzDecodePasskeyCredential(f *testing.F) {
	ft := newFuzzTarget(f)
	a := fakeauthn.New("http://localhost:8080")
	begin := func(tb testing.TB, path, bearer string) (string, []byte) {
		w := ft.serve("POST", path, fuzzJSON, bearer, []byte(`{}`))
		var c struct {
			ID      string          `json:"ceremony_id"`
			Options json.RawMessage `json:"options"`
		}
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &c) != nil {
			tb.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return c.ID, c.Options
	}
	id, opts := begin(f, "/auth/passkeys/register/begin", ft.access)
	reg, _, err := a.Create(opts)
	if err != nil {
		f.Fatal(err)
	}
	if w := ft.serve("POST", "/auth/passkeys/register/finish", fuzzJSON, ft.access,
		[]byte(`{"ceremony_id":"`+id+`","credential":`+string(reg)+`}`)); w.Code != http.StatusCreated {
		f.Fatalf("register: %d %s", w.Code, w.Body)
	}
	_, opts = begin(f, "/auth/passkeys/login/begin", "")
	assertion, err := a.Get(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(assertion)
	f.Add(reg)
	var m map[string]any
	if err := json.Unmarshal(assertion, &m); err != nil {
		f.Fatal(err)
	}
	for _, k := range []string{"id", "rawId", "type", "response"} {
		broken := maps.Clone(m)
		delete(broken, k)
		b, _ := json.Marshal(broken)
		f.Add(b)
		broken[k] = 12345
		b, _ = json.Marshal(broken)
		f.Add(b)
	}
	for _, s := range []string{`{}`, `{"response":{}}`, `{"id":"","rawId":"","type":"public-key","response":{"clientDataJSON":"","authenticatorData":"","signature":""}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AA","userHandle":"AA"}}`,
		strings.Repeat(`{"a":`, 500) + `1` + strings.Repeat(`}`, 500)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, cred []byte) {
		id, _ := begin(t, "/auth/passkeys/login/begin", "")
		ft.check(t, "/auth/passkeys/login/finish", fuzzJSON, "", []byte(`{"ceremony_id":"`+id+`","credential":`+string(cred)+`}`))
		ft.check(t, "/auth/passkeys/login/finish", fuzzJSON, "", cred)
	})
}
