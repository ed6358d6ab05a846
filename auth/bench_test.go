package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/password"
)

// BenchmarkAuthenticate measures the work of RequireUser without HTTP:
// token verification and the user look-up, with and without the cache of
// verified tokens.
func BenchmarkAuthenticate(b *testing.B) {
	for _, size := range []int{0, -1} {
		name := "cache"
		if size < 0 {
			name = "nocache"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, newMemStore, basicMode, func(c *auth.Config) { c.TokenCacheSize = size })
			ctx := context.Background()
			_, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
			require.NoError(b, err)
			tok := f.login(b, "alice", strongPassword)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.svc.Authenticate(ctx, tok.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthenticateManyTokens presents 20,000 distinct tokens in turn,
// twice the cache's size, so most look-ups miss and insert: the cost of
// keeping the cache bounded.
func BenchmarkAuthenticateManyTokens(b *testing.B) {
	f := newFixture(b, newMemStore, basicMode)
	ctx := context.Background()
	_, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(b, err)
	toks := make([]string, 20_000)
	for i := range toks {
		toks[i] = f.login(b, "alice", strongPassword).AccessToken
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := f.svc.Authenticate(ctx, toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLogin measures a Basic-mode login at the default Argon2id
// parameters, for a known user with the right password and for an unknown
// user (the dummy hash), whose times should match.
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b, newMemStore, basicMode, func(c *auth.Config) {
		c.Password = password.HasherConfig{}
		c.LoginMaxFailures = -1
	})
	ctx := context.Background()
	_, err := f.svc.Register(ctx, "alice", "alice@example.com", strongPassword, auth.Client{})
	require.NoError(b, err)
	for _, tc := range []struct{ name, login, pw string }{
		{"known", "alice", strongPassword},
		{"wrong_password", "alice", otherPassword},
		{"unknown_user", "nobody", strongPassword},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				_, err := f.svc.Login(ctx, tc.login, tc.pw, auth.Client{})
				if tc.name == "known" && err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkForgotPassword compares the answer time of forgot-password for
// an existing and a missing account; the code is made after the answer.
func BenchmarkForgotPassword(b *testing.B) {
	f := newFixture(b, newMemStore)
	ctx := context.Background()
	f.verifiedUser(b, "alice")
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		b.Run(email[:strings.IndexByte(email, '@')], func(b *testing.B) {
			for b.Loop() {
				if err := f.svc.ForgotPassword(ctx, email, auth.Client{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
