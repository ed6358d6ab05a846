package mailer

import (
	"context"
	"strings"
)

// Message is one email to one recipient. The zero value is an empty message
// with no recipient, which [SMTP.Send] refuses.
type Message struct {
	To      string // the recipient's address, e.g. "ada@example.com"
	Subject string // plain text; encoded for the header when not ASCII
	Text    string // plain-text body
	HTML    string // HTML body; may be empty (then the message is single-part text/plain)

	// Kind names the template that made the message; [Templates.Render]
	// sets it, and it is empty for a message built otherwise. It is not
	// sent: [Async] logs it in place of the subject, which a template may
	// fill with a code.
	Kind Kind
}

// Mailer sends one message. Implementations must be safe for concurrent use.
// The ctx bounds the send; an implementation returns an error when the
// message was not accepted, and [IsTemporary] tells whether trying again
// later may help.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Func adapts an ordinary function to the [Mailer] interface, like
// http.HandlerFunc. It is as safe for concurrent use as the function is.
type Func func(ctx context.Context, m Message) error

// Send calls f(ctx, m) and returns what it returns.
func (f Func) Send(ctx context.Context, m Message) error { return f(ctx, m) }

var (
	_ Mailer = Func(nil)
	_ Mailer = (*SMTP)(nil)
	_ Mailer = (*Log)(nil)
	_ Mailer = (*Recorder)(nil)
	_ Mailer = (*Async)(nil)
)

// hasLineBreak reports whether s holds a character that would end a header
// line (or that no header may hold).
func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }
