package password_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/password"
)

const (
	tooShort   = password.RuleTooShort
	tooLong    = password.RuleTooLong
	noUpper    = password.RuleNoUpper
	noLower    = password.RuleNoLower
	noDigit    = password.RuleNoDigit
	noSpecial  = password.RuleNoSpecial
	invalid    = password.RuleInvalidChars
	common     = password.RuleCommon
	userInfo   = password.RuleContainsUserInfo
	strongPass = "Xy7!kq2Lm"
)

// checkRules runs p.Check and returns the failed rules, checking the shape
// of the error on the way.
func checkRules(tb testing.TB, p password.Policy, pw string, info ...string) []password.Rule {
	tb.Helper()
	err := p.Check(pw, info...)
	if err == nil {
		return nil
	}
	if !errors.Is(err, password.ErrWeak) {
		tb.Fatalf("Check error %v does not wrap ErrWeak", err)
	}
	var verr *password.ValidationError
	if !errors.As(err, &verr) {
		tb.Fatalf("Check error %T is not a *ValidationError", err)
	}
	if len(verr.Violations) == 0 {
		tb.Fatal("ValidationError without violations")
	}
	if !strings.HasPrefix(err.Error(), "password: does not meet the policy: ") {
		tb.Errorf("Error() = %q", err.Error())
	}
	rules := make([]password.Rule, len(verr.Violations))
	for i, v := range verr.Violations {
		rules[i] = v.Rule
		if v.Message == "" || !strings.HasSuffix(v.Message, ".") {
			tb.Errorf("rule %s: message %q is not a sentence", v.Rule, v.Message)
		}
		if !strings.Contains(err.Error(), v.Message) {
			tb.Errorf("Error() %q does not list %q", err.Error(), v.Message)
		}
	}
	// A password made only of letters may be a word of the messages
	// themselves ("password"); any other must not appear.
	if len(pw) >= 4 && strings.IndexFunc(pw, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 &&
		strings.Contains(err.Error(), pw) {
		tb.Errorf("Error() %q quotes the password", err.Error())
	}
	return rules
}

func rules(r ...password.Rule) []password.Rule { return r }

func TestDefaultPolicy(t *testing.T) {
	long128 := "Aa1!" + strings.Repeat("x", 124)
	tests := []struct {
		name string
		pw   string
		info []string
		want []password.Rule
	}{
		{"strong", strongPass, nil, nil},
		{"exactly 8", "Xy7!kq2L", nil, nil},
		{"7 characters", "Xy7!kq2", nil, rules(tooShort)},
		{"empty: every composition rule", "", nil, rules(tooShort, noUpper, noLower, noDigit, noSpecial)},
		{"no upper", "xy7!kq2lm", nil, rules(noUpper)},
		{"no lower", "XY7!KQ2LM", nil, rules(noLower)},
		{"no digit", "Xy!!kqzLm", nil, rules(noDigit)},
		{"no special", "Xy7akq2Lm", nil, rules(noSpecial)},
		{"space is special", "Xy7 kq2Lm", nil, nil},
		{"symbol outside ASCII is special", "Xy7€kq2Lm", nil, nil},
		{"non-ASCII digit counts", "Xy٣!kqzLm", nil, nil},
		{"non-ASCII letters count", "Ñandú7!ß", nil, nil},
		{"letter without case is neither upper nor lower", "日本語日本語7!", nil, rules(noUpper, noLower)},
		{"upper outside ASCII, 9 runes", "ÄÄÄÄÄÄÄ1!", nil, rules(noLower)},
		{"7 runes in 12 bytes is short", "ÄäÄäÄ1!", nil, rules(tooShort)},
		{"8 runes in 14 bytes is enough", "ÄäÄäÄä1!", nil, nil},
		{"emoji count as one rune each", "Aa1🔑🔑🔑🔑", nil, rules(tooShort)},
		{"128 runes", long128, nil, nil},
		{"129 runes", long128 + "x", nil, rules(tooLong)},
		{"128 runes of 2 bytes", "Aa1!" + strings.Repeat("é", 124), nil, nil},
		{"129 runes of 2 bytes", "Aa1!" + strings.Repeat("é", 125), nil, rules(tooLong)},
		{"too long skips user info", "Aa1!" + strings.Repeat("alice", 40), []string{"alice"}, rules(tooLong)},
		{"too long and nothing else", strings.Repeat("a", 1<<16), nil, rules(tooLong, noUpper, noDigit, noSpecial)},
		{"invalid UTF-8", "Xy7!kq2L\xff", nil, rules(invalid)},
		{"truncated UTF-8 sequence", "Xy7!kq2L\xc3", nil, rules(invalid)},
		{"NUL", "Xy7!kq2L\x00", nil, rules(invalid)},
		{"tab", "Xy7!\tkq2L", nil, rules(invalid)},
		{"newline", "Xy7!kq2L\n", nil, rules(invalid)},
		{"DEL", "Xy7!kq2L\x7f", nil, rules(invalid)},
		{"C1 control", "Xy7!kq2L\u0085", nil, rules(invalid)},
		{"common", "Password1!", nil, rules(common)},
		{"common, other case", "pASSWORD1!", nil, rules(common)},
		{"common substitution", "P@ssw0rd", nil, rules(common)},
		{"common with composition", "Qwerty123!", nil, rules(common)},
		{"common without composition", "password", nil, rules(noUpper, noDigit, noSpecial, common)},
		{"common and short", "123456", nil, rules(tooShort, noUpper, noLower, noSpecial, common)},
		{"contains username", "Xalice7!Q", []string{"alice", "bob@example.com"}, rules(userInfo)},
		{"contains username, other case", "XALICE7!q", []string{"Alice"}, rules(userInfo)},
		{"contains email", "!bob@example.com7B", []string{"alice", "bob@example.com"}, rules(userInfo)},
		{"contains email local part", "Bob.Smith#42", []string{"bob.smith@example.com"}, rules(userInfo)},
		{"username padded with spaces", "Xalice7!Q", []string{"  alice "}, rules(userInfo)},
		{"short username ignored", "Xal7!kq2L", []string{"al"}, nil},
		{"short local part ignored", "Xal7!kq2L", []string{"al@example.com"}, nil},
		{"empty info ignored", strongPass, []string{"", "   "}, nil},
		{"unrelated info", strongPass, []string{"alice", "alice@example.com"}, nil},
		{"many rules at once", "alice\x00", []string{"alice"}, rules(tooShort, noUpper, noDigit, noSpecial, invalid, userInfo)},
		{"common and user info", "Welcome1!", []string{"welcome"}, rules(common, userInfo)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, checkRules(t, password.DefaultPolicy(), tt.pw, tt.info...))
		})
	}
}

