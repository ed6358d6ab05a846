package mailer_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/mailer"
)

var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))

// constReader yields the same byte forever.
type constReader byte

func (r constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// failingReader always fails.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// baseConfig is a configuration for ts with a fixed clock and randomness.
func baseConfig(ts *testServer) mailer.SMTPConfig {
	return mailer.SMTPConfig{
		Host:      ts.Host,
		Port:      ts.Port,
		FromName:  "Forge Auth",
		FromEmail: "no-reply@example.com",
		Timeout:   5 * time.Second,
		Now:       func() time.Time { return testNow },
		Rand:      constReader(0xab),
	}
}

func newSMTP(tb testing.TB, cfg mailer.SMTPConfig) *mailer.SMTP {
	tb.Helper()
	s, err := mailer.NewSMTP(cfg)
	require.NoError(tb, err)
	return s
}

var testMessage = mailer.Message{
	To:      "ada@example.org",
	Subject: "Verify your email",
	Text:    "Your code is 042137.\nIt expires in 60 minutes.\n",
	HTML:    "<p>Your code is <b>042137</b>.</p>",
}

func parseMessage(tb testing.TB, data []byte) *mail.Message {
	tb.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(tb, err)
	return msg
}

// bodyParts returns the decoded parts of a multipart/alternative message,
// in order, as [media type, charset, body].
func bodyParts(tb testing.TB, msg *mail.Message) [][3]string {
	tb.Helper()
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(tb, err)
	require.Equal(tb, "multipart/alternative", mediaType)
	r := multipart.NewReader(msg.Body, params["boundary"])
	var parts [][3]string
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return parts
		}
		require.NoError(tb, err)
		mt, ps, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(tb, err)
		body, err := io.ReadAll(p) // the reader undoes quoted-printable
		require.NoError(tb, err)
		parts = append(parts, [3]string{mt, ps["charset"], string(body)})
	}
}

func TestSMTPPlainDelivery(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cfg := baseConfig(ts)
	cfg.Insecure = true
	s := newSMTP(t, cfg)

	require.NoError(t, s.Send(t.Context(), testMessage))

	got := ts.Only(t)
	assert.Equal(t, "no-reply@example.com", got.From)
	assert.Equal(t, []string{"ada@example.org"}, got.To)
	assert.False(t, got.TLS)

	msg := parseMessage(t, got.Data)
	h := msg.Header
	assert.Equal(t, `"Forge Auth" <no-reply@example.com>`, h.Get("From"))
	assert.Equal(t, "ada@example.org", h.Get("To"))
	assert.Equal(t, "Verify your email", h.Get("Subject"))
	assert.Equal(t, "1.0", h.Get("MIME-Version"))
	assert.Equal(t, "<"+strings.Repeat("ab", 16)+"@example.com>", h.Get("Message-ID"))
	date, err := h.Date()
	require.NoError(t, err)
	assert.True(t, date.Equal(testNow), "Date %v", date)
	assert.Equal(t, "Fri, 14 Mar 2025 15:09:26 +0100", h.Get("Date"))

	parts := bodyParts(t, msg)
	require.Len(t, parts, 2)
	assert.Equal(t, [3]string{"text/plain", "utf-8", strings.ReplaceAll(testMessage.Text, "\n", "\r\n")}, parts[0])
	assert.Equal(t, [3]string{"text/html", "utf-8", testMessage.HTML}, parts[1])
}

func TestSMTPTextOnly(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cfg := baseConfig(ts)
	cfg.Insecure = true
	s := newSMTP(t, cfg)

	long := strings.Repeat("long line with non-ASCII: é ✓ ", 10)
	m := mailer.Message{To: "Ada Lovelace <ada@example.org>", Subject: "Hi", Text: "code: 042137\n" + long + "\n.\nend"}
	require.NoError(t, s.Send(t.Context(), m))

	got := ts.Only(t)
	assert.Equal(t, []string{"ada@example.org"}, got.To)
	for line := range strings.SplitSeq(string(got.Data), "\r\n") {
		assert.LessOrEqual(t, len(line), 78, "line %q", line)
	}
	msg := parseMessage(t, got.Data)
	assert.Equal(t, `"Ada Lovelace" <ada@example.org>`, msg.Header.Get("To"))
	assert.Equal(t, "text/plain; charset=utf-8", msg.Header.Get("Content-Type"))
	assert.Equal(t, "quoted-printable", msg.Header.Get("Content-Transfer-Encoding"))
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	require.NoError(t, err)
	// The data ends with a line break; a lone dot survives dot-stuffing.
	assert.Equal(t, strings.ReplaceAll(m.Text, "\n", "\r\n")+"\r\n", string(body))
}

