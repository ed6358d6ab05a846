package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits of the identity fields.
const (
	usernameMinLen = 3
	usernameMaxLen = 32
	emailMaxLen    = 254 // RFC 5321 §4.5.3.1.3, a path
	localMaxLen    = 64  // RFC 5321 §4.5.3.1.1
)

// normalize is the form in which usernames and emails are stored and looked
// up: surrounding white space removed and Unicode normalised to NFC, so that
// one address typed with a precomposed "é" and one with "e" and a combining
// accent are the same account. Case is folded by the store (store.Fold).
func normalize(s string) string {
	return norm.NFC.String(strings.TrimSpace(s))
}

// The rules, stated once for the doc comments and the messages.
const (
	usernameRule = "Username must be 3 to 32 characters of ASCII letters, digits, '_', '.' or '-'."
	emailRule    = "Email must be a plain address such as name@example.com: at most 254 bytes, a local part of at most 64 bytes without quotes, '%' or '!', and a domain name (no IP literal)."
)

func checkUsername(username string) []FieldError {
	n := len(username)
	ok := n >= usernameMinLen && n <= usernameMaxLen
	for i := 0; ok && i < n; i++ {
		c := username[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
	}
	if ok {
		return nil
	}
	return []FieldError{{Field: "username", Code: "username_invalid", Message: usernameRule}}
}

// checkEmail accepts an address that mail systems deliver to one mailbox
// and people can read unambiguously: a dot-atom local part of at most 64
// bytes (RFC 5322 atext: no quoted strings, comments or display names),
// without the legacy routing characters '%' and '!' (percent hack, bang
// paths), and a domain of dot-separated labels of letters, digits and
// hyphens (Unicode letters allowed for internationalised domains; no IP
// literal such as [127.0.0.1]). Neither part may hold control, format
// (zero-width joiners, bidi controls), or white-space characters, so that
// "ka\u200dte@" cannot stand for "kate@". The address must already be in
// NFC (see normalize).
func checkEmail(email string) []FieldError {
	bad := []FieldError{{Field: "email", Code: "email_invalid", Message: emailRule}}
	if email == "" || len(email) > emailMaxLen || !utf8.ValidString(email) || !norm.NFC.IsNormalString(email) {
		return bad
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at > localMaxLen || at == len(email)-1 {
		return bad
	}
	if !validLocal(email[:at]) || !validDomain(email[at+1:]) {
		return bad
	}
	return nil
}

// validLocal reports whether local is a dot-atom of atext less '%' and '!'
// (letters of any script allowed, RFC 6531).
func validLocal(local string) bool {
	for _, atom := range strings.Split(local, ".") {
		if atom == "" {
			return false
		}
		for _, r := range atom {
			switch {
			case r < utf8.RuneSelf:
				if !isASCIIAtext(byte(r)) {
					return false
				}
			case !visible(r):
				return false
			}
		}
	}
	return true
}

func isASCIIAtext(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("#$&'*+-/=?^_`{|}~", c) >= 0
}

// validDomain reports whether d is at least two labels of letters, digits
// and inner hyphens, each at most 63 bytes.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			switch {
			case r < utf8.RuneSelf:
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
					return false
				}
			case !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r):
				return false
			}
		}
	}
	return true
}

// visible reports whether a non-ASCII rune may appear in an address: a
// letter, mark, digit, or symbol; never a control, format (Cf: zero-width
// and bidi controls), private-use, unassigned or space character.
func visible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.S, unicode.P) && !unicode.Is(unicode.Cf, r)
}
