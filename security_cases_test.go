package forgeauth_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// securityCase is one defence and the tests that fail without it.
type securityCase struct {
	id, defence string
	tests       map[string][]string // directory -> test functions or subtest names
}

// hardeningCases extends the list of SECURITY.md with what an outside
// attack and a first integration found (H1–H19). Each case names the tests
// that fail without its defence; TestSecurityCasesHaveTests keeps the list
// honest when a test is renamed or removed.
var hardeningCases = []securityCase{
	{"H1", "a password reset or change that commits during a login leaves that login without a session",
		map[string][]string{"auth": {"testLoginRacingReset"}, "store/storetest": {"LoginWhilePasswordChanges", "CreateSessionStale", "SetPasswordStale"}}},
	{"H2", "50 concurrent wrong guesses (login or current password) evaluate exactly the limit",
		map[string][]string{"auth": {"testLoginBurst"}, "ratelimit/limittest": {"ConcurrentAllowRefund", "RefundRestoresOne"}}},
	{"H3", "an ended session's access token fails at once in RequireUser",
		map[string][]string{"auth": {"testSessionEndCutsAccess"}, "store/storetest": {"UserWithSession"}}},
	{"H4", "a lock is per network, a device token passes the account-wide ceiling, a lock links no username to an email",
		map[string][]string{"auth": {"testLockoutResistance"}, "httpauth": {"TestLoginLimitsPerNetwork"}}},
	{"H5", "refused sends spend no hourly budget; wrong codes are limited per network",
		map[string][]string{"auth": {"testCodeBudgets"}, "ratelimit": {"TestAllowAllCooldownAndCap", "TestAllowAllRefundsEarlierOnDenial"}}},
	{"H6", "reset-password does the same work for any email and tells the user-info rule only to the code's holder",
		map[string][]string{"auth": {"testResetTellsNothing", "TestEnumerationTimings"}}},
	{"H7", "per-IP limits key an IPv6 client by its /64, an IPv4-mapped address as IPv4",
		map[string][]string{"httpauth": {"TestIPLimitIPv6Network", "TestClientNetwork"}}},
	{"H8", "a wrong password for a hash with older, cheaper parameters takes a current check's time",
		map[string][]string{"auth": {"TestLoginPadsCheapHashes", "TestHashTimer"}}},
	{"H9", "no public endpoint does measurably different work for registered and unknown identifiers (medians reported)",
		map[string][]string{"auth": {"TestEnumerationTimings"}}},
	{"H10", "NUL or invalid UTF-8 is a 400 at the edge and bad input, never a 500, in the store",
		map[string][]string{"httpauth": {"TestNotTextRefused", "TestFormNotTextRefused"}, "store/sqlstore": {"TestBadText", "TestInvalidTextClassified"}, "store/storetest": {"InvalidText", "LookupInvalidText"}}},
	{"H11", "a code mail that cannot be queued voids no code, counts nothing and is audited; one recipient cannot fill the queue",
		map[string][]string{"auth": {"TestFullMailQueue"}, "mailer": {"TestAsyncPerRecipientLimit", "TestAsyncReserveConcurrent"}}},
	{"H12", "emails: no IP literals, routing characters, quoted or long local parts, invisible or bidi characters; NFC",
		map[string][]string{"auth": {"testRegisterValidation", "testRegisterNormalises"}}},
	{"H13", "a registration replaces a pending unverified one; codes bind to it; unverified accounts expire",
		map[string][]string{"auth": {"testPreAccountTakeover"}, "store/storetest": {"ReplaceUnverifiedUser", "ReplaceUnverifiedSameEmail"}}},
	{"H14", "disabling ends every session and access token; enabling brings none back",
		map[string][]string{"auth": {"testDisableEndsSessions"}, "store/storetest": {"SetActive"}}},
	{"H15", "the migration table is our own; a foreign table is refused loudly; a table prefix",
		map[string][]string{"store/sqlstore": {"TestMigrateLeavesForeignSchemaMigrations", "TestMigrateForeignTable", "TestTwoPrefixes", "TestUpgradeFromVersion1"}}},
	{"H16", "the handler works in a chi sub-router and behind StripPrefix, or refuses at mount time",
		map[string][]string{"httpauth": {"TestMountUnderRouters", "TestMountAtErrors"}}},
	{"H17", "a refresh after logout is not reported as token theft",
		map[string][]string{"auth": {"testRefreshAfterLogoutIsNoTheft"}, "store/storetest": {"RotateSessionEnded", "RotateReused"}}},
	{"H18", "sessions have an absolute lifetime in every store",
		map[string][]string{"auth": {"testSessionMaxLifetime"}, "store/storetest": {"SessionEnd", "CreateSessionClamped"}}},
	{"H19", "a cross-site form login is refused; the server warns when mails go to the log",
		map[string][]string{"httpauth": {"TestLoginCSRF"}, "examples/server": {"EMAIL_HOST is not set"}}},
}

func TestSecurityCasesHaveTests(t *testing.T) {
	sources := map[string]string{}
	source := func(dir string) string {
		if s, ok := sources[dir]; ok {
			return s
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		var b strings.Builder
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		sources[dir] = b.String()
		return sources[dir]
	}
	for _, c := range slices.Concat(hardeningCases, secondFactorCases, passkeyCases, providerCases, browserCases, lifecycleCases) {
		for dir, names := range c.tests {
			for _, name := range names {
				src := source(dir)
				found := strings.Contains(src, "func "+name+"(") || strings.Contains(src, `"`+name+`"`)
				if strings.Contains(name, " ") { // a phrase a test looks for
					found = strings.Contains(src, name)
				}
				if !found {
					t.Errorf("%s (%s): no %s in %s", c.id, c.defence, name, dir)
				}
			}
		}
	}
}