func TestSMTPUTF8Headers(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cfg := baseConfig(ts)
	cfg.Insecure = true
	cfg.FromName = "Élodie's Café ✓"
	s := newSMTP(t, cfg)

	subjects := []string{
		"Vérifiez votre adresse e-mail ✓",
		strings.Repeat("Überlange Betreffzeile ", 8),
		"Reset   your password", // runs of spaces survive folding
	}
	for _, subject := range subjects {
		m := testMessage
		m.Subject = subject
		require.NoError(t, s.Send(t.Context(), m))
	}
	msgs := ts.Messages()
	require.Len(t, msgs, len(subjects))
	dec := new(mime.WordDecoder)
	for i, subject := range subjects {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			// RFC 5322: at most 998 bytes a line; folded lines near 78 (an
			// encoded word is up to 75 bytes and never split).
			for line := range strings.SplitSeq(string(msgs[i].Data), "\r\n") {
				assert.LessOrEqual(t, len(line), 998, "line %q", line)
				if strings.HasPrefix(line, " ") {
					assert.LessOrEqual(t, len(line), 78, "line %q", line)
				}
			}
			h := parseMessage(t, msgs[i].Data).Header
			raw := h.Get("Subject")
			if subject != strings.TrimSpace(subject) || !isASCII(subject) {
				assert.Contains(t, raw, "=?utf-8?")
			}
			got, err := dec.DecodeHeader(raw)
			require.NoError(t, err)
			assert.Equal(t, subject, got)

			from, err := dec.DecodeHeader(h.Get("From"))
			require.NoError(t, err)
			assert.Equal(t, cfg.FromName+" <no-reply@example.com>", from)
			addrs, err := h.AddressList("From")
			require.NoError(t, err)
			assert.Equal(t, []*mail.Address{{Name: cfg.FromName, Address: "no-reply@example.com"}}, addrs)
		})
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestSMTPSTARTTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	ts := startServer(t, serverOptions{TLS: serverTLS})
	cfg := baseConfig(ts)
	cfg.TLSConfig = clientTLS
	s := newSMTP(t, cfg)

	require.NoError(t, s.Send(t.Context(), testMessage))
	assert.True(t, ts.Only(t).TLS)
}

func TestSMTPInsecureStillUsesOfferedSTARTTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	ts := startServer(t, serverOptions{TLS: serverTLS})
	cfg := baseConfig(ts)
	cfg.Insecure = true
	cfg.TLSConfig = clientTLS
	s := newSMTP(t, cfg)

	require.NoError(t, s.Send(t.Context(), testMessage))
	assert.True(t, ts.Only(t).TLS)
}

func TestSMTPSTARTTLSRequired(t *testing.T) {
	ts := startServer(t, serverOptions{}) // offers no STARTTLS
	s := newSMTP(t, baseConfig(ts))

	err := s.Send(t.Context(), testMessage)
	require.ErrorIs(t, err, mailer.ErrNoSTARTTLS)
	assert.False(t, mailer.IsTemporary(err))
	assert.Empty(t, ts.Messages())
}

func TestSMTPUntrustedCertificate(t *testing.T) {
	serverTLS, _ := selfSigned(t)
	_, otherClientTLS := selfSigned(t) // trusts another certificate
	for _, implicit := range []bool{false, true} {
		t.Run("implicit="+strconv.FormatBool(implicit), func(t *testing.T) {
			ts := startServer(t, serverOptions{TLS: serverTLS, Implicit: implicit})
			cfg := baseConfig(ts)
			cfg.ImplicitTLS = implicit
			cfg.TLSConfig = otherClientTLS
			s := newSMTP(t, cfg)

			err := s.Send(t.Context(), testMessage)
			_, isCertErr := errors.AsType[*tls.CertificateVerificationError](err)
			assert.True(t, isCertErr, "error %v", err)
			assert.False(t, mailer.IsTemporary(err))
			assert.Empty(t, ts.Messages())
		})
	}
}

func TestSMTPAuth(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	ts := startServer(t, serverOptions{TLS: serverTLS, User: "mailer", Pass: "s3cret-pass"})

	tests := []struct {
		name     string
		password string
		wantCode int // 0: delivered
	}{
		{"right password", "s3cret-pass", 0},
		{"wrong password", "wrong", 535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(ts)
			cfg.TLSConfig = clientTLS
			cfg.Username = "mailer"
			cfg.Password = tt.password
			s := newSMTP(t, cfg)

			err := s.Send(t.Context(), testMessage)
			if tt.wantCode == 0 {
				require.NoError(t, err)
				return
			}
			smtpErr, ok := errors.AsType[*mailer.SMTPError](err)
			require.True(t, ok, "error %v", err)
			assert.Equal(t, tt.wantCode, smtpErr.Code)
			assert.Equal(t, "auth", smtpErr.Op)
			assert.False(t, mailer.IsTemporary(err))
			assert.NotContains(t, err.Error(), tt.password)
		})
	}
	got := ts.Only(t)
	assert.Equal(t, "mailer", got.User)
	assert.True(t, got.TLS)
}

