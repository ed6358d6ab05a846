package auth_test

import (
	"context"
	"testing"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/internal/fakeauthn"
)

// BenchmarkPasskeyCeremonies measures both halves of both ceremonies in
// process, on memory, with ES256: begin (options, challenge, the ceremony
// ticket) and finish (taking the ticket, parsing, verifying the
// attestation or the signature, storing). The authenticator's own work
// (key generation, signing) runs with the timer stopped. Compare with
// BenchmarkLoginWithMFA/password, whose cost is mostly the Argon2id hash.
func BenchmarkPasskeyCeremonies(b *testing.B) {
	ctx := context.Background()
	b.Run("register/begin", func(b *testing.B) {
		f := newFixture(b, newMemStore, passkeysOn)
		f.verifiedUser(b, "alice")
		id := f.identity(b, f.login(b, "alice", strongPassword))
		for b.Loop() {
			if _, err := f.svc.BeginPasskeyRegistration(ctx, id, auth.Client{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("register/finish", func(b *testing.B) {
		f := newFixture(b, newMemStore, passkeysOn)
		f.verifiedUser(b, "alice")
		id := f.identity(b, f.login(b, "alice", strongPassword))
		for b.Loop() {
			b.StopTimer()
			c, err := f.svc.BeginPasskeyRegistration(ctx, id, auth.Client{})
			if err != nil {
				b.Fatal(err)
			}
			cred, _, err := fakeauthn.New(passkeyOrigin).Create(c.Options)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			p, err := f.svc.FinishPasskeyRegistration(ctx, id, c.ID, cred, "", auth.Client{})
			if err != nil {
				b.Fatal(err)
			}
			// One passkey at a time, as a user has: the list each
			// finish reads does not grow with b.N.
			b.StopTimer()
			if err := f.svc.DeletePasskey(ctx, id, p.ID, auth.Client{}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("login/begin", func(b *testing.B) {
		f := newFixture(b, newMemStore, passkeysOn)
		for b.Loop() {
			if _, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("login/finish", func(b *testing.B) {
		f := newFixture(b, newMemStore, passkeysOn)
		f.verifiedUser(b, "alice")
		a := fakeauthn.New(passkeyOrigin)
		f.addPasskey(b, a, f.identity(b, f.login(b, "alice", strongPassword)))
		for b.Loop() {
			b.StopTimer()
			c, err := f.svc.BeginPasskeyLogin(ctx, "", "", auth.Client{})
			if err != nil {
				b.Fatal(err)
			}
			cred, err := a.Get(c.Options)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := f.svc.FinishPasskeyLogin(ctx, c.ID, cred, auth.Client{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
