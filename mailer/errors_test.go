package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/forgeauth/forgeauth/mailer"
)

func TestIsTemporary(t *testing.T) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"421 service not available", &mailer.SMTPError{Code: 421}, true},
		{"451 local error", &mailer.SMTPError{Code: 451}, true},
		{"wrapped 452", fmt.Errorf("sending: %w", &mailer.SMTPError{Code: 452}), true},
		{"535 authentication failed", &mailer.SMTPError{Code: 535}, false},
		{"550 mailbox unavailable", &mailer.SMTPError{Code: 550}, false},
		{"deadline", fmt.Errorf("mailer: greeting: %w", context.DeadlineExceeded), true},
		{"i/o timeout", os.ErrDeadlineExceeded, true},
		{"canceled", fmt.Errorf("mailer: greeting: %w", context.Canceled), false},
		{"connection refused", opErr(syscall.ECONNREFUSED), true},
		{"connection reset", opErr(syscall.ECONNRESET), true},
		{"broken pipe", opErr(syscall.EPIPE), true},
		{"server hung up", fmt.Errorf("mailer: data: %w", io.EOF), true},
		{"temporary DNS failure", &net.DNSError{Err: "server misbehaving", Name: "smtp.example.com", IsTemporary: true}, true},
		{"DNS timeout", &net.DNSError{Err: "timeout", Name: "smtp.example.com", IsTimeout: true}, true},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "smtp.example.com", IsNotFound: true}, false},
		{"header injection", mailer.ErrHeaderInjection, false},
		{"invalid address", mailer.ErrInvalidAddress, false},
		{"no STARTTLS", mailer.ErrNoSTARTTLS, false},
		{"config", &mailer.ConfigError{Field: "Port", Err: errors.New("bad")}, false},
		{"anything else", errors.New("boom"), false},
		{"marked temporary", apiError{temporary: true}, true},
		{"marked temporary, wrapped", fmt.Errorf("sending: %w", apiError{temporary: true}), true},
		{"marked temporary, joined", errors.Join(errors.New("boom"), apiError{temporary: true}), true},
		{"marked permanent", apiError{temporary: false}, false},
		{"marked permanent around a timeout", apiError{temporary: false, err: context.DeadlineExceeded}, true},
		{"marked temporary around a 550", apiError{temporary: true, err: &mailer.SMTPError{Code: 550}}, false},
		{"marked temporary around canceled", apiError{temporary: true, err: context.Canceled}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, mailer.IsTemporary(tt.err))
		})
	}
}

// apiError is the error of an application's own Mailer, one that calls an
// HTTP mail API, say: it tells whether trying again may help.
type apiError struct {
	temporary bool
	err       error // what it wraps, if anything
}

func (e apiError) Error() string   { return fmt.Sprintf("mail API: temporary=%t", e.temporary) }
func (e apiError) Temporary() bool { return e.temporary }
func (e apiError) Unwrap() error   { return e.err }

func TestSMTPError(t *testing.T) {
	err := &mailer.SMTPError{Code: 550, Message: "5.1.1 No such user", Op: "rcpt"}
	assert.Equal(t, "mailer: rcpt: server replied 550 5.1.1 No such user", err.Error())
	assert.False(t, err.Temporary())
	assert.True(t, (&mailer.SMTPError{Code: 421}).Temporary())
	assert.False(t, (&mailer.SMTPError{Code: 399}).Temporary())
}

func TestConfigError(t *testing.T) {
	err := &mailer.ConfigError{Field: "FromName", Err: mailer.ErrHeaderInjection}
	assert.Equal(t, "mailer: invalid SMTPConfig.FromName: CR, LF or NUL in a header value", err.Error())
	assert.ErrorIs(t, err, mailer.ErrInvalidConfig)
	assert.ErrorIs(t, err, mailer.ErrHeaderInjection)
}

func TestFunc(t *testing.T) {
	want := errors.New("boom")
	var got mailer.Message
	f := mailer.Func(func(_ context.Context, m mailer.Message) error {
		got = m
		return want
	})
	assert.ErrorIs(t, f.Send(t.Context(), testMessage), want)
	assert.Equal(t, testMessage, got)
}