func TestSMTPAuthWithoutTLS(t *testing.T) {
	ts := startServer(t, serverOptions{User: "mailer", Pass: "s3cret-pass"}) // no STARTTLS

	t.Run("remote host refused", func(t *testing.T) {
		cfg := baseConfig(ts)
		cfg.Host = "mail.example.test"
		cfg.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ts.Addr)
		}
		cfg.Insecure = true
		cfg.Username, cfg.Password = "mailer", "s3cret-pass"
		s := newSMTP(t, cfg)

		err := s.Send(t.Context(), testMessage)
		require.ErrorIs(t, err, mailer.ErrInsecureAuth)
		assert.False(t, mailer.IsTemporary(err))
		assert.Empty(t, ts.Messages())
	})
	t.Run("loopback allowed", func(t *testing.T) {
		cfg := baseConfig(ts)
		cfg.Insecure = true
		cfg.Username, cfg.Password = "mailer", "s3cret-pass"
		s := newSMTP(t, cfg)

		require.NoError(t, s.Send(t.Context(), testMessage))
		assert.Equal(t, "mailer", ts.Only(t).User)
	})
}

func TestSMTPImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	ts := startServer(t, serverOptions{TLS: serverTLS, Implicit: true})

	t.Run("ImplicitTLS field", func(t *testing.T) {
		cfg := baseConfig(ts)
		cfg.ImplicitTLS = true
		cfg.TLSConfig = clientTLS
		require.NoError(t, newSMTP(t, cfg).Send(t.Context(), testMessage))
	})
	t.Run("port 465", func(t *testing.T) {
		var dialed string
		cfg := baseConfig(ts)
		cfg.Port = 465
		cfg.TLSConfig = clientTLS
		cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed = addr
			return (&net.Dialer{}).DialContext(ctx, network, ts.Addr)
		}
		require.NoError(t, newSMTP(t, cfg).Send(t.Context(), testMessage))
		assert.Equal(t, "127.0.0.1:465", dialed)
	})
	msgs := ts.Messages()
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		assert.True(t, m.TLS)
	}
}

func TestSMTPDefaultPort(t *testing.T) {
	var dialed string
	s := newSMTP(t, mailer.SMTPConfig{
		Host:      "smtp.example.test",
		FromEmail: "no-reply@example.com",
		Dial: func(_ context.Context, _, addr string) (net.Conn, error) {
			dialed = addr
			return nil, errors.New("no network in this test")
		},
	})
	err := s.Send(t.Context(), testMessage)
	require.Error(t, err)
	assert.Equal(t, "smtp.example.test:587", dialed)
	assert.False(t, mailer.IsTemporary(err))
}

func TestSMTPServerErrors(t *testing.T) {
	tests := []struct {
		name          string
		opts          serverOptions
		wantCode      int
		wantOp        string
		wantTemporary bool
	}{
		{
			name:     "recipient refused",
			opts:     serverOptions{RcptErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}},
			wantCode: 550, wantOp: "rcpt",
		},
		{
			name:     "recipient greylisted",
			opts:     serverOptions{RcptErr: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Try again later"}},
			wantCode: 451, wantOp: "rcpt", wantTemporary: true,
		},
		{
			name:     "data rejected",
			opts:     serverOptions{DataErr: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Content rejected"}},
			wantCode: 554, wantOp: "data",
		},
		{
			name:     "data deferred",
			opts:     serverOptions{DataErr: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Insufficient storage"}},
			wantCode: 452, wantOp: "data", wantTemporary: true,
		},
		{
			name:     "authentication required",
			opts:     serverOptions{User: "mailer", Pass: "x"},
			wantCode: 502, wantOp: "mail",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.opts)
			cfg := baseConfig(ts)
			cfg.Insecure = true
			err := newSMTP(t, cfg).Send(t.Context(), testMessage)

			smtpErr, ok := errors.AsType[*mailer.SMTPError](err)
			require.True(t, ok, "error %v", err)
			assert.Equal(t, tt.wantCode, smtpErr.Code)
			assert.Equal(t, tt.wantOp, smtpErr.Op)
			assert.NotEmpty(t, smtpErr.Message)
			assert.Equal(t, tt.wantTemporary, smtpErr.Temporary())
			assert.Equal(t, tt.wantTemporary, mailer.IsTemporary(err))
			assert.Empty(t, ts.Messages())
		})
	}
}

