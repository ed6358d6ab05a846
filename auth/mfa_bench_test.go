package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/totp"
)

// BenchmarkVerifyMFA measures the second step alone, on memory: taking the
// mfa_token, opening the secret and checking a TOTP code (or digesting a
// recovery code), spending it, and starting the session.
func BenchmarkVerifyMFA(b *testing.B) {
	ctx := context.Background()
	b.Run("totp", func(b *testing.B) {
		f := newFixture(b, newMemStore, mfaOn)
		e := f.enrol(b, "alice")
		for b.Loop() {
			b.StopTimer()
			f.clock.Advance(totp.Period)
			tok := f.challenge(b, "alice")
			code := f.code(b, e.secret)
			b.StartTimer()
			if _, err := f.svc.VerifyMFA(ctx, tok, code, "", auth.Client{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recovery_code", func(b *testing.B) {
		f := newFixture(b, newMemStore, mfaOn)
		e := f.enrol(b, "alice")
		id := f.identity(b, e.tokens)
		codes := e.recovery
		for b.Loop() {
			b.StopTimer()
			if len(codes) == 0 {
				f.clock.Advance(totp.Period)
				var err error
				if codes, err = f.svc.RegenerateRecoveryCodes(ctx, id, strongPassword, f.code(b, e.secret), auth.Client{}); err != nil {
					b.Fatal(err)
				}
			}
			tok := f.challenge(b, "alice")
			code := codes[0]
			codes = codes[1:]
			b.StartTimer()
			if _, err := f.svc.VerifyMFA(ctx, tok, "", code, auth.Client{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLoginWithMFA compares a whole login in process: the password
// alone, and the password then a TOTP code (the two steps). The difference
// is what the second factor costs beyond the hash.
func BenchmarkLoginWithMFA(b *testing.B) {
	ctx := context.Background()
	b.Run("password", func(b *testing.B) {
		f := newFixture(b, newMemStore, mfaOn)
		f.verifiedUser(b, "alice")
		for b.Loop() {
			if _, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("password+totp", func(b *testing.B) {
		f := newFixture(b, newMemStore, mfaOn)
		e := f.enrol(b, "alice")
		for b.Loop() {
			b.StopTimer()
			f.clock.Advance(totp.Period)
			code := f.code(b, e.secret)
			b.StartTimer()
			_, err := f.svc.Login(ctx, "alice", strongPassword, auth.Client{})
			var req *auth.MFARequiredError
			if !errors.As(err, &req) {
				b.Fatal(err)
			}
			if _, err := f.svc.VerifyMFA(ctx, req.Token, code, "", auth.Client{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
