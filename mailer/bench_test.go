package mailer_test

import (
	"testing"

	"github.com/forgeauth/forgeauth/mailer"
)

func BenchmarkTemplatesRender(b *testing.B) {
	tpl := loadTemplates(b, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(mailer.Verification, "ada@example.org", sample); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSMTPSend measures a whole send (connection, EHLO, MAIL, RCPT,
// DATA, QUIT) to the in-process server over loopback, without TLS.
func BenchmarkSMTPSend(b *testing.B) {
	ts := startServer(b, serverOptions{})
	cfg := baseConfig(ts)
	cfg.Insecure = true
	s := newSMTP(b, cfg)
	m := render(b, loadTemplates(b, ""), mailer.Verification, sample)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(b.Context(), m); err != nil {
			b.Fatal(err)
		}
	}
}
