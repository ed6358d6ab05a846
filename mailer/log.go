package mailer

import (
	"context"
	"log/slog"
)

// Log is the development mailer: it sends nothing and logs each message,
// body included, so a developer can read the verification or reset code in
// the log. The log then holds live codes, so never use Log in production;
// use [SMTP] there. The zero value logs to slog.Default(); a Log is safe for
// concurrent use.
type Log struct {
	logger *slog.Logger
}

// NewLog returns a Log that writes to logger; nil means slog.Default().
func NewLog(logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	return &Log{logger: logger}
}

// Send logs one Info record with the attributes "to", "subject" and "text"
// (the plain-text body; the HTML part is left out). It returns nil.
func (l *Log) Send(ctx context.Context, m Message) error {
	logger := l.logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.InfoContext(ctx, "mailer: email not sent (development mailer)",
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.String("text", m.Text),
	)
	return nil
}
