package forgeauth_test

// secondFactorCases are SECURITY.md's cases 30–33 (DESIGN §7), each with
// the tests that fail without its defence; TestSecurityCasesHaveTests
// checks them with hardeningCases.
var secondFactorCases = []securityCase{
	{"30", "a TOTP code signs in once, on this instance or another; codes two steps away fail; 50 concurrent submissions of one right code sign in once",
		map[string][]string{
			"auth":            {"testMFACodeOnce", "testMFAConcurrentRightCode"},
			"httpauth":        {"TestMFAVerifyConcurrent", "TestMFAEndpoints"},
			"store/storetest": {"StepCompareAndSet", "ConcurrentStep"},
		}},
	{"31", "an mfa_token is single-use, dies after 5 wrong codes or 5 minutes, belongs to one user, is no access or refresh token; no token pair before the second step; a store outage spends it not",
		map[string][]string{
			"auth":     {"testMFATokenRules", "testMFATokenConcurrentWrong", "testMFALoginChallenge", "TestMFAStoreDown"},
			"httpauth": {"TestMFAVerifyStoreDown"},
		}},
	{"32", "no path skips the second factor: password login, login after a reset, a refreshed password session (amr stays pwd; RequireMFA refuses it)",
		map[string][]string{
			"auth":            {"testMFANoPathSkips", "TestMFABasicMode"},
			"httpauth":        {"TestRequireMFA"},
			"store/storetest": {"PasswordResetKeepsFactor"},
		}},
	{"33", "recovery codes work once (concurrently once), are stored as digests, new ones void the old; the TOTP secret is sealed at rest; an undecryptable secret is a logged 500",
		map[string][]string{
			"auth":            {"testMFARecoveryCodes", "TestMFAAtRest"},
			"httpauth":        {"TestMFAUndecryptableSecret"},
			"store/storetest": {"RecoveryCodeOnce", "ConcurrentRecoveryCode", "ReplaceRecoveryCodes"},
		}},
}
