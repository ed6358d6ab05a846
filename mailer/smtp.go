package mailer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// SMTPConfig configures [NewSMTP]. The zero value of every optional field is
// the secure default: TLS is required (STARTTLS, or implicit TLS on port
// 465), certificates are verified against the system roots, and credentials
// are never sent in clear text to another machine.
type SMTPConfig struct {
	// Host is the server's name or IP address, without a port. Required.
	// It is also the name the server's certificate must carry, unless
	// TLSConfig sets ServerName.
	Host string

	// Port defaults to 587 (submission with STARTTLS), or 465 when
	// ImplicitTLS is set.
	Port int

	// Username and Password authenticate with AUTH PLAIN when Username is
	// set. They are sent only inside TLS, or to a server on localhost,
	// 127.0.0.1 or ::1.
	Username string
	Password string

	// Insecure allows plain SMTP when the server does not offer STARTTLS.
	// It must be set explicitly (EMAIL_USE_TLS=false): by default a server
	// that does not offer STARTTLS gets [ErrNoSTARTTLS] and no message.
	// Even when Insecure is set, STARTTLS is used when the server offers it
	// and a failed handshake is an error; with ImplicitTLS (or port 465)
	// Insecure has no effect.
	Insecure bool

	// ImplicitTLS starts TLS before the first SMTP byte (SMTPS, RFC 8314)
	// instead of upgrading with STARTTLS. Port 465 always uses implicit TLS;
	// this field selects it on another port.
	ImplicitTLS bool

	// FromName is the display name of the sender (EMAIL_FROM_NAME), encoded
	// per RFC 2047 when it is not ASCII. Optional.
	FromName string

	// FromEmail is the sender's address (EMAIL_FROM_EMAIL), used in the From
	// header, the envelope and the Message-ID. Required; a bare address such
	// as "no-reply@example.com".
	FromEmail string

	// TLSConfig is used for STARTTLS and implicit TLS. It is cloned; nil
	// means the system roots. An empty ServerName is set to Host and a zero
	// MinVersion to TLS 1.2.
	TLSConfig *tls.Config

	// Timeout bounds a whole Send (dial, TLS, every command, the data) when
	// the ctx given to Send has no earlier deadline. Zero means 10 s.
	Timeout time.Duration

	// LocalName is the name sent with EHLO. Empty means "localhost".
	LocalName string

	// Dial opens the TCP connection. Nil means a net.Dialer's DialContext.
	// Set it to go through a proxy or, in tests, to reach a server under
	// another name.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	// Now gives the Date header. Nil means time.Now.
	Now func() time.Time

	// Rand gives the randomness of the Message-ID and the MIME boundary.
	// Nil means crypto/rand.Reader.
	Rand io.Reader
}

const (
	defaultPort      = 587
	implicitTLSPort  = 465
	defaultTimeout   = 10 * time.Second
	defaultLocalName = "localhost"
)

// SMTP sends each message over its own connection to an SMTP server,
// implementing [Mailer]. Create it with [NewSMTP] (the zero value is not
// usable); it is safe for concurrent use. It uses the standard library's net/smtp client, which covers EHLO,
// STARTTLS, AUTH PLAIN (refusing clear text to other machines) and
// dot-stuffing of the data; SMTP adds the deadlines, the TLS policy and the
// message format.
type SMTP struct {
	host        string
	addr        string
	username    string
	password    string
	insecure    bool
	implicitTLS bool
	from        string // envelope sender
	fromHeader  string // the From header value
	domain      string // for the Message-ID
	tls         *tls.Config
	timeout     time.Duration
	localName   string
	dial        func(ctx context.Context, network, address string) (net.Conn, error)
	now         func() time.Time
	rand        io.Reader
}