func TestSMTPServerNeverAnswers(t *testing.T) {
	addr, _ := silentServer(t)
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	portNum, err := strconv.Atoi(port)
	require.NoError(t, err)
	cfg := mailer.SMTPConfig{Host: host, Port: portNum, FromEmail: "no-reply@example.com"}

	t.Run("Timeout", func(t *testing.T) {
		cfg := cfg
		cfg.Timeout = 200 * time.Millisecond
		err := newSMTP(t, cfg).Send(t.Context(), testMessage)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.True(t, mailer.IsTemporary(err))
		netErr, ok := errors.AsType[net.Error](err)
		require.True(t, ok)
		assert.True(t, netErr.Timeout())
	})
	t.Run("ctx deadline earlier than Timeout", func(t *testing.T) {
		cfg := cfg
		cfg.Timeout = time.Hour
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		err := newSMTP(t, cfg).Send(ctx, testMessage)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.True(t, mailer.IsTemporary(err))
	})
}

func TestSMTPContextCanceled(t *testing.T) {
	addr, accepted := silentServer(t)
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	portNum, err := strconv.Atoi(port)
	require.NoError(t, err)
	s := newSMTP(t, mailer.SMTPConfig{Host: host, Port: portNum, FromEmail: "no-reply@example.com", Timeout: time.Hour})

	t.Run("while waiting for the server", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-accepted
			cancel()
		}()
		err := s.Send(ctx, testMessage)
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, mailer.IsTemporary(err))
	})
	t.Run("before dialing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := s.Send(ctx, testMessage)
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, mailer.IsTemporary(err))
	})
}

func TestSMTPConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	s := newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: port, FromEmail: "no-reply@example.com"})
	err = s.Send(t.Context(), testMessage)
	require.Error(t, err)
	assert.True(t, mailer.IsTemporary(err), "error %v", err)
}

func TestSMTPRefusesBadMessages(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(m *mailer.Message)
		wantErr error
	}{
		{"CRLF in To", func(m *mailer.Message) { m.To = "ada@example.org\r\nBcc: eve@example.org" }, mailer.ErrHeaderInjection},
		{"LF in To", func(m *mailer.Message) { m.To = "ada@example.org\nBcc: eve@example.org" }, mailer.ErrHeaderInjection},
		{"CR in Subject", func(m *mailer.Message) { m.Subject = "Hi\rBcc: eve@example.org" }, mailer.ErrHeaderInjection},
		{"LF in Subject", func(m *mailer.Message) { m.Subject = "Hi\nBcc: eve@example.org" }, mailer.ErrHeaderInjection},
		{"NUL in Subject", func(m *mailer.Message) { m.Subject = "Hi\x00" }, mailer.ErrHeaderInjection},
		{"empty To", func(m *mailer.Message) { m.To = "" }, mailer.ErrInvalidAddress},
		{"To not an address", func(m *mailer.Message) { m.To = "ada at example.org" }, mailer.ErrInvalidAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dials atomic.Int32
			s := newSMTP(t, mailer.SMTPConfig{
				Host:      "smtp.example.test",
				FromEmail: "no-reply@example.com",
				Dial: func(context.Context, string, string) (net.Conn, error) {
					dials.Add(1)
					return nil, errors.New("must not dial")
				},
			})
			m := testMessage
			tt.edit(&m)
			err := s.Send(t.Context(), m)
			require.ErrorIs(t, err, tt.wantErr)
			assert.False(t, mailer.IsTemporary(err))
			assert.Zero(t, dials.Load(), "no connection may be made")
		})
	}
}

func TestSMTPRandomnessFailure(t *testing.T) {
	var dials atomic.Int32
	s := newSMTP(t, mailer.SMTPConfig{
		Host:      "smtp.example.test",
		FromEmail: "no-reply@example.com",
		Rand:      failingReader{},
		Dial: func(context.Context, string, string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("must not dial")
		},
	})
	err := s.Send(t.Context(), testMessage)
	require.ErrorContains(t, err, "no entropy")
	assert.Zero(t, dials.Load())
}

