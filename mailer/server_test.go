package mailer_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// received is one message as the test server got it.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the session was encrypted
	User string // the authenticated user, if any
}

// serverOptions shape the in-process SMTP server.
type serverOptions struct {
	TLS        *tls.Config // offered with STARTTLS, or from the first byte with Implicit
	Implicit   bool
	User, Pass string // AUTH PLAIN required when User is set
	RcptErr    error  // answered to RCPT TO
	DataErr    error  // answered after the data
}

// testServer is a go-smtp server on 127.0.0.1 with a random port.
type testServer struct {
	Host string
	Port int
	Addr string

	opts serverOptions
	mu   sync.Mutex
	msgs []received
}

func startServer(tb testing.TB, opts serverOptions) *testServer {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	ts := &testServer{opts: opts, Addr: l.Addr().String()}
	host, port, err := net.SplitHostPort(ts.Addr)
	require.NoError(tb, err)
	ts.Host = host
	ts.Port, err = strconv.Atoi(port)
	require.NoError(tb, err)

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{ts: ts, msg: received{TLS: isTLS}}, nil
	}))
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true // so that refusing plain-text AUTH is the client's doing
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	if opts.Implicit {
		l = tls.NewListener(l, opts.TLS)
	} else {
		srv.TLSConfig = opts.TLS
	}
	go func() { _ = srv.Serve(l) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return ts
}

// Messages returns what the server accepted so far.
func (ts *testServer) Messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// Only returns the one message the server accepted.
func (ts *testServer) Only(tb testing.TB) received {
	tb.Helper()
	msgs := ts.Messages()
	require.Len(tb, msgs, 1)
	return msgs[0]
}

type session struct {
	ts     *testServer
	msg    received
	authed bool
}

func (s *session) AuthMechanisms() []string {
	if s.ts.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.ts.opts.User || password != s.ts.opts.Pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		s.msg.User = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.opts.User != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.msg.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.opts.RcptErr != nil {
		return s.ts.opts.RcptErr
	}
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.ts.opts.DataErr != nil {
		return s.ts.opts.DataErr
	}
	s.msg.Data = data
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, s.msg)
	s.ts.mu.Unlock()
	return nil
}

func (s *session) Reset() {
	s.msg = received{TLS: s.msg.TLS, User: s.msg.User}
}

func (s *session) Logout() error { return nil }

// silentServer accepts TCP connections and never answers. It sends each
// accepted connection on the returned channel.
func silentServer(tb testing.TB) (addr string, accepted <-chan net.Conn) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	ch := make(chan net.Conn, 8)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			ch <- c
		}
	}()
	tb.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String(), ch
}

// selfSigned returns a server TLS configuration with a fresh self-signed
// ECDSA certificate for 127.0.0.1 and localhost, and a client
// configuration that trusts it.
func selfSigned(tb testing.TB) (server, client *tls.Config) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailer test"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost", "mail.example.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(tb, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(tb, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}