// NewSMTP checks cfg and returns an SMTP mailer. It does not connect.
// Every error is a [*ConfigError] (matching [ErrInvalidConfig]): Host
// missing or holding a port or spaces, Port outside 1..65535, FromEmail
// missing or not a bare address, a Password without a Username, a negative
// Timeout, and a CR, LF or NUL in FromName, FromEmail or LocalName (which
// also matches [ErrHeaderInjection]).
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	bad := func(field string, err error) (*SMTP, error) {
		return nil, &ConfigError{Config: "SMTPConfig", Field: field, Err: err}
	}
	switch {
	case cfg.Host == "":
		return bad("Host", errors.New("required"))
	case hasLineBreak(cfg.Host) || strings.ContainsAny(cfg.Host, " \t/"):
		return bad("Host", errors.New("not a host name"))
	case strings.Contains(cfg.Host, ":") && net.ParseIP(cfg.Host) == nil:
		return bad("Host", errors.New("must not include a port (set Port)"))
	}
	implicit := cfg.ImplicitTLS || cfg.Port == implicitTLSPort
	port := cfg.Port
	switch {
	case port == 0 && implicit:
		port = implicitTLSPort
	case port == 0:
		port = defaultPort
	case port < 0 || port > 65535:
		return bad("Port", fmt.Errorf("%d is outside 1..65535", cfg.Port))
	}
	if cfg.Password != "" && cfg.Username == "" {
		return bad("Password", errors.New("set without Username"))
	}
	if hasLineBreak(cfg.FromName) {
		return bad("FromName", ErrHeaderInjection)
	}
	switch {
	case cfg.FromEmail == "":
		return bad("FromEmail", errors.New("required"))
	case hasLineBreak(cfg.FromEmail):
		return bad("FromEmail", ErrHeaderInjection)
	}
	from, err := mail.ParseAddress(cfg.FromEmail)
	if err != nil || from.Name != "" || from.Address != cfg.FromEmail {
		return bad("FromEmail", errors.New("not a bare email address"))
	}
	if cfg.Timeout < 0 {
		return bad("Timeout", errors.New("negative"))
	}
	localName := cfg.LocalName
	switch {
	case localName == "":
		localName = defaultLocalName
	case hasLineBreak(localName):
		return bad("LocalName", ErrHeaderInjection)
	case strings.ContainsAny(localName, " \t"):
		return bad("LocalName", errors.New("not a host name"))
	}

	s := &SMTP{
		host:        cfg.Host,
		addr:        net.JoinHostPort(cfg.Host, strconv.Itoa(port)),
		username:    cfg.Username,
		password:    cfg.Password,
		insecure:    cfg.Insecure,
		implicitTLS: implicit,
		from:        from.Address,
		fromHeader:  formatAddress(cfg.FromName, from.Address),
		domain:      from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		timeout:     cfg.Timeout,
		localName:   localName,
		dial:        cfg.Dial,
		now:         cfg.Now,
		rand:        cfg.Rand,
	}
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = cfg.Host
	}
	if s.tls.MinVersion == 0 {
		s.tls.MinVersion = tls.VersionTLS12
	}
	if s.timeout == 0 {
		s.timeout = defaultTimeout
	}
	if s.dial == nil {
		s.dial = (&net.Dialer{}).DialContext
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s, nil
}

// Send delivers m over a new connection, bounded by ctx and by
// [SMTPConfig.Timeout], whichever ends first; when ctx is canceled the
// connection is closed at once.
//
// Before dialing, Send returns [ErrHeaderInjection] when m.To or m.Subject
// holds a CR, LF or NUL, and [ErrInvalidAddress] when m.To does not parse.
// Afterwards it returns [ErrNoSTARTTLS], [ErrInsecureAuth], a
// [*SMTPError] for a refusal by the server (Op names the step), an error
// wrapping ctx.Err() (context.DeadlineExceeded when the time ran out, which
// [IsTemporary] reports as temporary), or a network or TLS error wrapped
// with the step ("dial", "tls", "greeting", "starttls", ...). A nil error
// means the server accepted the message.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	rcpt, msg, err := s.compose(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	conn, err := s.dial(ctx, "tcp", s.addr)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return fmt.Errorf("mailer: dial: %w", err)
	}
	defer conn.Close()
	// A canceled ctx closes the connection so that a blocked read returns at
	// once; the deadline covers a server that never answers.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("mailer: dial: %w", err)
	}
	return s.session(ctx, conn, rcpt, msg)
}

// session speaks SMTP on conn, whose deadline is ctx's deadline.
func (s *SMTP) session(ctx context.Context, conn net.Conn, rcpt string, msg []byte) error {
	fail := func(op string, err error) error {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The connection's deadline is ctx's: ctx ends at the same
			// instant, and its error is the one callers test for.
			<-ctx.Done()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("mailer: %s: %w", op, ctxErr)
		}
		if tpErr, ok := errors.AsType[*textproto.Error](err); ok {
			return &SMTPError{Code: tpErr.Code, Message: tpErr.Msg, Op: op}
		}
		return fmt.Errorf("mailer: %s: %w", op, err)
	}

	encrypted := false
	if s.implicitTLS {
		tlsConn := tls.Client(conn, s.tls)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			return fail("tls", err)
		}
		conn, encrypted = tlsConn, true
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.localName); err != nil {
		return fail("hello", err)
	}
	if !encrypted {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tls); err != nil {
				return fail("starttls", err)
			}
			encrypted = true
		} else if !s.insecure {
			return ErrNoSTARTTLS
		}
	}
	if s.username != "" {
		// net/smtp's PlainAuth refuses the same way; checking here gives
		// callers a sentinel and keeps the rule visible.
		if !encrypted && !isLoopbackName(s.host) {
			return ErrInsecureAuth
		}
		if err := c.Auth(smtp.PlainAuth("", s.username, s.password, s.host)); err != nil {
			return fail("auth", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return fail("mail", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fail("rcpt", err)
	}
	w, err := c.Data()
	if err != nil {
		return fail("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("data", err)
	}
	if err := w.Close(); err != nil {
		return fail("data", err)
	}
	// The message is accepted: a failed QUIT must not make a caller retry
	// and deliver it twice.
	_ = c.Quit()
	return nil
}

// isLoopbackName reports whether host is one of the names net/smtp's
// PlainAuth trusts without TLS.
func isLoopbackName(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
