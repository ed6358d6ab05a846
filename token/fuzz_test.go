package token_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// FuzzVerify feeds Verify arbitrary strings. It must never panic, must return
// only this package's errors, and must accept only tokens whose claims are
// complete.
func FuzzVerify(f *testing.F) {
	c := newClock()
	m := hsManager(f, c)
	access, refresh := issueAccess(f, m), issueRefresh(f, m)
	good := claimsAt(c.Now())
	for _, seed := range []string{
		access.Token,
		refresh.Token,
		access.Token + "x",
		strings.Replace(access.Token, ".", "..", 1),
		craft(f, header("none"), good, unsigned()),
		craft(f, header("HS256"), edit(good, "exp", nil), hs256()),
		craft(f, header("HS256"), edit(good, "aud", 7), hs256()),
		craft(f, header("HS256", "kid", map[string]any{"x": 1}), good, hs256()),
		"",
		"..",
		"a.b.c",
		"eyJhbGciOiJub25lIn0.e30.",
		strings.Repeat(".", 100),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, want := range []token.Type{token.TypeAccess, token.TypeRefresh} {
			claims, err := m.Verify(s, want)
			if err != nil {
				require.True(t, isVerifyErr(err), "unexpected error kind: %v", err)
				require.Equal(t, token.Claims{}, claims)
				continue
			}
			require.Equal(t, want, claims.Type)
			require.NotEmpty(t, claims.Subject)
			require.NotEmpty(t, claims.UserID)
			require.NotEmpty(t, claims.ID)
			require.True(t, claims.ExpiresAt.After(claims.IssuedAt))
			require.True(t, c.Now().Before(claims.ExpiresAt.Add(token.DefaultLeeway)))
			require.False(t, claims.IssuedAt.After(c.Now().Add(token.DefaultLeeway)))
			if want == token.TypeRefresh {
				require.NotEmpty(t, claims.SessionID)
			}
		}
	})
}

func isVerifyErr(err error) bool {
	return errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrExpired)
}
