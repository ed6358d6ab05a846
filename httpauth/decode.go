package httpauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// field is one member of a request body: its exact JSON name, whether it
// must be present, and where its value goes. A member is a string (dst),
// except one that is a JSON object kept as it came (object): the WebAuthn
// credential of the passkey routes, the only member that is not a string.
type field struct {
	name     string
	required bool
	dst      *string
	object   *json.RawMessage
}

// The codes of the field errors in a 400 bad_request problem.
const (
	fieldRequired  = "required"
	fieldUnknown   = "unknown_field"
	fieldDuplicate = "duplicate_field"
	fieldType      = "invalid_type"
	fieldText      = "invalid_text"
)

// The body formats a route accepts.
const (
	acceptJSON = 1 << iota
	acceptForm
)

// decodeBody reads the request body into fields. The body must be a JSON
// object (or, when accept has acceptForm, an URL-encoded form from the same
// origin), no larger than the handler's limit. The errors are *requestError
// values (415 for another content type, 413 for a body over the limit, 400
// for anything malformed) or errCrossOrigin for a cross-origin form.
func (h *Handler) decodeBody(w http.ResponseWriter, r *http.Request, accept int, fields []field) error {
	form, err := mediaType(r.Header.Values("Content-Type"), accept)
	if err != nil {
		return err
	}
	if form {
		// Only a form can be posted cross-origin without a preflight.
		if err := h.csrf.Check(r); err != nil {
			return errCrossOrigin
		}
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return badRequest("The request body is not valid UTF-8.")
	}
	if form {
		return decodeForm(body, fields)
	}
	return decodeJSON(body, fields)
}

// mediaType checks the Content-Type and reports whether the body is a form.
func mediaType(values []string, accept int) (form bool, err error) {
	unsupported := func() error {
		detail := "The request body must be application/json."
		if accept&acceptForm != 0 {
			detail = "The request body must be application/json or application/x-www-form-urlencoded."
		}
		return &requestError{p: newProblem(codeUnsupportedMedia, detail)}
	}
	if len(values) != 1 {
		return false, unsupported()
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil {
		return false, unsupported()
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false, unsupported()
	}
	switch {
	case mt == "application/json" && accept&acceptJSON != 0:
		return false, nil
	case mt == "application/x-www-form-urlencoded" && accept&acceptForm != 0:
		return true, nil
	}
	return false, unsupported()
}

// readBody reads the whole body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, tooLarge(limit)
		}
		return nil, badRequest("The request body could not be read.")
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return &requestError{p: newProblem(codePayloadTooLarge,
		"The request body is larger than "+strconv.FormatInt(limit, 10)+" bytes.")}
}

// decodeJSON decodes a JSON object of string members into fields, strictly:
// member names must match exactly (encoding/json alone would accept "EMAIL"
// for "email"), each may appear once, unknown members and trailing data are
// refused, required members must be present and every value must be a string
// (null is taken as absent for optional members) of text: no NUL character,
// even written as the escape \u0000, and no escape of half a UTF-16
// surrogate pair, which encoding/json would silently turn into U+FFFD. Error
// details name the member but never repeat a value.
func decodeJSON(body []byte, fields []field) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	malformed := func() error { return badRequest("The request body is not a valid JSON object.") }

	tok, err := dec.Token()
	if err != nil {
		return malformed()
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return badRequest("The request body must be a JSON object.")
	}
	given := make([]bool, len(fields)) // named in the body, even as null
	seen := make([]bool, len(fields))  // given a string value
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed()
		}
		key, ok := tok.(string)
		if !ok {
			return malformed()
		}
		i := indexField(fields, key)
		if i < 0 {
			name := quoteName(key)
			return badRequest("Unknown field "+name+".",
				fieldError{Field: cutName(key), Code: fieldUnknown, Message: "This field is not accepted here."})
		}
		f := fields[i]
		if given[i] {
			return badRequest("Field \""+f.name+"\" is given more than once.",
				fieldError{Field: f.name, Code: fieldDuplicate, Message: "This field is given more than once."})
		}
		given[i] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed()
		}
		if string(raw) == "null" && !f.required {
			continue
		}
		if f.object != nil {
			if len(raw) == 0 || raw[0] != '{' {
				return badRequest("Field \""+f.name+"\" must be a JSON object.",
					fieldError{Field: f.name, Code: fieldType, Message: "This field must be a JSON object."})
			}
			if hasLoneSurrogate(raw) || bytes.Contains(raw, []byte(`\u0000`)) {
				return badText(f.name)
			}
			*f.object = raw
			seen[i] = true
			continue
		}
		if len(raw) == 0 || raw[0] != '"' {
			return badRequest("Field \""+f.name+"\" must be a string.",
				fieldError{Field: f.name, Code: fieldType, Message: "This field must be a string."})
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return malformed()
		}
		if hasLoneSurrogate(raw) || !isText(*f.dst) {
			return badText(f.name)
		}
		seen[i] = true
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return malformed()
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return badRequest("The request body holds data after the JSON object.")
		}
		return malformed()
	}
	return missing(fields, seen)
}

