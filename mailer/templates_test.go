package mailer_test

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/mailer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var sample = mailer.Data{AppName: "Forge Auth", Username: "ada", Code: "042137", ExpirationMinutes: 60,
	Notice: mailer.Notice{Time: "2026-01-02 03:04 UTC", Device: "Firefox on Linux", IP: "192.0.2.1", NewEmail: "a***@example.org", Change: "Two-step verification was turned on."}}

var allKinds = []mailer.Kind{mailer.Verification, mailer.PasswordReset, mailer.Welcome, mailer.EmailChange,
	mailer.NoticeNewDevice, mailer.NoticePasswordChanged, mailer.NoticeEmailChanged, mailer.NoticeSignupAttempt, mailer.NoticeAccountChanged}

func loadTemplates(tb testing.TB, dir string) *mailer.Templates {
	tb.Helper()
	tpl, err := mailer.LoadTemplates(dir)
	require.NoError(tb, err)
	return tpl
}

func render(tb testing.TB, tpl *mailer.Templates, kind mailer.Kind, data mailer.Data) mailer.Message {
	tb.Helper()
	m, err := tpl.Render(kind, "ada@example.org", data)
	require.NoError(tb, err)
	return m
}

// writeFiles writes name → content into a new temporary directory.
func writeFiles(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		require.NoError(tb, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

func TestTemplatesDefaults(t *testing.T) {
	tpl := loadTemplates(t, "")
	tests := []struct {
		kind        mailer.Kind
		wantSubject string
		wantCode    bool
	}{
		{mailer.Verification, "Verify your email", true},
		{mailer.PasswordReset, "Reset your password", true},
		{mailer.Welcome, "Welcome to Forge Auth", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			m := render(t, tpl, tt.kind, sample)
			assert.Equal(t, "ada@example.org", m.To)
			assert.Equal(t, tt.kind, m.Kind)
			assert.Equal(t, tt.wantSubject, m.Subject)
			for _, body := range []string{m.Text, m.HTML} {
				assert.Contains(t, body, "ada")
				if tt.wantCode {
					assert.Contains(t, body, "042137")
					assert.Contains(t, body, "60 minutes")
				}
			}
			assert.True(t, strings.HasPrefix(m.HTML, "<!DOCTYPE html>"))
			assert.NotContains(t, m.HTML, "http", "no links, so no host from a request")
			assert.NotContains(t, m.Text, "http")
		})
	}
}

func TestTemplatesWithoutAppName(t *testing.T) {
	tpl := loadTemplates(t, "")
	data := sample
	data.AppName = ""
	data.ExpirationMinutes = 1
	assert.Equal(t, "Welcome", render(t, tpl, mailer.Welcome, data).Subject)
	m := render(t, tpl, mailer.Verification, data)
	assert.Contains(t, m.Text, "expires in 1 minute.")
	assert.Contains(t, m.HTML, "expires in 1 minute.")
}

func TestTemplatesEscapeHTML(t *testing.T) {
	tpl := loadTemplates(t, "")
	data := sample
	data.Username = "<b>x</b>"
	data.AppName = `"><script>alert(1)</script>`
	for _, kind := range allKinds {
		t.Run(string(kind), func(t *testing.T) {
			m := render(t, tpl, kind, data)
			assert.Contains(t, m.HTML, "&lt;b&gt;x&lt;/b&gt;")
			assert.NotContains(t, m.HTML, "<b>x</b>")
			assert.NotContains(t, m.HTML, "<script>")
			assert.Contains(t, m.Text, "<b>x</b>", "the text part is plain text")
		})
	}
}

func TestTemplatesSubjectCannotInjectHeaders(t *testing.T) {
	tpl := loadTemplates(t, "")
	data := sample
	data.AppName = "App\r\nBcc: eve@example.org"
	m := render(t, tpl, mailer.Welcome, data)
	assert.Equal(t, "Welcome to App Bcc: eve@example.org", m.Subject)

	data.AppName = "App\x00"
	_, err := tpl.Render(mailer.Welcome, "ada@example.org", data)
	require.ErrorIs(t, err, mailer.ErrHeaderInjection)
}

func TestTemplatesUnknownKind(t *testing.T) {
	tpl := loadTemplates(t, "")
	_, err := tpl.Render("magic_link", "ada@example.org", sample)
	require.ErrorIs(t, err, mailer.ErrUnknownKind)
}

func TestTemplatesOverride(t *testing.T) {
	defaults := loadTemplates(t, "")

	t.Run("one file replaced, the rest kept", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"verification.txt": `{{define "subject"}}Your {{.AppName}} code{{end}}Code: {{.Code}} ({{.ExpirationMinutes}} min) for {{.Username}}`,
			"README.md":        "not a template",
		})
		tpl := loadTemplates(t, dir)
		m := render(t, tpl, mailer.Verification, sample)
		assert.Equal(t, "Your Forge Auth code", m.Subject)
		assert.Equal(t, "Code: 042137 (60 min) for ada", m.Text)
		assert.Equal(t, render(t, defaults, mailer.Verification, sample).HTML, m.HTML, "verification.html kept")
		for _, kind := range []mailer.Kind{mailer.PasswordReset, mailer.Welcome} {
			assert.Equal(t, render(t, defaults, kind, sample), render(t, tpl, kind, sample))
		}
	})
	t.Run("override without a subject keeps the default subject", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"password_reset.txt": "Reset code: {{.Code}}"})
		m := render(t, loadTemplates(t, dir), mailer.PasswordReset, sample)
		assert.Equal(t, "Reset your password", m.Subject)
		assert.Equal(t, "Reset code: 042137", m.Text)
	})
	t.Run("subject-only override keeps the default body", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"welcome.txt": "{{define \"subject\"}}\n  Hello from\n  {{.AppName}}\n{{end}}\n"})
		m := render(t, loadTemplates(t, dir), mailer.Welcome, sample)
		assert.Equal(t, "Hello from Forge Auth", m.Subject, "white space collapsed")
		assert.Equal(t, render(t, defaults, mailer.Welcome, sample).Text, m.Text)
	})
	t.Run("html override is escaped", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"welcome.html": "<p>Hi {{.Username}}</p>"})
		data := sample
		data.Username = "<i>"
		m := render(t, loadTemplates(t, dir), mailer.Welcome, data)
		assert.Equal(t, "<p>Hi &lt;i&gt;</p>", m.HTML)
	})
}