func TestNISTPolicy(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		info []string
		want []password.Rule
	}{
		{"passphrase without composition", "correct horse battery staple", nil, nil},
		{"lower-case only", "zqmvhtbw", nil, nil},
		{"digits only", "90210573", nil, nil},
		{"short", "zqmvhtb", nil, rules(tooShort)},
		{"common", "password", nil, rules(common)},
		{"common digits", "12345678", nil, rules(common)},
		{"common with composition", "P@ssw0rd!", nil, rules(common)},
		{"user info", "alice in wonderland", []string{"Alice"}, rules(userInfo)},
		{"129 characters", strings.Repeat("z", 129), nil, rules(tooLong)},
		{"NUL", "zqmvhtbw\x00", nil, rules(invalid)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, checkRules(t, password.NISTPolicy(), tt.pw, tt.info...))
		})
	}
	p := password.NISTPolicy()
	assert.Equal(t, 8, p.MinLength)
	assert.Equal(t, 128, p.MaxLength)
	assert.False(t, p.RequireUpper || p.RequireLower || p.RequireDigit || p.RequireSpecial)
}

func TestPolicyFields(t *testing.T) {
	tests := []struct {
		name   string
		policy password.Policy
		pw     string
		info   []string
		want   []password.Rule
	}{
		{"zero policy: length only", password.Policy{}, "zzzzzzzz", nil, nil},
		{"zero policy: min 8", password.Policy{}, "zzzzzzz", nil, rules(tooShort)},
		{"zero policy: max 128", password.Policy{}, strings.Repeat("z", 129), nil, rules(tooLong)},
		{"zero policy: blocklist off", password.Policy{}, "password", nil, nil},
		{"zero policy: user info off", password.Policy{}, "alice-in-chains", []string{"alice"}, nil},
		{"zero policy: invalid still refused", password.Policy{}, "zzzzzzzz\xfe", nil, rules(invalid)},
		{"negative lengths mean default", password.Policy{MinLength: -1, MaxLength: -1}, "zzzzzzz", nil, rules(tooShort)},
		{"min 12", password.Policy{MinLength: 12}, "zzzzzzzzzzz", nil, rules(tooShort)},
		{"max 16", password.Policy{MaxLength: 16}, strings.Repeat("z", 17), nil, rules(tooLong)},
		{"min above max fails one way or the other", password.Policy{MinLength: 10, MaxLength: 9}, strings.Repeat("z", 9), nil, rules(tooShort)},
		{"min 1 shows short common passwords", password.Policy{MinLength: 1, CheckBlocklist: true}, "123456", nil, rules(common)},
		{"only digit required", password.Policy{RequireDigit: true}, "zzzzzzzz", nil, rules(noDigit)},
		{"only special required", password.Policy{RequireSpecial: true}, "zzzzzzz9", nil, rules(noSpecial)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, checkRules(t, tt.policy, tt.pw, tt.info...))
		})
	}
}

