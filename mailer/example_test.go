package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing/fstest"
	"time"

	"github.com/forgeauth/forgeauth/mailer"
)

func ExampleFunc() {
	var m mailer.Mailer = mailer.Func(func(_ context.Context, msg mailer.Message) error {
		fmt.Printf("to %s: %s\n", msg.To, msg.Subject)
		return nil
	})
	if err := m.Send(context.Background(), mailer.Message{To: "ada@example.org", Subject: "Hello"}); err != nil {
		fmt.Println(err)
	}
	// Output: to ada@example.org: Hello
}

func ExampleNewSMTP() {
	_, err := mailer.NewSMTP(mailer.SMTPConfig{
		Host:      "smtp.example.com",
		FromName:  "Example\r\nBcc: eve@example.org",
		FromEmail: "no-reply@example.com",
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, mailer.ErrInvalidConfig), errors.Is(err, mailer.ErrHeaderInjection))
	// Output:
	// mailer: invalid SMTPConfig.FromName: CR, LF or NUL in a header value
	// true true
}

func ExampleSMTP_Send() {
	s, err := mailer.NewSMTP(mailer.SMTPConfig{
		Host:      "smtp.example.com",
		FromEmail: "no-reply@example.com",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = s.Send(context.Background(), mailer.Message{
		To:      "ada@example.org",
		Subject: "Hello\r\nBcc: eve@example.org",
		Text:    "Hi",
	})
	fmt.Println(errors.Is(err, mailer.ErrHeaderInjection))
	// Output: true
}

func ExampleIsTemporary() {
	for _, err := range []error{
		&mailer.SMTPError{Code: 451, Message: "4.7.1 Try again later", Op: "rcpt"},
		&mailer.SMTPError{Code: 550, Message: "5.1.1 No such user", Op: "rcpt"},
		fmt.Errorf("mailer: greeting: %w", context.DeadlineExceeded),
	} {
		fmt.Println(mailer.IsTemporary(err), err)
	}
	// Output:
	// true mailer: rcpt: server replied 451 4.7.1 Try again later
	// false mailer: rcpt: server replied 550 5.1.1 No such user
	// true mailer: greeting: context deadline exceeded
}

func ExampleNewLog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	m := mailer.NewLog(logger)
	_ = m.Send(context.Background(), mailer.Message{To: "ada@example.org", Subject: "Verify your email", Text: "Code: 042137"})
	// Output: level=INFO msg="mailer: email not sent (development mailer)" to=ada@example.org subject="Verify your email" text="Code: 042137"
}

func ExampleRecorder_Wait() {
	var rec mailer.Recorder
	go func() {
		_ = rec.Send(context.Background(), mailer.Message{To: "ada@example.org", Subject: "Verify your email"})
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := rec.Wait(ctx, "ada@example.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Subject)
	// Output: Verify your email
}

func ExampleTemplates_Render() {
	tpl, err := mailer.LoadTemplates("") // the embedded defaults
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := tpl.Render(mailer.Verification, "ada@example.org", mailer.Data{
		AppName:           "Example",
		Username:          "ada",
		Code:              "042137",
		ExpirationMinutes: 60,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Subject)
	fmt.Println(strings.Contains(m.Text, "042137"), strings.Contains(m.HTML, "042137"))
	// Output:
	// Verify your email
	// true true
}

func ExampleLoadTemplates() {
	dir, err := os.MkdirTemp("", "templates")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	// Replace the subject of the welcome email and keep its body.
	err = os.WriteFile(dir+"/welcome.txt", []byte(`{{define "subject"}}{{.Username}}, welcome aboard{{end}}`), 0o600)
	if err != nil {
		fmt.Println(err)
		return
	}

	tpl, err := mailer.LoadTemplates(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := tpl.Render(mailer.Welcome, "ada@example.org", mailer.Data{AppName: "Example", Username: "ada"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Subject)
	// Output: ada, welcome aboard
}

func ExampleLoadTemplatesFS() {
	// fsys is usually an embed.FS of the application's own templates:
	//
	//	//go:embed emails/*
	//	var emails embed.FS
	//	fsys, err := fs.Sub(emails, "emails")
	//
	// It may hold only some of the files; the others keep their defaults.
	fsys := fstest.MapFS{
		"password_reset.txt": {Data: []byte(`{{define "subject"}}{{.AppName}}: reset your password{{end -}}
Your code: {{.Code}}
`)},
	}
	tpl, err := mailer.LoadTemplatesFS(fsys)
	if err != nil {
		fmt.Println(err)
		return
	}
	data := mailer.Data{AppName: "Example", Username: "ada", Code: "042137", ExpirationMinutes: 60}
	for _, kind := range []mailer.Kind{mailer.PasswordReset, mailer.Verification} {
		m, err := tpl.Render(kind, "ada@example.org", data)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %q\n", m.Subject, strings.SplitN(m.Text, "\n", 2)[0])
	}

	// A broken file is an error at load, naming the file.
	_, err = mailer.LoadTemplatesFS(fstest.MapFS{"welcome.html": {Data: []byte("<p>{{.Nmae}}</p>")}})
	fmt.Println(errors.Is(err, mailer.ErrTemplate), strings.Contains(err.Error(), "welcome.html"))
	// Output:
	// Example: reset your password: "Your code: 042137"
	// Verify your email: "Hi ada,"
	// true true
}

func ExampleAsync() {
	var rec mailer.Recorder
	async, err := mailer.NewAsync(&rec, mailer.AsyncConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}

	// In a handler: returns at once, the worker sends.
	if err := async.Send(context.Background(), mailer.Message{To: "ada@example.org", Subject: "Welcome"}); err != nil {
		fmt.Println(err)
	}

	// When the service stops: deliver what is queued, for at most 10 s.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := async.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(len(rec.Messages()))
	fmt.Println(errors.Is(async.Send(context.Background(), mailer.Message{}), mailer.ErrClosed))
	// Output:
	// 1
	// true
}

func ExampleAsync_Reserve() {
	var rec mailer.Recorder
	async, err := mailer.NewAsync(&rec, mailer.AsyncConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer async.Shutdown(context.Background())

	// A password reset: take a slot before voiding the user's old code, so
	// that the new code is not lost to a full queue.
	r, err := async.Reserve("ada@example.org")
	if err != nil {
		fmt.Println("try again later:", err) // the old code is still valid
		return
	}
	defer r.Cancel() // on every path; after Send it does nothing

	// ... void the old code, make the new one, render the message ...
	m := mailer.Message{To: "ada@example.org", Subject: "Reset your password", Kind: mailer.PasswordReset}
	if err := r.Send(context.Background(), m); err != nil {
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err = rec.Wait(ctx, "ada@example.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Kind, m.Subject)
	// Output: password_reset Reset your password
}
