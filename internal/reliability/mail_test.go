package reliability_test

import (
	"bytes"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/mailer"
)

// smtpServer is an in-process SMTP server on 127.0.0.1 that keeps what it
// accepts.
type smtpServer struct {
	addr string

	mu      sync.Mutex
	msgs    []delivered
	arrived chan struct{} // closed and replaced at every message
}

// delivered is one accepted message, decoded.
type delivered struct {
	to      string
	subject string
	text    string // the text/plain part
	at      int    // its rank among all the server accepted
}

func startSMTP(tb testing.TB) *smtpServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	s := &smtpServer{addr: ln.Addr().String(), arrived: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: s}, nil
	}))
	srv.Domain = "mx.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *smtpServer) accept(to string, data []byte) error {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return err
	}
	text, err := plainText(msg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, delivered{to: to, subject: msg.Header.Get("Subject"), text: text, at: len(s.msgs)})
	close(s.arrived)
	s.arrived = make(chan struct{})
	return nil
}

// plainText returns the decoded text/plain part of a message.
func plainText(msg *mail.Message) (string, error) {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		var r io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		return string(b), err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(p)
			return string(b), err
		}
	}
}

// messages returns what the server accepted so far, and a channel closed
// at the next message.
func (s *smtpServer) messages() ([]delivered, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.msgs...), s.arrived
}

// waitFor waits until cond holds for the messages so far.
func (s *smtpServer) waitFor(tb testing.TB, what string, cond func([]delivered) bool) []delivered {
	tb.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for {
		msgs, arrived := s.messages()
		if cond(msgs) {
			return msgs
		}
		select {
		case <-arrived:
		case <-deadline.C:
			tb.Fatalf("%s: not within %s; %d messages accepted", what, guard, len(msgs))
		}
	}
}

type smtpSession struct {
	srv *smtpServer
	to  string
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return s.srv.accept(s.to, b)
}
func (s *smtpSession) Reset()        { s.to = "" }
func (s *smtpSession) Logout() error { return nil }

const (
	verifySubject = "Verify your email"
	resetSubject  = "Reset your password"
	acceptedBody  = `{"detail":"If the account exists, an email has been sent."}` + "\n"
)

