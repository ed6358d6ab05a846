package token_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// testSecret is exactly 32 bytes, the HS256 minimum.
const testSecret = "0123456789abcdef0123456789abcdef"

// start is the moment every test clock begins at.
func start() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

// clock is an injectable clock. Tests move it from one goroutine only.
type clock struct{ t time.Time }

func newClock() *clock                   { return &clock{t: start()} }
func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newManager(tb testing.TB, cfg token.Config) *token.Manager {
	tb.Helper()
	m, err := token.New(cfg)
	require.NoError(tb, err)
	return m
}

// hsManager returns an HS256 manager with the test secret on clock c.
func hsManager(tb testing.TB, c *clock) *token.Manager {
	tb.Helper()
	return newManager(tb, token.Config{Secret: []byte(testSecret), Now: c.Now})
}

func alice() token.Identity {
	return token.Identity{UserID: "u-1", Username: "alice", SessionID: "s-1"}
}

func issueAccess(tb testing.TB, m *token.Manager) token.Issued {
	tb.Helper()
	is, err := m.IssueAccess(alice())
	require.NoError(tb, err)
	return is
}

func issueRefresh(tb testing.TB, m *token.Manager) token.Issued {
	tb.Helper()
	is, err := m.IssueRefresh(alice())
	require.NoError(tb, err)
	return is
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return b
}

// signer makes the signature segment of a hand-crafted token.
type signer func(tb testing.TB, input string) []byte

// signWith signs with one of the library's methods and a key of its kind.
func signWith(method jwt.SigningMethod, key any) signer {
	return func(tb testing.TB, input string) []byte {
		tb.Helper()
		sig, err := method.Sign(input, key)
		require.NoError(tb, err)
		return sig
	}
}

// hs256 signs with the test secret, as a genuine token would be.
func hs256() signer { return signWith(jwt.SigningMethodHS256, []byte(testSecret)) }

// unsigned makes an empty signature, as alg "none" does.
func unsigned() signer { return func(testing.TB, string) []byte { return nil } }

// craft builds a compact JWS from a header and a payload of any shape.
func craft(tb testing.TB, header, payload any, sign signer) string {
	tb.Helper()
	input := b64(mustJSON(tb, header)) + "." + b64(mustJSON(tb, payload))
	return input + "." + b64(sign(tb, input))
}

func header(alg string, extra ...any) map[string]any {
	h := map[string]any{"alg": alg, "typ": "JWT"}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i].(string)] = extra[i+1]
	}
	return h
}

// claimsAt is the payload of a genuine access token issued at now.
func claimsAt(now time.Time) map[string]any {
	return map[string]any{
		"sub":        "alice",
		"user_id":    "u-1",
		"sid":        "s-1",
		"iat":        now.Unix(),
		"exp":        now.Add(30 * time.Minute).Unix(),
		"iss":        token.DefaultIssuer,
		"aud":        []string{token.DefaultAudience},
		"token_type": "access",
		"jti":        "c29tZS1yYW5kb20taWQ",
	}
}

// edit returns a copy of p with the given keys set (a nil value deletes).
func edit(p map[string]any, kv ...any) map[string]any {
	q := maps.Clone(p)
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(q, k)
			continue
		}
		q[k] = kv[i+1]
	}
	return q
}

// segments splits a token into its three parts.
func segments(tb testing.TB, tok string) (h, p, s string) {
	tb.Helper()
	parts := strings.Split(tok, ".")
	require.Len(tb, parts, 3)
	return parts[0], parts[1], parts[2]
}

// decodeSegment decodes a header or payload segment into a map.
func decodeSegment(tb testing.TB, seg string) map[string]any {
	tb.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(tb, err)
	var m map[string]any
	require.NoError(tb, json.Unmarshal(raw, &m))
	return m
}

func edKey(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(tb, err)
	return priv
}

func ecKey(tb testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(tb, err)
	return priv
}

// rsaKey loads a test key from testdata ("rsa2048", "rsa2048b" or
// "rsa1024"); generating 2048-bit keys in every test would be slow.
func rsaKey(tb testing.TB, name string) *rsa.PrivateKey {
	tb.Helper()
	raw, err := os.ReadFile("testdata/" + name + ".pem")
	require.NoError(tb, err)
	block, _ := pem.Decode([]byte(strings.ReplaceAll(string(raw), "TESTING KEY", "PRIVATE KEY")))
	require.NotNil(tb, block)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(tb, err)
	priv, ok := k.(*rsa.PrivateKey)
	require.True(tb, ok)
	return priv
}

// requireVerifyErr checks that err is exactly the kind want: ErrExpired,
// ErrWrongType (which is also ErrInvalid) or ErrInvalid (and not ErrExpired).
func requireVerifyErr(tb testing.TB, err, want error) {
	tb.Helper()
	require.Error(tb, err)
	switch want {
	case token.ErrExpired:
		require.ErrorIs(tb, err, token.ErrExpired)
		require.NotErrorIs(tb, err, token.ErrInvalid)
	case token.ErrWrongType:
		require.ErrorIs(tb, err, token.ErrWrongType)
		require.ErrorIs(tb, err, token.ErrInvalid)
		require.NotErrorIs(tb, err, token.ErrExpired)
	default:
		require.ErrorIs(tb, err, token.ErrInvalid)
		require.NotErrorIs(tb, err, token.ErrExpired)
		require.NotErrorIs(tb, err, token.ErrWrongType)
	}
}
