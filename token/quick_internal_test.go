package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The quick path of Manager.Verify must agree with the library path on every
// input: accept only what the library accepts, with the same claims, and
// refuse with the same kind of error. These tests compare the two directly.

const quickSecret = "0123456789abcdef0123456789abcdef"

var quickNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func quickManager(tb testing.TB, alg string) *Manager {
	tb.Helper()
	secret := quickSecret
	for len(secret) < 64 {
		secret += secret
	}
	m, err := New(Config{Algorithm: alg, Secret: []byte(secret), Now: func() time.Time { return quickNow }})
	require.NoError(tb, err)
	require.NotNil(tb, m.quick, "an HMAC manager has the quick path")
	return m
}

// signHS256 returns header.payload.signature with an HS256 signature under
// the HS256 quick manager's key.
func signHS256(header, payload string) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(quickSecret + quickSecret)[:64])
	mac.Write([]byte(in))
	return in + "." + enc.EncodeToString(mac.Sum(nil))
}

const canonicalHeader = `{"alg":"HS256","typ":"JWT"}`

// requireSameVerdict checks that Verify (quick path first) and the library
// path alone give the same answer for s.
func requireSameVerdict(t *testing.T, m *Manager, s string, want Type) {
	t.Helper()
	got, gotErr := m.Verify(s, want)
	var lib Claims
	libErr := precheck(s, want)
	if libErr == nil {
		lib, libErr = m.check.parse(s, want)
	}
	if libErr != nil {
		require.Error(t, gotErr, "the quick path accepted what the library refuses (%v)", libErr)
		for _, kind := range []error{ErrInvalid, ErrExpired, ErrWrongType} {
			require.Equal(t, errors.Is(libErr, kind), errors.Is(gotErr, kind), "kind %v: library %v, Verify %v", kind, libErr, gotErr)
		}
		require.Equal(t, Claims{}, got)
		return
	}
	require.NoError(t, gotErr)
	require.Equal(t, lib, got)
}

func quickPayload(exp, iat int64, extra string) string {
	return `{"token_type":"access","user_id":"u-1","iss":"` + DefaultIssuer + `","sub":"alice","aud":["` +
		DefaultAudience + `"],"exp":` + itoa(exp) + `,"iat":` + itoa(iat) + `,"jti":"j-1"` + extra + `}`
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

func TestQuickTakesIssuedTokens(t *testing.T) {
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		t.Run(alg, func(t *testing.T) {
			m := quickManager(t, alg)
			ids := []Identity{
				{UserID: "u-1", Username: "alice"},
				{UserID: "u-1", Username: "alice", SessionID: "s-1", AuthTime: quickNow.Add(-time.Hour), Superuser: true},
				{UserID: "u-ü", Username: "zoë ☃", SessionID: "s-1"},
				// Every session's tokens carry amr since the second factor.
				{UserID: "u-1", Username: "alice", SessionID: "s-1", AMR: []string{"pwd"}},
				{UserID: "u-1", Username: "alice", SessionID: "s-1", AMR: []string{"pwd", "otp", "mfa"}},
			}
			for _, id := range ids {
				a, err := m.IssueAccess(id)
				require.NoError(t, err)
				c, done, err := m.quick.verify(a.Token, TypeAccess)
				require.True(t, done, "an issued access token takes the quick path")
				require.NoError(t, err)
				require.Equal(t, a.Claims, c)
				requireSameVerdict(t, m, a.Token, TypeAccess)
				requireSameVerdict(t, m, a.Token, TypeRefresh)
				if id.SessionID != "" {
					r, err := m.IssueRefresh(id)
					require.NoError(t, err)
					c, done, err := m.quick.verify(r.Token, TypeRefresh)
					require.True(t, done)
					require.NoError(t, err)
					require.Equal(t, r.Claims, c)
					requireSameVerdict(t, m, r.Token, TypeRefresh)
				}
			}
		})
	}
}

