// Package mailer sends the emails of the authentication flows: the [Mailer]
// interface with its [Func] adapter, an [SMTP] mailer, the [Log] mailer for
// development, the [Recorder] for tests, the [Async] wrapper that sends in
// the background with retries, and the [Templates] of the verification,
// password-reset and welcome emails.
//
//	tpl, err := mailer.LoadTemplates(os.Getenv("EMAIL_TEMPLATE_DIR"))
//	if err != nil {
//		return err
//	}
//	smtpMailer, err := mailer.NewSMTP(mailer.SMTPConfig{
//		Host:      "smtp.example.com",
//		Username:  "apikey",
//		Password:  os.Getenv("EMAIL_HOST_PASSWORD"),
//		FromName:  "Example",
//		FromEmail: "no-reply@example.com",
//	})
//	if err != nil {
//		return err
//	}
//	async := mailer.NewAsync(smtpMailer, mailer.AsyncConfig{})
//	defer async.Shutdown(context.Background())
//
//	m, err := tpl.Render(mailer.Verification, "ada@example.com", mailer.Data{
//		AppName: "Example", Username: "ada", Code: "042137", ExpirationMinutes: 60,
//	})
//	if err != nil {
//		return err
//	}
//	return async.Send(ctx, m)
//
// # SMTP
//
// [SMTP] opens one connection per message with net/smtp from the standard
// library. TLS is required by default: STARTTLS on any port but 465, where
// TLS starts at once ([SMTPConfig.ImplicitTLS] selects that on another
// port). Plain SMTP needs [SMTPConfig.Insecure], set explicitly. Credentials
// go only inside TLS or to the loopback interface. Every send is bounded by
// the ctx and [SMTPConfig.Timeout]: a server that never answers gives
// context.DeadlineExceeded. Refusals come back as [*SMTPError] with the
// server's code, and [IsTemporary] tells a 4xx, a timeout or a dropped
// connection (worth retrying) from a 5xx or a bad message (not).
//
// Messages are multipart/alternative (text/plain, then text/html) when they
// have HTML, otherwise single-part text/plain; both parts are UTF-8 in
// quoted-printable. A CR, LF or NUL in a header value is refused with
// [ErrHeaderInjection] before anything is dialed.
//
// # Templates
//
// [LoadTemplates] returns the embedded defaults, each replaceable by a file
// of the same name in a directory (EMAIL_TEMPLATE_DIR). A template that
// does not parse or does not execute is an error there, at start, not when
// the first user registers. The subject is the {{define "subject"}} block
// of the .txt file. The HTML emails use inline styles and tables so that
// mail clients render them alike, and show the code large in a monospace
// font; they hold no links, so nothing from a request (such as its Host
// header) can reach an email.
package mailer
