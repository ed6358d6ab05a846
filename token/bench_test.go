package token_test

import (
	"context"
	"crypto"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forgeauth/forgeauth/token"
)

// BenchmarkVerify measures a successful Verify of an access token for each
// algorithm.
func BenchmarkVerify(b *testing.B) {
	managers := []struct {
		name string
		cfg  func(testing.TB) token.Config
	}{
		{"HS256", func(testing.TB) token.Config { return token.Config{Secret: []byte(testSecret)} }},
		{"EdDSA", func(tb testing.TB) token.Config {
			return token.Config{Algorithm: "EdDSA", SigningKey: edKey(tb), SigningKeyID: "k"}
		}},
		{"ES256", func(tb testing.TB) token.Config {
			k, _ := asymmetrics()[1].newKeys(tb)
			return token.Config{Algorithm: "ES256", SigningKey: k, SigningKeyID: "k"}
		}},
		{"RS256", func(tb testing.TB) token.Config {
			return token.Config{Algorithm: "RS256", SigningKey: rsaKey(tb, "rsa2048"), SigningKeyID: "k"}
		}},
	}
	for _, mm := range managers {
		b.Run(mm.name, func(b *testing.B) {
			m := newManager(b, mm.cfg(b))
			tok := issueAccess(b, m).Token
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(tok, token.TypeAccess); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifierVerify measures a successful Verifier.Verify of an EdDSA
// access token, with static keys and with keys from a JWK Set (fetched once).
func BenchmarkVerifierVerify(b *testing.B) {
	key := edKey(b)
	m := newManager(b, token.Config{Algorithm: "EdDSA", SigningKey: key})
	srv := newJWKSServer(b, jwksOf(b, m))
	for name, cfg := range map[string]token.VerifierConfig{
		"static": {PublicKeys: []crypto.PublicKey{key.Public()}},
		"jwks":   {JWKSURL: srv.URL},
	} {
		b.Run(name, func(b *testing.B) {
			v := newVerifier(b, cfg)
			tok := issueAccess(b, m).Token
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok, token.TypeAccess); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyJunk measures refusing a megabyte of dots.
func BenchmarkVerifyJunk(b *testing.B) {
	m := hsManager(b, newClock())
	junk := "Bearer " + string(make([]byte, 1<<20))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(junk, token.TypeAccess); err == nil {
			b.Fatal("accepted junk")
		}
	}
}

func BenchmarkIssueAccess(b *testing.B) {
	m := newManager(b, token.Config{Secret: []byte(testSecret)})
	id := alice()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.IssueAccess(id); err != nil {
			b.Fatal(err)
		}
	}
}

// baselineClaims has the shape of this package's claims.
type baselineClaims struct {
	TokenType string `json:"token_type"`
	UserID    string `json:"user_id"`
	SessionID string `json:"sid,omitempty"`
	jwt.RegisteredClaims
}

// BenchmarkJWTParseBaseline is the library's own typed parse of the same
// token with minimal options: what BenchmarkVerify/HS256 is compared with.
func BenchmarkJWTParseBaseline(b *testing.B) {
	m := newManager(b, token.Config{Secret: []byte(testSecret)})
	tok := issueAccess(b, m).Token
	key := []byte(testSecret)
	keyfunc := func(*jwt.Token) (any, error) { return key, nil }
	b.ReportAllocs()
	for b.Loop() {
		var c baselineClaims
		if _, err := jwt.ParseWithClaims(tok, &c, keyfunc, jwt.WithValidMethods([]string{"HS256"})); err != nil {
			b.Fatal(err)
		}
	}
}
