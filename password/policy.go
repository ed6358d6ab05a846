package password

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rule is the stable, machine-readable code of one password rule. An HTTP
// layer can return it as the code of a validation error; the values never
// change.
type Rule string

// The rules of a [Policy], in the order [Policy.Check] reports them.
const (
	RuleTooShort         Rule = "password_too_short"
	RuleTooLong          Rule = "password_too_long"
	RuleNoUpper          Rule = "password_no_upper"
	RuleNoLower          Rule = "password_no_lower"
	RuleNoDigit          Rule = "password_no_digit"
	RuleNoSpecial        Rule = "password_no_special"
	RuleInvalidChars     Rule = "password_invalid_characters"
	RuleCommon           Rule = "password_common"
	RuleContainsUserInfo Rule = "password_contains_user_info"
)

// Defaults of [Policy] length fields.
const (
	DefaultMinLength = 8
	DefaultMaxLength = 128
)

// minUserInfoLength is the shortest user-info word checked; shorter ones
// ("al", the "x" of "x@example.com") would refuse too many passwords.
const minUserInfoLength = 3

// Violation is one failed rule: its code and an English sentence for the
// user.
type Violation struct {
	Rule    Rule
	Message string
}

// ValidationError lists every rule a password failed, in the order of the
// Rule constants. It wraps [ErrWeak].
type ValidationError struct {
	Violations []Violation
}

// Error returns "password: does not meet the policy: " and the messages.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrWeak.Error())
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(" ")
		}
		b.WriteString(v.Message)
	}
	return b.String()
}

// Unwrap returns [ErrWeak].
func (e *ValidationError) Unwrap() error { return ErrWeak }

// Policy is a password strength policy. The zero value checks only the
// length (8 to 128 characters) and refuses invalid characters; use
// [DefaultPolicy] or [NISTPolicy] for a complete policy. A Policy is a plain
// value, safe to copy and to use from several goroutines.
//
// Lengths are counted in Unicode characters (runes, not bytes; an invalid
// UTF-8 byte counts as one). Passwords are never trimmed, normalised or
// truncated.
//
// Every policy refuses invalid UTF-8 and control characters (Unicode
// category Cc: NUL, tab, line breaks, DEL and the C1 controls), which are
// typing or encoding accidents rather than entropy and break forms and
// terminals.
type Policy struct {
	MinLength int // in runes; zero or negative means DefaultMinLength (8)
	MaxLength int // in runes; zero or negative means DefaultMaxLength (128)

	RequireUpper   bool // at least one rune for which unicode.IsUpper holds
	RequireLower   bool // at least one rune for which unicode.IsLower holds
	RequireDigit   bool // at least one rune for which unicode.IsDigit holds
	RequireSpecial bool // at least one rune that is neither a letter nor a digit; space counts

	// CheckBlocklist refuses, case-insensitively, the passwords of the
	// embedded list of about 5,700 common and breached passwords (including
	// composition-satisfying ones such as "P@ssw0rd" and "Welcome1!"). The
	// whole password must match an entry.
	CheckBlocklist bool

	// CheckUserInfo refuses a password that contains, case-insensitively,
	// any of the user-info words given to Check: each word with surrounding
	// white space removed, and for a word with an "@" (an email) also its
	// local part. Words shorter than 3 runes are ignored.
	CheckUserInfo bool
}

// DefaultPolicy returns the reference rules: 8 to 128 characters with at
// least one upper-case letter, one lower-case letter, one digit and one
// special character, not a common password and not containing the
// username or email.
func DefaultPolicy() Policy {
	return Policy{
		MinLength:      DefaultMinLength,
		MaxLength:      DefaultMaxLength,
		RequireUpper:   true,
		RequireLower:   true,
		RequireDigit:   true,
		RequireSpecial: true,
		CheckBlocklist: true,
		CheckUserInfo:  true,
	}
}

// NISTPolicy returns a policy in the spirit of NIST SP 800-63B and OWASP
// ASVS 5: 8 to 128 characters, no composition rules, refused when common or
// when it contains the username or email. Revision 3 of 800-63B sets the
// minimum at 8; revision 4 asks 15 when the password is the only factor,
// so a service without a second factor may raise MinLength to 15.
func NISTPolicy() Policy {
	return Policy{
		MinLength:      DefaultMinLength,
		MaxLength:      DefaultMaxLength,
		CheckBlocklist: true,
		CheckUserInfo:  true,
	}
}

// Check returns nil when pw satisfies the policy, else a *[ValidationError]
// (which wraps [ErrWeak]) listing every failed rule in the order of the Rule
// constants. userInfo are the words the password must not contain, usually
// the username and the email; empty ones are ignored.
//
// Check's work is linear in len(pw). A password over MaxLength is refused
// without the blocklist and user-info checks: they cannot turn the refusal
// into an acceptance, and skipping them keeps an attacker-chosen length
// cheap.
func (p Policy) Check(pw string, userInfo ...string) error {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen <= 0 {
		minLen = DefaultMinLength
	}
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}

	var n int
	var upper, lower, digit, special, invalid bool
	for i := 0; i < len(pw); {
		r, size := utf8.DecodeRuneInString(pw[i:])
		i += size
		n++
		switch {
		case r == utf8.RuneError && size == 1, unicode.IsControl(r):
			invalid = true
		case unicode.IsLetter(r):
			upper = upper || unicode.IsUpper(r)
			lower = lower || unicode.IsLower(r)
		case unicode.IsDigit(r):
			digit = true
		default:
			special = true
		}
	}

	var vs []Violation
	add := func(r Rule, msg string) { vs = append(vs, Violation{Rule: r, Message: msg}) }
	if n < minLen {
		add(RuleTooShort, "Password must be at least "+strconv.Itoa(minLen)+" characters long.")
	}
	tooLong := n > maxLen
	if tooLong {
		add(RuleTooLong, "Password must be at most "+strconv.Itoa(maxLen)+" characters long.")
	}
	if p.RequireUpper && !upper {
		add(RuleNoUpper, "Password must contain at least one upper-case letter.")
	}
	if p.RequireLower && !lower {
		add(RuleNoLower, "Password must contain at least one lower-case letter.")
	}
	if p.RequireDigit && !digit {
		add(RuleNoDigit, "Password must contain at least one digit.")
	}
	if p.RequireSpecial && !special {
		add(RuleNoSpecial, "Password must contain at least one special character.")
	}
	if invalid {
		add(RuleInvalidChars, "Password must be valid text without control characters.")
	}
	if !tooLong && (p.CheckBlocklist || p.CheckUserInfo) {
		folded := strings.ToLower(pw)
		if p.CheckBlocklist && isCommon(folded) {
			add(RuleCommon, "Password is too common.")
		}
		if p.CheckUserInfo && containsUserInfo(folded, userInfo) {
			add(RuleContainsUserInfo, "Password must not contain the username or email.")
		}
	}
	if vs == nil {
		return nil
	}
	return &ValidationError{Violations: vs}
}

// containsUserInfo reports whether folded (a lower-cased password) contains
// one of the words, or the local part of an email among them.
func containsUserInfo(folded string, words []string) bool {
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if contains(folded, w) {
			return true
		}
		if at := strings.LastIndexByte(w, '@'); at >= 0 && contains(folded, w[:at]) {
			return true
		}
	}
	return false
}

func contains(folded, word string) bool {
	return utf8.RuneCountInString(word) >= minUserInfoLength && strings.Contains(folded, word)
}
