package main

import (
	"bytes"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// mailbox is an in-process SMTP server on 127.0.0.1 (plain SMTP, no
// authentication) that keeps every message it accepts.
type mailbox struct {
	Host string
	Port int

	mu      sync.Mutex
	msgs    []delivered
	changed chan struct{} // closed and replaced on every delivery
}

// delivered is one accepted message, parsed.
type delivered struct {
	EnvelopeTo []string
	Header     mail.Header
	Subject    string // decoded
	Text, HTML string // the decoded parts
}

func startMailbox(tb testing.TB) *mailbox {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	mb := &mailbox{changed: make(chan struct{})}
	host, port, err := net.SplitHostPort(l.Addr().String())
	require.NoError(tb, err)
	mb.Host = host
	mb.Port, err = strconv.Atoi(port)
	require.NoError(tb, err)

	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailSession{mb: mb, tb: tb}, nil
	}))
	srv.Domain = "mx.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	go func() { _ = srv.Serve(l) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return mb
}

// env returns the variables that send mail to this server.
func (mb *mailbox) env() map[string]string {
	return map[string]string{
		"EMAIL_HOST":       mb.Host,
		"EMAIL_PORT":       strconv.Itoa(mb.Port),
		"EMAIL_USE_TLS":    "false",
		"EMAIL_FROM_EMAIL": "no-reply@example.com",
		"EMAIL_FROM_NAME":  "Forge Test",
	}
}

func (mb *mailbox) deliver(d delivered) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.msgs = append(mb.msgs, d)
	close(mb.changed)
	mb.changed = make(chan struct{})
}

func (mb *mailbox) snapshot() ([]delivered, <-chan struct{}) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]delivered(nil), mb.msgs...), mb.changed
}

// find returns the n-th (from 0) message to `to` whose subject is subject.
func find(msgs []delivered, to, subject string, n int) (delivered, bool) {
	for _, m := range msgs {
		if m.Subject == subject && len(m.EnvelopeTo) == 1 && m.EnvelopeTo[0] == to {
			if n == 0 {
				return m, true
			}
			n--
		}
	}
	return delivered{}, false
}

// wait returns the n-th (from 0) message to `to` with subject, waiting
// until it arrives.
func (mb *mailbox) wait(tb testing.TB, to, subject string, n int) delivered {
	tb.Helper()
	deadline := time.After(waitTimeout)
	for {
		msgs, changed := mb.snapshot()
		if m, ok := find(msgs, to, subject, n); ok {
			return m
		}
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("no email %q to %s; got %d messages", subject, to, len(msgs))
		}
	}
}

// code returns the 6-digit code of the n-th such message, after checking
// that both parts carry it.
func (mb *mailbox) code(tb testing.TB, to, subject string, n int) string {
	tb.Helper()
	m := mb.wait(tb, to, subject, n)
	match := codeRE.FindStringSubmatch(m.Text)
	require.NotNil(tb, match, "no code in the text part:\n%s", m.Text)
	require.Contains(tb, m.HTML, match[1], "the HTML part lacks the code")
	return match[1]
}

type mailSession struct {
	mb *mailbox
	tb testing.TB
	to []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	d, err := parseMessage(raw)
	if err != nil {
		s.tb.Errorf("unparsable message: %v\n%s", err, raw)
		return err
	}
	d.EnvelopeTo = s.to
	s.mb.deliver(d)
	return nil
}

func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

// parseMessage reads a message as a mail client would: headers, the
// decoded subject, and the text and HTML parts of a multipart/alternative
// body, or a single text/plain body.
func parseMessage(raw []byte) (delivered, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return delivered{}, err
	}
	d := delivered{Header: msg.Header}
	if d.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return delivered{}, err
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return delivered{}, err
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		b, err := io.ReadAll(msg.Body)
		d.Text = string(b)
		return d, err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			return d, nil
		}
		if err != nil {
			return delivered{}, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return delivered{}, err
		}
		pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return delivered{}, err
		}
		switch pt {
		case "text/plain":
			d.Text = string(b)
		case "text/html":
			d.HTML = string(b)
		}
	}
}