func TestTemplatesLayout(t *testing.T) {
	defaults := loadTemplates(t, "")
	def := render(t, defaults, mailer.Verification, sample).HTML
	head, _, ok := strings.Cut(def, "<h1 ")
	require.True(t, ok)

	t.Run("content alone, in the shared layout", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"verification.html": `{{define "content"}}<p>Code: {{.Code}}</p>{{end}}`})
		m := render(t, loadTemplates(t, dir), mailer.Verification, sample)
		assert.Equal(t, head+"<p>Code: 042137</p>"+def[strings.Index(def, "\n          </td>"):], m.HTML)
		assert.Contains(t, m.HTML, "<title>Verify your email</title>", "default title kept")
	})
	t.Run("title and content", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"welcome.html": `{{define "title"}}Hi {{.Username}}{{end}}
{{define "content"}}<p>Ready, {{.Username}}.</p>{{end}}`})
		m := render(t, loadTemplates(t, dir), mailer.Welcome, sample)
		assert.True(t, strings.HasPrefix(m.HTML, "<!DOCTYPE html>"))
		assert.Contains(t, m.HTML, "<title>Hi ada</title>")
		assert.Contains(t, m.HTML, ">Forge Auth</p>\n            <p>Ready, ada.</p>\n          </td>")
		assert.NotContains(t, m.HTML, "Welcome")
	})
	t.Run("a copy of the default file, edited", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join("templates", "password_reset.html"))
		require.NoError(t, err)
		edited := strings.Replace(string(src), "Use this code to choose a new one:", "Your code:", 1)
		require.NotEqual(t, string(src), edited)
		m := render(t, loadTemplates(t, writeFiles(t, map[string]string{"password_reset.html": edited})), mailer.PasswordReset, sample)
		assert.Equal(t, strings.Replace(render(t, defaults, mailer.PasswordReset, sample).HTML, "Use this code to choose a new one:", "Your code:", 1), m.HTML)
	})
	t.Run("a whole document ignores the layout", func(t *testing.T) {
		doc := "<!DOCTYPE html>\n<html><body><p>{{.Code}}</p></body></html>\n"
		m := render(t, loadTemplates(t, writeFiles(t, map[string]string{"verification.html": doc})), mailer.Verification, sample)
		assert.Equal(t, "<!DOCTYPE html>\n<html><body><p>042137</p></body></html>\n", m.HTML)
	})
	t.Run("broken content names the file", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"welcome.html": `{{define "content"}}<p>{{.Nope}}</p>{{end}}`})
		_, err := mailer.LoadTemplates(dir)
		require.ErrorIs(t, err, mailer.ErrTemplate)
		assert.Contains(t, err.Error(), filepath.Join(dir, "welcome.html"))
	})
	t.Run("layout.html is not an override", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"layout.html": `{{define "layout"}}replaced{{end}}`})
		tpl := loadTemplates(t, dir)
		for _, kind := range allKinds {
			assert.Equal(t, render(t, defaults, kind, sample), render(t, tpl, kind, sample))
		}
	})
}