// TestMailServerOutage puts the real SMTP mailer, with a short timeout,
// under the service's own asynchronous queue, and takes the mail server
// away: first refusing connections, then hanging (accepting and never
// answering). Registration and forgot-password answer as usual (201, and
// 202 with the same body) all along, the accounts exist, and once the
// server is back a resent verification code arrives and works. The
// latencies of each phase are logged, not asserted.
func TestMailServerOutage(t *testing.T) {
	mx := startSMTP(t)
	p := newProxy(t, mx.addr)
	host, port, err := net.SplitHostPort(p.Addr())
	require.NoError(t, err)
	portN, err := strconv.Atoi(port)
	require.NoError(t, err)
	smtpMailer, err := mailer.NewSMTP(mailer.SMTPConfig{
		Host:      host,
		Port:      portN,
		FromEmail: "no-reply@example.com",
		Insecure:  true, // the test server offers no STARTTLS
		Timeout:   300 * time.Millisecond,
	})
	require.NoError(t, err)
	s := newService(t, serviceOpts{mailer: smtpMailer})

	const perPhase = 4
	type phase struct {
		name  string
		begin func()
		// failed recognises the log line of a send that failed the way
		// this phase makes sends fail.
		failed string
	}
	phases := []phase{
		{name: "healthy", begin: p.Restore},
		{name: "down", begin: p.Cut, failed: "connection reset by peer"},
		{name: "hanging", begin: p.Hang, failed: "deadline exceeded"},
	}
	var (
		forgotBodies = map[string]bool{}
		users        = map[string][]string{}
	)
	for _, ph := range phases {
		ph.begin()
		var reg, forgot []time.Duration
		for i := range perPhase {
			name := ph.name[:4] + strconv.Itoa(i)
			email := name + "@example.com"
			a := s.c.post(t, "/auth/register", "", map[string]string{"username": name, "email": email, "password": strongPW})
			a.expect(t, http.StatusCreated, "")
			reg = append(reg, a.took)
			a = s.c.post(t, "/auth/forgot-password", "", map[string]string{"email": email})
			a.expect(t, http.StatusAccepted, "")
			forgotBodies[string(a.body)] = true
			forgot = append(forgot, a.took)
			users[ph.name] = append(users[ph.name], name)
		}
		// An unknown address gets the very same answer.
		a := s.c.post(t, "/auth/forgot-password", "", map[string]string{"email": "nobody-" + ph.name + "@example.com"})
		a.expect(t, http.StatusAccepted, "")
		forgotBodies[string(a.body)] = true
		if ph.failed == "" {
			// Healthy: every mail arrives before the server goes away.
			prefix := ph.name[:4]
			mx.waitFor(t, "the mails of the "+ph.name+" phase", func(msgs []delivered) bool {
				got := map[string]bool{}
				for _, m := range msgs {
					if strings.HasPrefix(m.to, prefix) {
						got[m.to+" "+m.subject] = true
					}
				}
				return len(got) == 2*perPhase
			})
		} else {
			// The queue has met the failure (not merely queued mails
			// behind it) before the phase ends.
			s.logs.waitFor(t, "a failed send while the mail server is "+ph.name, nil, func(log string) (string, bool) {
				for line := range strings.Lines(log) {
					if strings.Contains(line, "mailer: temporary failure") && strings.Contains(line, ph.failed) {
						return line, true
					}
				}
				return "", false
			})
		}
		t.Logf("mail server %s: register %s", ph.name, quantiles(reg))
		t.Logf("mail server %s: forgot-password %s", ph.name, quantiles(forgot))
	}
	p.Restore()
	assert.Equal(t, map[string]bool{acceptedBody: true}, forgotBodies, "forgot-password answered differently")

	// The accounts made while the server was away exist, with their
	// password: a login is refused for the unverified email only.
	for _, name := range append(users["down"], users["hanging"]...) {
		s.c.post(t, "/auth/login", "", map[string]string{"username": name, "password": strongPW}).
			expect(t, http.StatusForbidden, "email_not_verified")
	}

	// Past the resend cooldown, without sleeping.
	s.clock.Advance(61 * time.Second)
	restored, _ := mx.messages()
	for _, name := range append(users["down"], users["hanging"]...) {
		email := name + "@example.com"
		s.c.post(t, "/auth/resend-verification", "", map[string]string{"email": email}).
			expect(t, http.StatusAccepted, "")
		verifyWithMailedCode(t, s, mx, email, len(restored))
	}
	log := s.logs.String()
	for _, cause := range logCauses(log, "mailer: temporary failure", 4) {
		t.Logf("a failed send: %s", cause)
	}
	acc, _ := p.Stats()
	msgs, _ := mx.messages()
	t.Logf("the mail server accepted %d messages over %d connections", len(msgs), acc)
}

// verifyWithMailedCode verifies email with the code of a verification mail
// the server accepted after the first `after` messages. Mails queued during
// the outage may arrive after the resent one, and their codes were voided
// by it, so the candidates are tried newest first until one works (fewer
// than the five attempts a code allows).
func verifyWithMailedCode(t *testing.T, s *service, mx *smtpServer, email string, after int) {
	t.Helper()
	tried := map[int]bool{}
	for {
		msgs := mx.waitFor(t, "a verification mail to "+email, func(msgs []delivered) bool {
			for _, m := range msgs[after:] {
				if m.to == email && m.subject == verifySubject && !tried[m.at] {
					return true
				}
			}
			return false
		})
		for i := len(msgs) - 1; i >= after; i-- {
			m := msgs[i]
			if m.to != email || m.subject != verifySubject || tried[m.at] {
				continue
			}
			tried[m.at] = true
			c := codeRE.FindStringSubmatch(m.text)
			require.NotNil(t, c, "no code in %q", m.text)
			a := s.c.post(t, "/auth/verify-email", "", map[string]string{"email": email, "code": c[1]})
			if a.status == http.StatusOK {
				var u userJSON
				a.decode(t, &u)
				require.True(t, u.IsVerified)
				s.login(t, strings.TrimSuffix(email, "@example.com"), strongPW)
				return
			}
			a.expect(t, http.StatusBadRequest, "invalid_code")
			require.Less(t, len(tried), 4, "no mailed code works for %s", email)
		}
	}
}
