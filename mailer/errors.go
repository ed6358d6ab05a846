package mailer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

var (
	// ErrHeaderInjection is returned when a header value (To, Subject,
	// FromName, FromEmail, LocalName) holds a CR, LF or NUL. [SMTP.Send]
	// checks before it dials, so no connection is made.
	ErrHeaderInjection = errors.New("mailer: CR, LF or NUL in a header value")

	// ErrInvalidAddress is returned by [SMTP.Send] when [Message.To] is not
	// an email address that net/mail can parse.
	ErrInvalidAddress = errors.New("mailer: invalid email address")

	// ErrInvalidConfig is matched by every [*ConfigError] returned by
	// [NewSMTP] and [NewAsync].
	ErrInvalidConfig = errors.New("mailer: invalid configuration")

	// ErrNoSTARTTLS is returned by [SMTP.Send] when TLS is required (the
	// default) and the server does not advertise STARTTLS. The message is not
	// sent in clear text.
	ErrNoSTARTTLS = errors.New("mailer: server does not offer STARTTLS")

	// ErrInsecureAuth is returned by [SMTP.Send] when credentials are
	// configured but the session is not encrypted and the server is not on
	// the loopback interface. The credentials are not sent.
	ErrInsecureAuth = errors.New("mailer: refusing to send credentials without TLS")

	// ErrQueueFull is returned by [Async.Send] and [Async.Reserve] when
	// every one of the [AsyncConfig.QueueSize] slots of the queue holds a
	// message or a reservation. Send drops (and logs) the message.
	ErrQueueFull = errors.New("mailer: queue full")

	// ErrRecipientQueueFull is returned by [Async.Send] and [Async.Reserve]
	// when the recipient holds [AsyncConfig.MaxPerRecipient] slots of the
	// queue already. It matches [ErrQueueFull] with errors.Is.
	ErrRecipientQueueFull = fmt.Errorf("%w for this recipient", ErrQueueFull)

	// ErrReservationEnded is returned by [Reservation.Send] when Send or
	// Cancel was called on the reservation before.
	ErrReservationEnded = errors.New("mailer: reservation already sent or canceled")

	// ErrReservationExpired is returned by [Reservation.Send] when
	// [AsyncConfig.ReservationTTL] has passed since [Async.Reserve], and by
	// every Send after that.
	ErrReservationExpired = errors.New("mailer: reservation expired")

	// ErrWrongRecipient is returned by [Reservation.Send] when the message
	// is not to the address reserved.
	ErrWrongRecipient = errors.New("mailer: message not to the reserved recipient")

	// ErrNilMailer is returned by [NewAsync] when the Mailer it should send
	// through is nil.
	ErrNilMailer = errors.New("mailer: nil Mailer")

	// ErrClosed is returned by [Async.Send], [Async.Reserve] and
	// [Reservation.Send] after [Async.Shutdown] began.
	ErrClosed = errors.New("mailer: closed")

	// ErrTemplate is matched by every template error: a parse or sample
	// execution failure in [LoadTemplates] and [LoadTemplatesFS] (the
	// message names the file) and an execution failure in
	// [Templates.Render].
	ErrTemplate = errors.New("mailer: template")

	// ErrUnknownKind is returned by [Templates.Render] for a [Kind] it does
	// not know.
	ErrUnknownKind = errors.New("mailer: unknown template kind")
)

// SMTPError reports a status answered by the server. Codes 400 to 499 are
// transient failures worth retrying later; 500 to 599 are permanent.
type SMTPError struct {
	Code    int    // the reply code, e.g. 550
	Message string // the text the server sent after the code
	Op      string // the step that was refused: "greeting", "hello", "starttls", "auth", "mail", "rcpt" or "data"
}

func (e *SMTPError) Error() string {
	return fmt.Sprintf("mailer: %s: server replied %d %s", e.Op, e.Code, e.Message)
}

// Temporary reports whether the code is a transient failure (4xx).
func (e *SMTPError) Temporary() bool { return e.Code >= 400 && e.Code <= 499 }

// ConfigError reports an invalid field of [SMTPConfig] (from [NewSMTP]) or
// [AsyncConfig] (from [NewAsync]). It matches [ErrInvalidConfig] with
// errors.Is, and Err as well, so a FromName holding a line break matches
// [ErrHeaderInjection] too.
type ConfigError struct {
	Config string // the struct: "SMTPConfig" or "AsyncConfig"; empty means "SMTPConfig"
	Field  string // the field, e.g. "Port"
	Err    error  // what is wrong with it
}

func (e *ConfigError) Error() string {
	config := e.Config
	if config == "" {
		config = "SMTPConfig"
	}
	return "mailer: invalid " + config + "." + e.Field + ": " + strings.TrimPrefix(e.Err.Error(), "mailer: ")
}

// Unwrap returns [ErrInvalidConfig] and Err.
func (e *ConfigError) Unwrap() []error { return []error{ErrInvalidConfig, e.Err} }

// IsTemporary reports whether err is worth retrying later: a 4xx
// [*SMTPError], a timeout (a net.Error whose Timeout is true, which includes
// context.DeadlineExceeded), a refused, reset or broken connection, an
// unexpected end of the connection, a temporary DNS failure, or an error
// that says so itself. A 5xx reply, [ErrHeaderInjection],
// [ErrInvalidAddress], a configuration or TLS error, context.Canceled and
// nil are not temporary.
//
// An error says so itself with a method Temporary() bool: when none of the
// cases above decides, the first error in err's chain that has that method
// (as errors.As finds it) answers. So a [Mailer] of the application's own,
// such as one calling an HTTP mail API, has its failures retried by [Async]
// by returning (or wrapping) an error whose Temporary returns true. An
// [*SMTPError] in the chain and context.Canceled decide first whatever that
// method answers, and a Temporary that returns false does not make a
// timeout or a dropped connection permanent.
func IsTemporary(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if smtpErr, ok := errors.AsType[*SMTPError](err); ok {
		return smtpErr.Temporary()
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok && (dnsErr.IsTemporary || dnsErr.IsTimeout) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() {
		return true
	}
	for _, target := range []error{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		io.EOF, io.ErrUnexpectedEOF,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	if t, ok := errors.AsType[temporary](err); ok {
		return t.Temporary()
	}
	return false
}

// temporary is an error that tells whether it is temporary.
type temporary interface {
	error
	Temporary() bool
}