// decodeForm decodes an URL-encoded form into fields with the rules of
// decodeJSON: every name and value, once unescaped, must be valid UTF-8
// without NUL (%00, %ff are refused). The OAuth2 password-grant members "scope", "client_id" and
// "client_secret" are accepted and ignored, and "grant_type", when present,
// must be "password", so OAuth2 clients (and Swagger UI) can log in.
func decodeForm(body []byte, fields []field) error {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return badRequest("The request body is not a valid URL-encoded form.")
	}
	// Sorted, so that a body with several faults always gets the same answer.
	keys := slices.Sorted(maps.Keys(values))
	seen := make([]bool, len(fields))
	for _, key := range keys {
		vs := values[key]
		if !isText(key) {
			return badRequest("A field name is not valid UTF-8 or holds a NUL character.")
		}
		for _, v := range vs {
			if !isText(v) {
				return badText(cutName(key))
			}
		}
		if len(vs) > 1 {
			return badRequest("Field "+quoteName(key)+" is given more than once.",
				fieldError{Field: cutName(key), Code: fieldDuplicate, Message: "This field is given more than once."})
		}
		i := indexField(fields, key)
		if i < 0 {
			switch key {
			case "scope", "client_id", "client_secret":
				continue
			case "grant_type":
				if vs[0] == "password" {
					continue
				}
				return badRequest("Field \"grant_type\" must be \"password\".",
					fieldError{Field: key, Code: fieldType, Message: "Only the password grant is supported."})
			}
			return badRequest("Unknown field "+quoteName(key)+".",
				fieldError{Field: cutName(key), Code: fieldUnknown, Message: "This field is not accepted here."})
		}
		seen[i] = true
		*fields[i].dst = vs[0]
	}
	return missing(fields, seen)
}

// isText reports whether s can be stored as text: valid UTF-8 without NUL
// (PostgreSQL refuses both, and nothing a person types holds them).
func isText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// badText is the 400 for a member whose value is not text.
func badText(name string) error {
	return badRequest("Field "+strconv.Quote(name)+" must be valid UTF-8 text without NUL characters.",
		fieldError{Field: name, Code: fieldText, Message: "This field must be valid UTF-8 text without NUL characters."})
}

// hasLoneSurrogate reports whether raw, a JSON string that decodes, holds a
// \u escape of a UTF-16 surrogate that is not the first half of a pair
// followed by its second half.
func hasLoneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1:])
		i += 4
		switch {
		case 0xDC00 <= r && r <= 0xDFFF:
			return true
		case 0xD800 <= r && r <= 0xDBFF:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return true
			}
			if lo := hex4(raw[i+3:]); lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads the four hexadecimal digits of a \u escape that the JSON
// decoder has already accepted.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// missing returns the 400 for the first required field not seen, in field
// order, so the answer is stable.
func missing(fields []field, seen []bool) error {
	for i, f := range fields {
		if f.required && !seen[i] {
			return badRequest("Field \""+f.name+"\" is required.",
				fieldError{Field: f.name, Code: fieldRequired, Message: "This field is required."})
		}
	}
	return nil
}

func indexField(fields []field, name string) int {
	for i, f := range fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

// cutName cuts a member name sent by the client to 64 characters, so that a
// huge name does not come back whole in an error.
func cutName(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		return truncateRunes(s, max) + "…"
	}
	return s
}

// quoteName quotes a member name sent by the client for an error detail.
func quoteName(s string) string { return strconv.Quote(cutName(s)) }