func TestTemplatesBrokenOverride(t *testing.T) {
	tests := []struct {
		name string
		file string
		body string
	}{
		{"text parse error", "verification.txt", "Code: {{.Code"},
		{"html parse error", "password_reset.html", "<p>{{if .Code}}</p>"},
		{"text unknown field", "welcome.txt", "Hi {{.Name}}"},
		{"html unknown field", "verification.html", "<p>{{.Token}}</p>"},
		{"unknown function", "welcome.html", "<p>{{shout .Username}}</p>"},
		{"subject fails", "password_reset.txt", `{{define "subject"}}{{.Nope}}{{end}}`},
		{"html ambiguous context", "welcome.html", `<a href="{{.Username}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/directory", func(t *testing.T) {
			dir := writeFiles(t, map[string]string{tt.file: tt.body})
			tpl, err := mailer.LoadTemplates(dir)
			require.ErrorIs(t, err, mailer.ErrTemplate)
			assert.Nil(t, tpl)
			assert.Contains(t, err.Error(), filepath.Join(dir, tt.file))
		})
		t.Run(tt.name+"/fs", func(t *testing.T) {
			tpl, err := mailer.LoadTemplatesFS(fstest.MapFS{tt.file: {Data: []byte(tt.body)}})
			require.ErrorIs(t, err, mailer.ErrTemplate)
			assert.Nil(t, tpl)
			assert.Contains(t, err.Error(), "mailer: template "+tt.file+":")
		})
	}
}

func TestTemplatesFS(t *testing.T) {
	defaults := loadTemplates(t, "")

	t.Run("nil gives the defaults", func(t *testing.T) {
		tpl, err := mailer.LoadTemplatesFS(nil)
		require.NoError(t, err)
		for _, kind := range allKinds {
			assert.Equal(t, render(t, defaults, kind, sample), render(t, tpl, kind, sample))
		}
	})
	t.Run("partial override keeps the defaults for the rest", func(t *testing.T) {
		tpl, err := mailer.LoadTemplatesFS(fstest.MapFS{
			"password_reset.html":  {Data: []byte(`<p>Code {{.Code}}</p>`)},
			"welcome.txt":          {Data: []byte(`{{define "subject"}}Hello {{.Username}}{{end}}`)},
			"notes.md":             {Data: []byte("not a template")},
			"sub/verification.txt": {Data: []byte("only files at the root count")},
		})
		require.NoError(t, err)
		reset := render(t, tpl, mailer.PasswordReset, sample)
		assert.Equal(t, "<p>Code 042137</p>", reset.HTML)
		assert.Equal(t, render(t, defaults, mailer.PasswordReset, sample).Text, reset.Text, "password_reset.txt kept")
		welcome := render(t, tpl, mailer.Welcome, sample)
		assert.Equal(t, "Hello ada", welcome.Subject)
		assert.Equal(t, render(t, defaults, mailer.Welcome, sample).Text, welcome.Text, "body kept")
		assert.Equal(t, render(t, defaults, mailer.Verification, sample), render(t, tpl, mailer.Verification, sample))
	})
	t.Run("same as the directory loader", func(t *testing.T) {
		files := map[string]string{
			"verification.txt": `{{define "subject"}}Your {{.AppName}} code{{end}}Code: {{.Code}}`,
			"welcome.html":     `<p>Hi {{.Username}}</p>`,
		}
		mapFS := fstest.MapFS{}
		for name, body := range files {
			mapFS[name] = &fstest.MapFile{Data: []byte(body)}
		}
		fromFS, err := mailer.LoadTemplatesFS(mapFS)
		require.NoError(t, err)
		fromDir := loadTemplates(t, writeFiles(t, files))
		for _, kind := range allKinds {
			assert.Equal(t, render(t, fromDir, kind, sample), render(t, fromFS, kind, sample))
		}
	})
	t.Run("unreadable file", func(t *testing.T) {
		// welcome.txt is a directory there: it exists but cannot be read.
		_, err := mailer.LoadTemplatesFS(fstest.MapFS{"welcome.txt/x": {}})
		require.Error(t, err)
		assert.NotErrorIs(t, err, mailer.ErrTemplate)
		assert.NotErrorIs(t, err, fs.ErrNotExist)
		assert.Contains(t, err.Error(), "mailer: template welcome.txt:")
	})
}

func TestTemplatesBadDirectory(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		_, err := mailer.LoadTemplates(filepath.Join(t.TempDir(), "nope"))
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
	t.Run("a file", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"file": "x"})
		_, err := mailer.LoadTemplates(filepath.Join(dir, "file"))
		require.ErrorContains(t, err, "not a directory")
	})
	t.Run("unreadable template", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, "welcome.txt"), 0o700))
		_, err := mailer.LoadTemplates(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "welcome.txt")
	})
}

func TestTemplatesGolden(t *testing.T) {
	tpl := loadTemplates(t, "")
	for _, kind := range allKinds {
		m := render(t, tpl, kind, sample)
		for ext, got := range map[string]string{
			".txt":  "Subject: " + m.Subject + "\n\n" + m.Text,
			".html": m.HTML,
		} {
			t.Run(string(kind)+ext, func(t *testing.T) {
				path := filepath.Join("testdata", "golden", string(kind)+ext)
				if *update {
					require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "run go test -update to create the golden files")
				assert.Equal(t, string(want), got)
			})
		}
	}
}

func TestTemplatesThroughSMTP(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cfg := baseConfig(ts)
	cfg.Insecure = true
	m := render(t, loadTemplates(t, ""), mailer.Verification, sample)
	require.NoError(t, newSMTP(t, cfg).Send(t.Context(), m))

	parts := bodyParts(t, parseMessage(t, ts.Only(t).Data))
	require.Len(t, parts, 2)
	assert.Equal(t, strings.ReplaceAll(m.Text, "\n", "\r\n"), parts[0][2])
	assert.Equal(t, strings.ReplaceAll(m.HTML, "\n", "\r\n"), parts[1][2])
}

func TestTemplatesZeroValue(t *testing.T) {
	var tpl mailer.Templates
	_, err := tpl.Render(mailer.Verification, "ada@example.org", sample)
	require.ErrorIs(t, err, mailer.ErrUnknownKind)
}
