package forgeauth_test

// lifecycleCases are the cases 41–44 of SECURITY.md (account lifecycle
// and administration), each with the tests that fail without its defence.
var lifecycleCases = []securityCase{
	{"41", "change-email: the code goes to the new address only and binds to it; a taken address at confirmation is 409; the old address is told and no longer logs in",
		map[string][]string{
			"httpauth":        {"TestChangeEmail"},
			"auth":            {"TestChangeEmailCodeBoundToAddress", "TestChangeEmailMailerDown"},
			"store/storetest": {"ChangeEmail", "ChangeEmailTaken", "ChangeEmailNewerCode"},
		}},
	{"42", "deleting an account removes everything of it in one step; its access tokens fail at once; its username and email can be registered again",
		map[string][]string{
			"auth":            {"TestDeleteAccountWithCode"},
			"httpauth":        {"TestDeleteMe", "TestDeleteMeWithCode"},
			"store/storetest": {"ChangeEmailDeletedUser", "RemoveUserRacingRefresh", "DeleteUser", "testPasskeysDeleteUser"},
		}},
	{"43", "/admin/* as a normal user is 403; disabling ends sessions and access at once; the last superuser cannot remove themself",
		map[string][]string{
			"httpauth":        {"TestAdminForbiddenDisableAndLastSuperuser", "TestAdminListUsers"},
			"auth":            {"TestAdminFlowsRefuse"},
			"store/storetest": {"UpdateUserDisableRevokes", "LastSuperuser", "LastSuperuserConcurrent", "ListUsersPrefixIsText"},
		}},
	{"44", "uniform registration answers byte-identically for new and taken addresses, and does the same work before answering",
		map[string][]string{
			"httpauth": {"TestUniformRegistration"},
			"auth":     {"TestUniformRegistrationAnswersBeforeMailWork"},
		}},
}
