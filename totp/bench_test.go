package totp_test

import (
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/totp"
)

func BenchmarkValidate(b *testing.B) {
	at := time.Unix(1234567890, 0)
	b.Run("valid", func(b *testing.B) {
		code := mustCode(b, rfcSecret, at)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := totp.Validate(rfcSecret, code, at); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrong", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := totp.Validate(rfcSecret, "000000", at); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}

func BenchmarkGenerateSecret(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := totp.GenerateSecret(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQRDataURL(b *testing.B) {
	uri, err := totp.URI(rfcSecret, "Example Inc", "alice@example.com")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := totp.QRDataURL(uri); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateRecoveryCodes(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := totp.GenerateRecoveryCodes(0, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecoveryCodeDigest(b *testing.B) {
	key := key32(3)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := totp.RecoveryCodeDigest(key, "user-1", "7k3m q9tx v2cd"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealOpenSecret(b *testing.B) {
	key := key32(7)
	sealed, err := totp.SealSecret(key, "user-1", rfcSecret, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := totp.SealSecret(key, "user-1", rfcSecret, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := totp.OpenSecret(key, "user-1", sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
}
