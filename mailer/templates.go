package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

// Data is what a template sees. The reference project's template variables
// map to these fields: app name (EMAIL_FROM_NAME) to {{.AppName}},
// username to {{.Username}}, code to {{.Code}} and expiration_minutes to
// {{.ExpirationMinutes}}.
type Data struct {
	AppName           string // the service's name, as in EMAIL_FROM_NAME
	Username          string
	Code              string // the one-time code; empty for Welcome
	ExpirationMinutes int    // how long the code is valid
	// Notice describes what a notice_* mail reports; empty for the others.
	Notice Notice
}

// Kind names one email of the flows.
type Kind string

// The kinds of email; each has the files <kind>.txt and <kind>.html.
const (
	Verification  Kind = "verification"
	PasswordReset Kind = "password_reset"
	Welcome       Kind = "welcome"
	// AccountDeletion carries the code that confirms the deletion of an
	// account without a password.
	AccountDeletion Kind = "account_deletion"
)

var kinds = [...]Kind{Verification, PasswordReset, Welcome, EmailChange, AccountDeletion,
	NoticeNewDevice, NoticePasswordChanged, NoticeEmailChanged, NoticeSignupAttempt, NoticeAccountChanged}

// subjectTemplate is the block of a .txt file that gives the subject.
const subjectTemplate = "subject"

// layoutFile defines the "layout" the default .html files share; it is
// parsed into the set of every .html file, before the file itself.
const layoutFile = "layout.html"

//go:embed templates/layout.html
var layoutSource string

//go:embed templates/*.txt templates/*.html
var defaultTemplates embed.FS

// sampleData is what LoadTemplatesFS executes every template with, so that a
// template that cannot render fails at start, not at the first email.
var sampleData = Data{AppName: "Example", Username: "sample-user", Code: "123456", ExpirationMinutes: 60,
	Notice: Notice{Time: "2026-01-02 03:04 UTC", Device: "Firefox on Linux", IP: "192.0.2.1", NewEmail: "n***@example.com", Change: "Two-step verification was turned on."}}

// Templates renders the emails of each [Kind]. Create it with
// [LoadTemplates] or [LoadTemplatesFS]; it is then read-only and safe for concurrent use. The
// zero value holds no template: its Render returns [ErrUnknownKind].
type Templates struct {
	byKind map[Kind]kindTemplates
}

type kindTemplates struct {
	text *texttemplate.Template // body, with the "subject" block
	html *htmltemplate.Template
}

