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
//	async, err := mailer.NewAsync(smtpMailer, mailer.AsyncConfig{})
//	if err != nil {
//		return err
//	}
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
// # Configuration
//
// In [SMTPConfig] and [AsyncConfig], the zero value of a field means its
// documented default. A negative value turns a feature off only where the
// field's comment says so (such as [AsyncConfig.SendTimeout] or
// [AsyncConfig.MaxPerRecipient]); elsewhere the constructor refuses it
// with a [*ConfigError] naming the field.
//
// # Sending in the background
//
// [Async] puts each message in a queue and returns at once; its workers
// send through the [Mailer] it wraps and retry what [IsTemporary] calls
// temporary: a 4xx reply, a timeout, a dropped connection, or an error of
// the application's own Mailer with a method Temporary() bool that returns
// true. Its log records name the recipient and the [Message.Kind], never
// the subject or the body, which may hold a code.
//
// The queue has [AsyncConfig.QueueSize] slots, at most
// [AsyncConfig.MaxPerRecipient] of them for one recipient. [Async.Send]
// drops a message with [ErrQueueFull] when there is no room. When the
// caller must know there is room before it acts (a password reset voids
// the old code before it mails the new one), it takes a slot first:
//
//	r, err := async.Reserve(user.Email)
//	if err != nil {
//		return err // ErrQueueFull: nothing was done, the old code still works
//	}
//	defer r.Cancel() // frees the slot on every early return; no-op after Send
//	// ... void the old code, store the new one, render m ...
//	return r.Send(ctx, m)
//
// Every reservation must end with Send or Cancel; a forgotten one holds
// its slot for [AsyncConfig.ReservationTTL]. [Async.Shutdown] drains the
// queue without waiting for reservations.
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
// of the same name in a directory (EMAIL_TEMPLATE_DIR); [LoadTemplatesFS]
// does the same from any fs.FS, such as an embed.FS of the application's.
// The set of overrides may be partial: a missing file keeps its default. A
// template that does not parse or does not execute is an error there,
// naming the file, at start, not when the first user registers. The
// subject is the {{define "subject"}} block of the .txt file. The HTML
// emails share the template "layout", into which each default .html file
// puts its "title" and "content"; an override .html file may define those
// two alone to keep the layout, or be a whole document that ignores it.
// The HTML emails use inline styles and tables so that mail clients render
// them alike, and show the code large in a monospace font; they hold no
// links, so nothing from a request (such as its Host header) can reach an
// email. [Templates.Render] sets [Message.Kind] to the kind rendered.
package mailer