// TestQuickDefers lists payloads the quick path must leave to the library
// (they are signed with the right key), and checks that Verify still gives
// the library's verdict for each.
func TestQuickDefers(t *testing.T) {
	m := quickManager(t, "HS256")
	now := quickNow.Unix()
	exp, iat := now+900, now-10
	tests := []struct{ name, header, payload string }{
		{"ext claim", canonicalHeader, quickPayload(exp, iat, `,"ext":{"tenant":"a"}`)},
		{"ext not an object", canonicalHeader, quickPayload(exp, iat, `,"ext":[1]`)},
		{"escaped string", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `"alice"`, `"al\u0069ce"`, 1)},
		{"float exp", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `"exp":`+itoa(exp), `"exp":`+itoa(exp)+`.5`, 1)},
		{"exponent exp", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `"exp":`+itoa(exp), `"exp":1.7e9`, 1)},
		{"string exp", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `"exp":`+itoa(exp), `"exp":"`+itoa(exp)+`"`, 1)},
		{"null sid", canonicalHeader, quickPayload(exp, iat, `,"sid":null`)},
		{"duplicate sub", canonicalHeader, quickPayload(exp, iat, `,"sub":"bob"`)},
		{"upper-case key", canonicalHeader, quickPayload(exp, iat, `,"SUB":"bob"`)},
		{"unknown key", canonicalHeader, quickPayload(exp, iat, `,"role":"admin"`)},
		{"aud as a string", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `["`+DefaultAudience+`"]`, `"`+DefaultAudience+`"`, 1)},
		{"aud of five", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `["`+DefaultAudience+`"]`, `["a","b","c","d","`+DefaultAudience+`"]`, 1)},
		{"trailing data", canonicalHeader, quickPayload(exp, iat, "") + `x`},
		{"invalid UTF-8", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `"alice"`, "\"al\xffce\"", 1)},
		{"expired", canonicalHeader, quickPayload(now-3600, now-7200, "")},
		{"iat in the future", canonicalHeader, quickPayload(now+7200, now+3600, "")},
		{"nbf in the future", canonicalHeader, quickPayload(exp, iat, `,"nbf":`+itoa(now+3600))},
		{"exp not after iat", canonicalHeader, quickPayload(iat, iat, "")},
		{"wrong issuer", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), DefaultIssuer, "evil", 1)},
		{"wrong audience", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), DefaultAudience, "evil", 1)},
		{"refresh type", canonicalHeader, strings.Replace(quickPayload(exp, iat, `,"sid":"s"`), `"access"`, `"refresh"`, 1)},
		{"unknown type", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `"access"`, `"id"`, 1)},
		{"empty jti", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `"j-1"`, `""`, 1)},
		{"missing iat", canonicalHeader, strings.Replace(quickPayload(exp, iat, ""), `,"iat":`+itoa(iat), ``, 1)},
		{"kid header", `{"alg":"HS256","kid":"k","typ":"JWT"}`, quickPayload(exp, iat, "")},
		{"jku header", `{"alg":"HS256","jku":"https://evil.example","typ":"JWT"}`, quickPayload(exp, iat, "")},
		{"no typ", `{"alg":"HS256"}`, quickPayload(exp, iat, "")},
		{"header with spaces", `{"alg":"HS256", "typ":"JWT"}`, quickPayload(exp, iat, "")},
		{"alg none label", `{"alg":"none","typ":"JWT"}`, quickPayload(exp, iat, "")},
		{"not JSON", canonicalHeader, `not json`},
		{"empty object", canonicalHeader, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := signHS256(tt.header, tt.payload)
			_, done, _ := m.quick.verify(s, TypeAccess)
			require.False(t, done, "the quick path must leave this to the library")
			requireSameVerdict(t, m, s, TypeAccess)
			requireSameVerdict(t, m, s, TypeRefresh)
		})
	}
}