// LoadTemplates returns the embedded default templates with, when dir is
// not empty, the files of the directory dir replacing them: it is
// [LoadTemplatesFS] of os.DirFS(dir), with the errors naming the files by
// their path in dir. An empty dir gives the defaults alone.
//
// Besides the errors of LoadTemplatesFS, LoadTemplates returns an error
// wrapping the fs error when dir cannot be read (such as fs.ErrNotExist
// when it does not exist), and an error when dir is not a directory.
func LoadTemplates(dir string) (*Templates, error) {
	if dir == "" {
		return LoadTemplatesFS(nil)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("mailer: template directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("mailer: template directory %s: not a directory", dir)
	}
	return loadTemplates(os.DirFS(dir), func(name string) string { return filepath.Join(dir, name) })
}

// LoadTemplatesFS returns the embedded default templates with the files
// at the root of fsys that carry a template name replacing the defaults
// one by one: verification.txt, verification.html, password_reset.txt,
// password_reset.html, welcome.txt and welcome.html. A name missing from
// fsys keeps its default, so fsys may hold only the files it changes;
// other files in fsys are ignored. A nil fsys gives the defaults alone.
// fsys may be an embed.FS (pass fs.Sub(efs, "emails") when the files are
// in a directory of it), os.DirFS or fstest.MapFS.
//
// The .txt file is a text/template giving the plain-text body; its
// {{define "subject"}} block gives the subject (the defaults are "Verify
// your email", "Reset your password" and "Welcome to {{.AppName}}"). An
// override that defines no subject keeps the default one, and an override
// holding only a {{define "subject"}} block changes the subject alone. The
// .html file is an html/template, so every value is escaped. Templates get
// a [Data]; they must not build links from anything a request carried.
//
// The default .html files share a layout: the document, the page, the
// card and the application's name at its top. It is the template
// "layout", which executes the templates "title" (the document's title)
// and "content" (what the card holds below the name) that each default
// .html file defines before its one line {{template "layout" .}}. Every
// .html file, default or override, can use these three templates, so an
// override .html file can be either of:
//
//   - a whole document of its own, which ignores the layout;
//   - {{define "title"}}…{{end}}{{define "content"}}…{{end}} alone (or
//     "content" alone, to keep the default title), which keeps the default
//     body and so puts the new content in the shared layout.
//
// The layout itself is not read from fsys: an application that wants
// another one overrides the .html files whole.
//
// LoadTemplatesFS returns an error matching [ErrTemplate] and naming the
// file when a file cannot be parsed or fails to execute with sample data,
// and an error naming the file and wrapping the fs error when a file
// cannot be read for another reason than its absence.
func LoadTemplatesFS(fsys fs.FS) (*Templates, error) {
	return loadTemplates(fsys, func(name string) string { return name })
}

// loadTemplates is LoadTemplatesFS, with path giving the name of an
// override file in errors.
func loadTemplates(overrides fs.FS, path func(name string) string) (*Templates, error) {
	// read returns the default source of name and the override's, if any,
	// and the file that name then comes from.
	read := func(name string) (def, override []byte, where string, err error) {
		def, err = defaultTemplates.ReadFile("templates/" + name)
		if err != nil {
			return nil, nil, "", fmt.Errorf("mailer: embedded template %s: %w", name, err)
		}
		if overrides == nil {
			return def, nil, name, nil
		}
		override, err = fs.ReadFile(overrides, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return def, nil, name, nil
		case err != nil:
			return nil, nil, "", fmt.Errorf("mailer: template %s: %w", path(name), err)
		}
		return def, override, path(name), nil
	}

	t := &Templates{byKind: make(map[Kind]kindTemplates, len(kinds))}
	for _, kind := range kinds {
		var kt kindTemplates
		where := make(map[string]string, 2) // template name to the file it came from

		name := string(kind) + ".txt"
		def, override, file, err := read(name)
		if err != nil {
			return nil, err
		}
		where[name] = file
		kt.text = texttemplate.New(name).Option("missingkey=error")
		if _, err := kt.text.Parse(string(def)); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrTemplate, name, err)
		}
		if override != nil {
			// Parsing into the same set replaces the body and the blocks the
			// override defines and keeps the others (an empty body keeps the
			// default body).
			if _, err := kt.text.Parse(string(override)); err != nil {
				return nil, fmt.Errorf("%w %s: %w", ErrTemplate, file, err)
			}
		}

		name = string(kind) + ".html"
		def, override, file, err = read(name)
		if err != nil {
			return nil, err
		}
		where[name] = file
		kt.html = htmltemplate.New(name).Option("missingkey=error")
		if _, err := kt.html.New(layoutFile).Parse(layoutSource); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrTemplate, layoutFile, err)
		}
		if _, err := kt.html.Parse(string(def)); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrTemplate, name, err)
		}
		if override != nil {
			if _, err := kt.html.Parse(string(override)); err != nil {
				return nil, fmt.Errorf("%w %s: %w", ErrTemplate, file, err)
			}
		}

		if _, failed, err := kt.render(sampleData); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrTemplate, where[failed], err)
		}
		t.byKind[kind] = kt
	}
	return t, nil
}

// Render returns the message of kind for the recipient to, rendered with
// data, with [Message.Kind] set to kind. White space in the rendered subject, line breaks included, is
// collapsed to single spaces, so a subject block may span lines and data
// cannot add a header. Render returns [ErrUnknownKind] for a kind not
// listed in [Kind], [ErrHeaderInjection] when the subject holds a NUL (from
// data), and an error matching [ErrTemplate] when a template fails to
// execute. The recipient is not checked here; [SMTP.Send] checks it.
func (t *Templates) Render(kind Kind, to string, data Data) (Message, error) {
	kt, ok := t.byKind[kind]
	if !ok {
		return Message{}, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	m, failed, err := kt.render(data)
	if err != nil {
		return Message{}, fmt.Errorf("%w %s: %w", ErrTemplate, failed, err)
	}
	if hasLineBreak(m.Subject) {
		return Message{}, fmt.Errorf("%w: Subject", ErrHeaderInjection)
	}
	m.To = to
	m.Kind = kind
	return m, nil
}

// render executes the templates; on failure it names the template that
// failed.
func (kt kindTemplates) render(data Data) (m Message, failed string, err error) {
	var subject, text, html bytes.Buffer
	if kt.text.Lookup(subjectTemplate) == nil {
		return Message{}, kt.text.Name(), fmt.Errorf("no {{define %q}} block", subjectTemplate)
	}
	if err := kt.text.ExecuteTemplate(&subject, subjectTemplate, data); err != nil {
		return Message{}, kt.text.Name(), err
	}
	if err := kt.text.Execute(&text, data); err != nil {
		return Message{}, kt.text.Name(), err
	}
	if err := kt.html.Execute(&html, data); err != nil {
		return Message{}, kt.html.Name(), err
	}
	return Message{
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    text.String(),
		HTML:    html.String(),
	}, "", nil
}
