package password_test

import (
	"context"
	"strings"
	"testing"

	"github.com/forgeauth/forgeauth/password"
)

func BenchmarkHash(b *testing.B) {
	p := password.DefaultParams()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := password.Hash("correct horse battery staple", p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	encoded := mustHash(b, "correct horse battery staple", password.DefaultParams())
	b.ReportAllocs()
	for b.Loop() {
		if err := password.Verify("correct horse battery staple", encoded); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHasherHash(b *testing.B) {
	h, err := password.NewHasher(password.HasherConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHasherVerify(b *testing.B) {
	h, err := password.NewHasher(password.HasherConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	encoded := mustHash(b, "correct horse battery staple", password.DefaultParams())
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Verify(ctx, "correct horse battery staple", encoded); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMalformed measures the refusal of a hostile stored hash
// that announces the largest costs: it must cost microseconds, not Argon2.
func BenchmarkVerifyMalformed(b *testing.B) {
	encoded := "$argon2id$v=19$m=262144,t=10,p=16$" + b64(64) + "$" + b64(128) + "="
	b.ReportAllocs()
	for b.Loop() {
		if err := password.Verify("pw", encoded); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := password.Decode(goodHash); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := password.DefaultPolicy()
	b.Run("strong", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Check("Xy7!kq2Lm-correct-horse", "alice", "alice@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("16KiB", func(b *testing.B) {
		long := strings.Repeat("Aa1!", 4096)
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Check(long, "alice", "alice@example.com"); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}