// TestQuickAcceptsWhiteSpace: white space is plain JSON, and the library
// reads it the same way.
func TestQuickAcceptsWhiteSpace(t *testing.T) {
	m := quickManager(t, "HS256")
	p := strings.ReplaceAll(quickPayload(quickNow.Unix()+60, quickNow.Unix(), `,"is_superuser":false`), ",", " ,\n\t")
	s := signHS256(canonicalHeader, " "+strings.ReplaceAll(p, ":", "\r: ")+" ")
	_, done, err := m.quick.verify(s, TypeAccess)
	require.True(t, done)
	require.NoError(t, err)
	requireSameVerdict(t, m, s, TypeAccess)
}

// TestQuickRefusesForgeryFirst: a token whose signature does not verify is
// refused before its header or payload is read, whatever they hold.
func TestQuickRefusesForgeryFirst(t *testing.T) {
	m := quickManager(t, "HS256")
	good := signHS256(canonicalHeader, quickPayload(quickNow.Unix()+60, quickNow.Unix(), ""))
	dot := strings.LastIndexByte(good, '.')
	forged := []string{
		good[:dot+1] + strings.Repeat("A", len(good)-dot-1),                   // wrong MAC
		good[:dot+1] + good[dot+1:len(good)-1],                                // short MAC
		good[:dot+1],                                                          // no MAC
		good[:dot] + "A" + good[dot:],                                         // payload changed
		"e30.bm90IGpzb24" + good[dot:],                                        // junk header and payload
		good[:len(good)-1] + string(rune(good[len(good)-1]^1)),                // last character flipped
		good[:dot+1] + base64.RawURLEncoding.EncodeToString(make([]byte, 64)), // MAC of another length
	}
	for i, s := range forged {
		if precheck(s, TypeAccess) != nil {
			continue
		}
		_, done, err := m.quick.verify(s, TypeAccess)
		require.True(t, done, "case %d", i)
		require.ErrorIs(t, err, ErrInvalid, "case %d", i)
		requireSameVerdict(t, m, s, TypeAccess)
	}
}

func TestQuickAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	m := quickManager(t, "HS256")
	a, err := m.IssueAccess(Identity{UserID: "u-1", Username: "alice"})
	require.NoError(t, err)
	_, _ = m.Verify(a.Token, TypeAccess) // fill the pool
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := m.Verify(a.Token, TypeAccess); err != nil {
			t.Fatal(err)
		}
	})
	// The payload string the claims point into and the audience slice.
	require.LessOrEqual(t, allocs, 2.0)
	forged := a.Token[:len(a.Token)-2] + "AA"
	allocs = testing.AllocsPerRun(100, func() { _, _ = m.Verify(forged, TypeAccess) })
	require.Zero(t, allocs, "refusing a forgery allocates nothing")
}

// FuzzQuickMatchesLibrary signs arbitrary payloads (and headers) with the
// Manager's key, so that the fuzzer reaches the JSON reading and the claim
// checks behind the signature, and requires Verify to agree with the
// library path alone.
func FuzzQuickMatchesLibrary(f *testing.F) {
	m := quickManager(f, "HS256")
	now := quickNow.Unix()
	for _, p := range []string{
		quickPayload(now+900, now, ""),
		quickPayload(now+900, now, `,"sid":"s-1","auth_time":`+itoa(now-60)+`,"is_superuser":true`),
		quickPayload(now+900, now, `,"nbf":`+itoa(now)),
		quickPayload(now+900, now, `,"ext":{"a":1}`),
		strings.Replace(quickPayload(now+900, now, `,"sid":"s"`), `"access"`, `"refresh"`, 1),
		quickPayload(now-900, now-1800, ""),
		`{"exp":1e3}`,
		`{}`,
	} {
		f.Add(canonicalHeader, p)
	}
	f.Add(`{"alg":"HS256","kid":"x","typ":"JWT"}`, quickPayload(now+900, now, ""))
	f.Fuzz(func(t *testing.T, header, payload string) {
		s := signHS256(header, payload)
		requireSameVerdict(t, m, s, TypeAccess)
		requireSameVerdict(t, m, s, TypeRefresh)
	})
}