func TestNewSMTPConfigErrors(t *testing.T) {
	valid := mailer.SMTPConfig{Host: "smtp.example.com", FromEmail: "no-reply@example.com"}
	tests := []struct {
		name      string
		edit      func(c *mailer.SMTPConfig)
		wantField string
		wantErr   error // besides ErrInvalidConfig
	}{
		{"no Host", func(c *mailer.SMTPConfig) { c.Host = "" }, "Host", nil},
		{"Host with port", func(c *mailer.SMTPConfig) { c.Host = "smtp.example.com:587" }, "Host", nil},
		{"Host with space", func(c *mailer.SMTPConfig) { c.Host = "smtp example.com" }, "Host", nil},
		{"Host with CRLF", func(c *mailer.SMTPConfig) { c.Host = "smtp.example.com\r\n" }, "Host", nil},
		{"negative Port", func(c *mailer.SMTPConfig) { c.Port = -1 }, "Port", nil},
		{"Port too large", func(c *mailer.SMTPConfig) { c.Port = 65536 }, "Port", nil},
		{"no FromEmail", func(c *mailer.SMTPConfig) { c.FromEmail = "" }, "FromEmail", nil},
		{"FromEmail with a name", func(c *mailer.SMTPConfig) { c.FromEmail = "App <no-reply@example.com>" }, "FromEmail", nil},
		{"FromEmail not an address", func(c *mailer.SMTPConfig) { c.FromEmail = "no-reply" }, "FromEmail", nil},
		{"FromEmail with CRLF", func(c *mailer.SMTPConfig) { c.FromEmail = "no-reply@example.com\r\nBcc: x@y.z" }, "FromEmail", mailer.ErrHeaderInjection},
		{"FromName with LF", func(c *mailer.SMTPConfig) { c.FromName = "App\nBcc: x@y.z" }, "FromName", mailer.ErrHeaderInjection},
		{"FromName with NUL", func(c *mailer.SMTPConfig) { c.FromName = "App\x00" }, "FromName", mailer.ErrHeaderInjection},
		{"Password without Username", func(c *mailer.SMTPConfig) { c.Password = "x" }, "Password", nil},
		{"negative Timeout", func(c *mailer.SMTPConfig) { c.Timeout = -time.Second }, "Timeout", nil},
		{"LocalName with CR", func(c *mailer.SMTPConfig) { c.LocalName = "client\r" }, "LocalName", mailer.ErrHeaderInjection},
		{"LocalName with space", func(c *mailer.SMTPConfig) { c.LocalName = "my client" }, "LocalName", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			s, err := mailer.NewSMTP(cfg)
			require.ErrorIs(t, err, mailer.ErrInvalidConfig)
			assert.Nil(t, s)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			cfgErr, ok := errors.AsType[*mailer.ConfigError](err)
			require.True(t, ok)
			assert.Equal(t, tt.wantField, cfgErr.Field)
			assert.True(t, strings.HasPrefix(err.Error(), "mailer: invalid SMTPConfig."+tt.wantField+": "), err.Error())
			assert.False(t, mailer.IsTemporary(err))
		})
	}

	t.Run("valid", func(t *testing.T) {
		for _, cfg := range []mailer.SMTPConfig{
			valid,
			{Host: "::1", Port: 2525, FromEmail: "a@b.example", Username: "u", Password: "p", LocalName: "client.example"},
			{Host: "192.0.2.1", Port: 465, FromName: "Ünïcode", FromEmail: "a@b.example", TLSConfig: &tls.Config{ServerName: "mail.example"}},
		} {
			_, err := mailer.NewSMTP(cfg)
			assert.NoError(t, err)
		}
	})
}

// scriptedServer answers each connection with greeting and then closes it.
func scriptedServer(tb testing.TB, greeting string) mailer.SMTPConfig {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, greeting)
			_ = c.Close()
		}
	}()
	return mailer.SMTPConfig{
		Host:      "127.0.0.1",
		Port:      l.Addr().(*net.TCPAddr).Port,
		FromEmail: "no-reply@example.com",
		Timeout:   5 * time.Second,
	}
}

func TestSMTPGreetingFailures(t *testing.T) {
	tests := []struct {
		name          string
		greeting      string
		wantCode      int
		wantTemporary bool
	}{
		{"busy", "421 mx.test Service not available, try later\r\n", 421, true},
		{"refused", "554 mx.test No SMTP service here\r\n", 554, false},
		{"hangs up", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newSMTP(t, scriptedServer(t, tt.greeting)).Send(t.Context(), testMessage)
			require.Error(t, err)
			assert.Equal(t, tt.wantTemporary, mailer.IsTemporary(err), "error %v", err)
			if tt.wantCode != 0 {
				smtpErr, ok := errors.AsType[*mailer.SMTPError](err)
				require.True(t, ok, "error %v", err)
				assert.Equal(t, tt.wantCode, smtpErr.Code)
				assert.Equal(t, "greeting", smtpErr.Op)
			}
		})
	}
}
