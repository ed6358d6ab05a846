package forgeauth_test

// passkeyCases are SECURITY.md 34–35 (DESIGN §8), each with the tests
// that fail without its defence.
var passkeyCases = []securityCase{
	{"34", "a wrong origin or RP ID, a reused or expired ceremony, a ceremony begun for one user and finished for another, an assertion by another user's credential, a counter that goes backwards: all refused, nothing issued",
		map[string][]string{
			"auth":            {"testPasskeyCeremonyRules", "testPasskeyRefusedAssertions", "testPasskeyCounter", "testPasskeyConcurrentFinish", "testPasskeyConcurrentCounter", "TestPasskeyConfigFromEnv", "TestPasskeyCeremonyAcrossInstances"},
			"httpauth":        {"TestPasskeyBadRequests"},
			"store/storetest": {"testPasskeySignCounter", "testPasskeyConcurrentUse"},
		}},
	{"35", "registration refuses a credential id that is already registered; another user's passkey is 404; the last way to sign in cannot be removed",
		map[string][]string{
			"auth":            {"a credential registered already", "testPasskeyManagement", "testPasskeySignup"},
			"httpauth":        {"a duplicate credential", "TestPasskeySignupRoutes"},
			"store/storetest": {"testPasskeyCredentialUnique", "testDeletePasskey", "testDeleteLastPasskeyConcurrently", "testDeletePasskeyWithIdentity"},
		}},
	{"32 (passkeys)", "a passkey without user verification is one factor: a user with a second factor is challenged; a passkey answers a password's challenge only for the challenged user",
		map[string][]string{
			"auth":     {"testPasskeySecondFactor"},
			"httpauth": {"TestPasskeyAsSecondStep"},
		}},
}
