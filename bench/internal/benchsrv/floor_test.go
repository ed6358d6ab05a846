package benchsrv_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/bench/internal/benchsrv"
)

// flatClaims is the payload of a forgeauth access token with plain integer
// times: what a verifier needs, without the JWT library's generic types.
type flatClaims struct {
	TokenType string   `json:"token_type"`
	UserID    string   `json:"user_id"`
	SessionID string   `json:"sid"`
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
}

type flatHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
}

var errFloor = errors.New("floor: invalid token")

// verifyFloor is the least an HS256 check of a forgeauth token must do:
// split, one HMAC over the signing input, decode header and payload into
// fixed structs. It is a yardstick for token.Manager.Verify, not a verifier
// to use (it checks no claim values).
func verifyFloor(secret []byte, tok string) (flatClaims, error) {
	h, rest, ok := strings.Cut(tok, ".")
	if !ok {
		return flatClaims{}, errFloor
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return flatClaims{}, errFloor
	}
	var want [sha256.Size]byte
	if base64.RawURLEncoding.DecodedLen(len(sig)) != len(want) {
		return flatClaims{}, errFloor
	}
	if _, err := base64.RawURLEncoding.Strict().Decode(want[:], []byte(sig)); err != nil {
		return flatClaims{}, errFloor
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tok[:len(h)+1+len(p)]))
	if !hmac.Equal(m.Sum(nil), want[:]) {
		return flatClaims{}, errFloor
	}
	hb, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return flatClaims{}, errFloor
	}
	var hdr flatHeader
	if err := json.Unmarshal(hb, &hdr); err != nil || hdr.Alg != "HS256" {
		return flatClaims{}, errFloor
	}
	pb, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return flatClaims{}, errFloor
	}
	var c flatClaims
	if err := json.Unmarshal(pb, &c); err != nil {
		return flatClaims{}, errFloor
	}
	return c, nil
}

func TestVerifyFloorReadsForgeauthTokens(t *testing.T) {
	st := settings(t)
	fa := newForgeauth(t, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic})
	c, err := verifyFloor(st.Secret, fa.Token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != benchsrv.Username || c.UserID != fa.User.ID || c.TokenType != "access" {
		t.Fatalf("claims = %+v", c)
	}
	if _, err := verifyFloor([]byte(strings.Repeat("x", 32)), fa.Token); !errors.Is(err, errFloor) {
		t.Fatalf("wrong key: err = %v, want errFloor", err)
	}
}

// BenchmarkVerifyFloor compares token.Manager.Verify (through
// Service.VerifyAccessToken, with the token cache off) with verifyFloor on
// the same token, to show how much of the check is the JWT library's
// generic decoding.
func BenchmarkVerifyFloor(b *testing.B) {
	st := settings(b)
	fa := newForgeauth(b, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic, TokenCacheSize: -1})
	b.Run("Manager.Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fa.Service.VerifyAccessToken(fa.Token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := verifyFloor(st.Secret, fa.Token); err != nil {
				b.Fatal(err)
			}
		}
	})
}
