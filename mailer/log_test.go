package mailer_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/mailer"
)

func TestLogMailer(t *testing.T) {
	var buf bytes.Buffer
	l := mailer.NewLog(slog.New(slog.NewTextHandler(&buf, nil)))

	require.NoError(t, l.Send(t.Context(), testMessage))
	out := buf.String()
	assert.Equal(t, 1, bytes.Count(buf.Bytes(), []byte("\n")), "one record")
	assert.Contains(t, out, "level=INFO")
	assert.Contains(t, out, "to=ada@example.org")
	assert.Contains(t, out, `subject="Verify your email"`)
	assert.Contains(t, out, "042137", "the development mailer shows the code")
	assert.NotContains(t, out, "<p>", "the HTML part is left out")
}

func TestLogMailerNilLogger(t *testing.T) {
	assert.NotNil(t, mailer.NewLog(nil))
}

func TestLogMailerZeroValue(t *testing.T) {
	var l mailer.Log
	assert.NoError(t, l.Send(t.Context(), mailer.Message{To: "ada@example.org"}))
}
