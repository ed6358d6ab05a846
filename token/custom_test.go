package token_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

func TestCustomRoundTrip(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	id := alice()
	id.Superuser = true
	id.Custom = json.RawMessage(`{ "tenant": "acme", "roles": ["admin", "billing"], "n": 12345678901234567890 }`)
	is, err := m.IssueAccess(id)
	require.NoError(t, err)
	want := `{"tenant":"acme","roles":["admin","billing"],"n":12345678901234567890}`
	assert.Equal(t, want, string(is.Claims.Custom))
	assert.True(t, is.Claims.Superuser)

	got, err := m.Verify(is.Token, token.TypeAccess)
	require.NoError(t, err)
	assert.Equal(t, is.Claims, got)
	assert.Equal(t, want, string(got.Custom), "numbers keep every digit")

	payload := decodeSegment(t, strings.Split(is.Token, ".")[1])
	assert.Equal(t, true, payload["is_superuser"])
	assert.Equal(t, "acme", payload["ext"].(map[string]any)["tenant"])
	assert.NotContains(t, payload, "tenant", "custom claims never reach the top level")

	// Each Verify returns its own copy.
	got.Custom[2] = 'X'
	again, err := m.Verify(is.Token, token.TypeAccess)
	require.NoError(t, err)
	assert.Equal(t, want, string(again.Custom))
}

// TestCustomCannotOverride: a custom claim named like a registered or
// forgeauth claim stays under ext and changes nothing.
func TestCustomCannotOverride(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	id := alice()
	id.Custom = json.RawMessage(`{"exp": 9999999999, "sub": "admin", "user_id": "u-0", "iss": "evil", "aud": "evil",
		"token_type": "refresh", "is_superuser": true, "iat": 1, "nbf": 9999999999, "jti": "x", "ext": {"sub": "admin"}}`)
	is, err := m.IssueAccess(id)
	require.NoError(t, err)

	got, err := m.Verify(is.Token, token.TypeAccess)
	require.NoError(t, err)
	assert.Equal(t, "alice", got.Subject)
	assert.Equal(t, "u-1", got.UserID)
	assert.Equal(t, start().Add(m.AccessTTL()), got.ExpiresAt)
	assert.Equal(t, start(), got.IssuedAt)
	assert.Equal(t, token.TypeAccess, got.Type)
	assert.False(t, got.Superuser)
	assert.Equal(t, "forgeauth", got.Issuer)

	payload := decodeSegment(t, strings.Split(is.Token, ".")[1])
	assert.Equal(t, "alice", payload["sub"])
	assert.Equal(t, float64(start().Add(m.AccessTTL()).Unix()), payload["exp"])
	assert.NotContains(t, payload, "is_superuser")
	assert.NotContains(t, payload, "nbf")
	assert.Equal(t, "admin", payload["ext"].(map[string]any)["sub"])

	// The token expires on its own schedule, not the custom "exp".
	c.Advance(m.AccessTTL() + token.DefaultLeeway + time.Second)
	_, err = m.Verify(is.Token, token.TypeAccess)
	requireVerifyErr(t, err, token.ErrExpired)
}

func TestCustomErrors(t *testing.T) {
	m := hsManager(t, newClock())
	// 4096 bytes exactly, once compacted: {"a":"…"} is 8 bytes of frame.
	atLimit := `{"a":"` + strings.Repeat("x", 4096-8) + `"}`
	tests := []struct {
		name    string
		custom  string
		wantErr bool
	}{
		{"at the limit", atLimit, false},
		{"at the limit with white space", " \n" + strings.Replace(atLimit, `:`, ` : `, 1) + "\t", false},
		{"empty object", `{}`, false},
		{"one byte over", `{"a":"` + strings.Repeat("x", 4096-7) + `"}`, true},
		{"over once < is escaped", `{"a":"` + strings.Repeat("<", 1000) + `"}`, true},
		{"invalid JSON", `{"a":`, true},
		{"trailing data", `{"a":1} {}`, true},
		{"array", `[1,2]`, true},
		{"string", `"x"`, true},
		{"null", `null`, true},
		{"number", `7`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := alice()
			id.Custom = json.RawMessage(tt.custom)
			is, err := m.IssueAccess(id)
			if !tt.wantErr {
				require.NoError(t, err)
				_, err = m.Verify(is.Token, token.TypeAccess)
				require.NoError(t, err, "a token at the limit stays under the verifier's size bound")
				return
			}
			require.ErrorIs(t, err, token.ErrCustomClaims)
			assert.Equal(t, token.Issued{}, is)
		})
	}

	// The largest custom claims with the largest signature still verify.
	rs := newManager(t, token.Config{Algorithm: "RS256", SigningKey: rsaKey(t, "rsa2048")})
	id := alice()
	id.Custom = json.RawMessage(atLimit)
	is, err := rs.IssueAccess(id)
	require.NoError(t, err)
	_, err = rs.Verify(is.Token, token.TypeAccess)
	require.NoError(t, err)
}

// TestCustomNotInRefresh: refresh tokens carry neither is_superuser nor ext.
func TestCustomNotInRefresh(t *testing.T) {
	m := hsManager(t, newClock())
	id := alice()
	id.Superuser = true
	id.Custom = json.RawMessage(`{"tenant":"acme"}`)
	is, err := m.IssueRefresh(id)
	require.NoError(t, err)
	payload := decodeSegment(t, strings.Split(is.Token, ".")[1])
	assert.NotContains(t, payload, "ext")
	assert.NotContains(t, payload, "is_superuser")
	assert.False(t, is.Claims.Superuser)
	assert.Nil(t, is.Claims.Custom)

	// Without them, an access token has neither claim.
	plain := decodeSegment(t, strings.Split(issueAccess(t, m).Token, ".")[1])
	assert.NotContains(t, plain, "ext")
	assert.NotContains(t, plain, "is_superuser")
}

// TestCustomVerifyShape: a signed token whose ext or is_superuser has the
// wrong shape is refused.
func TestCustomVerifyShape(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	good := claimsAt(c.Now())
	tests := []struct {
		name    string
		payload map[string]any
		wantErr bool
	}{
		{"ext object", edit(good, "ext", map[string]any{"a": 1}), false},
		{"is_superuser true", edit(good, "is_superuser", true), false},
		{"ext array", edit(good, "ext", []int{1}), true},
		{"ext string", edit(good, "ext", "x"), true},
		{"ext number", edit(good, "ext", 1), true},
		{"is_superuser string", edit(good, "is_superuser", "true"), true},
		{"is_superuser number", edit(good, "is_superuser", 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Verify(craft(t, header("HS256"), tt.payload, hs256()), token.TypeAccess)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			requireVerifyErr(t, err, token.ErrInvalid)
			assert.Equal(t, token.Claims{}, got)
		})
	}

	// "ext": null is not an object either.
	raw := `{"sub":"alice","user_id":"u-1","iat":` + strconv.FormatInt(c.Now().Unix(), 10) +
		`,"exp":` + strconv.FormatInt(c.Now().Add(time.Minute).Unix(), 10) +
		`,"iss":"forgeauth","aud":"forgeauth","token_type":"access","jti":"j","ext":null}`
	input := b64(mustJSON(t, header("HS256"))) + "." + b64([]byte(raw))
	_, err := m.Verify(input+"."+b64(hs256()(t, input)), token.TypeAccess)
	requireVerifyErr(t, err, token.ErrInvalid)
	assert.Contains(t, err.Error(), "ext claim is not a JSON object")
}
