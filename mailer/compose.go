package mailer

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"time"
)

// maxLineLen is the length past which a header is folded (RFC 5322 2.1.1).
const maxLineLen = 78

// compose checks m and renders it in the Internet Message Format, returning
// the envelope recipient and the message with CRLF line ends.
func (s *SMTP) compose(m Message) (rcpt string, msg []byte, err error) {
	if hasLineBreak(m.To) {
		return "", nil, fmt.Errorf("%w: To", ErrHeaderInjection)
	}
	if hasLineBreak(m.Subject) {
		return "", nil, fmt.Errorf("%w: Subject", ErrHeaderInjection)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return "", nil, fmt.Errorf("%w: To: %w", ErrInvalidAddress, err)
	}
	id, err := s.randomHex(16)
	if err != nil {
		return "", nil, fmt.Errorf("mailer: Message-ID: %w", err)
	}

	var b bytes.Buffer
	writeHeader(&b, "From", s.fromHeader)
	writeHeader(&b, "To", formatAddress(to.Name, to.Address))
	writeHeader(&b, "Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	writeHeader(&b, "Date", s.now().Format(time.RFC1123Z))
	writeHeader(&b, "Message-ID", "<"+id+"@"+s.domain+">")
	writeHeader(&b, "MIME-Version", "1.0")

	if m.HTML == "" {
		writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
		writeHeader(&b, "Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQuotedPrintable(&b, m.Text); err != nil {
			return "", nil, err
		}
		return to.Address, b.Bytes(), nil
	}

	boundary, err := s.randomHex(15)
	if err != nil {
		return "", nil, fmt.Errorf("mailer: MIME boundary: %w", err)
	}
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary("=_" + boundary); err != nil {
		return "", nil, fmt.Errorf("mailer: MIME boundary: %w", err)
	}
	writeHeader(&b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ mediaType, body string }{
		{"text/plain", m.Text},
		{"text/html", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.mediaType + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return "", nil, err
		}
		if err := writeQuotedPrintable(w, part.body); err != nil {
			return "", nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return "", nil, err
	}
	return to.Address, b.Bytes(), nil
}

func (s *SMTP) randomHex(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(buf), nil
}

// formatAddress gives a bare address when there is no name and otherwise
// `"Name" <addr>`, the name encoded per RFC 2047 when it is not ASCII.
func formatAddress(name, addr string) string {
	if name == "" {
		return addr
	}
	return (&mail.Address{Name: name, Address: addr}).String()
}

// writeHeader writes "Name: value" and CRLF, folding the value at spaces
// so that lines stay near maxLineLen. Encoded words are at most 75 bytes
// and separated by spaces, so long encoded subjects fold too.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteString(":")
	lineLen := len(name) + 1
	for i, word := range splitSpaces(value) {
		if i > 0 && lineLen+1+len(word) > maxLineLen {
			b.WriteString("\r\n")
			lineLen = 0
		}
		b.WriteByte(' ')
		b.WriteString(word)
		lineLen += 1 + len(word)
	}
	b.WriteString("\r\n")
}

// splitSpaces splits s at single spaces, keeping empty words so that runs
// of spaces survive folding and unfolding.
func splitSpaces(s string) []string {
	var words []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			words = append(words, s[start:i])
			start = i + 1
		}
	}
	return append(words, s[start:])
}

func writeQuotedPrintable(w io.Writer, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, body); err != nil {
		return err
	}
	return qp.Close()
}