// TestBlocklist checks well-known entries, including those that pass
// composition rules.
func TestBlocklist(t *testing.T) {
	p := password.Policy{MinLength: 1, CheckBlocklist: true}
	for _, pw := range []string{
		"123456", "password", "qwerty", "12345678", "iloveyou", "admin", "welcome",
		"monkey", "dragon", "letmein", "football", "abc123", "111111", "sunshine",
		"qwertyuiop", "1q2w3e4r", "zaq12wsx", "trustno1", "passw0rd",
		"Password1!", "P@ssw0rd", "Passw0rd!", "Welcome1!", "Qwerty123!",
		"Password123!", "Admin@123", "Summer2024!", "Winter2025!", "Welcome@123",
		"PASSWORD", "LetMeIn",
	} {
		t.Run(pw, func(t *testing.T) {
			require.Equal(t, rules(common), checkRules(t, p, pw))
		})
	}
	for _, pw := range []string{strongPass, "correct horse battery staple", "# comment", ""} {
		t.Run("not listed "+pw, func(t *testing.T) {
			assert.NotContains(t, checkRules(t, p, pw), common)
		})
	}
}

func TestValidationError(t *testing.T) {
	err := password.DefaultPolicy().Check("qzv")
	var verr *password.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, "password: does not meet the policy: "+
		"Password must be at least 8 characters long. "+
		"Password must contain at least one upper-case letter. "+
		"Password must contain at least one digit. "+
		"Password must contain at least one special character.", err.Error())
	assert.ErrorIs(t, err, password.ErrWeak)
	assert.ErrorIs(t, verr.Unwrap(), password.ErrWeak)
	assert.NotErrorIs(t, err, password.ErrMismatch)
}

func TestRuleCodesAreStable(t *testing.T) {
	assert.Equal(t, []password.Rule{
		"password_too_short", "password_too_long", "password_no_upper", "password_no_lower",
		"password_no_digit", "password_no_special", "password_invalid_characters",
		"password_common", "password_contains_user_info",
	}, rules(tooShort, tooLong, noUpper, noLower, noDigit, noSpecial, invalid, common, userInfo))
}
