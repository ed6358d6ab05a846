package forgeauth_test

// providerCases and browserCases are SECURITY.md's cases 36–40 (DESIGN §9
// and §10), each with the tests that fail without its defence;
// TestSecurityCasesHaveTests checks them with the other lists.
var providerCases = []securityCase{
	{"36", "state missing or not matching the cookie, PKCE verifier missing, nonce replayed, ID token of another audience or issuer or expired: the callback signs no one in",
		map[string][]string{"httpauth": {"TestOAuthCallbackDefences", "TestOAuthCallbackOfAnotherProvider"}, "oauthlogin": {"TestExchangeNeedsTheVerifier"},
			"auth": {"TestOAuthProviderMismatch"}}},
	{"37", "a redirect_uri outside the list is 400 before any redirect; the exchange code works once, for 60 s",
		map[string][]string{"httpauth": {"TestOAuthRedirectURIAllowList", "TestOAuthSignUpSignInExchange"},
			"auth": {"TestOAuthExchangeConcurrent", "TestOAuthExchangeUserChanged"}}},
	{"38", "a provider account whose email has an account is never linked without signing in; an unverified provider email verifies nothing; a provider sign-in still asks for the second factor",
		map[string][]string{"httpauth": {"TestOAuthNeverLinksByEmail", "TestOAuthUnverifiedEmail", "TestOAuthSignInNeedsTheSecondFactor"},
			"examples/server": {"TestBrowserProviderAccountExists"}}},
}

var browserCases = []securityCase{
	{"39", "with cookies on, a cross-site unsafe request is 403 and changes nothing; the cookie is HttpOnly, Secure, SameSite, path-scoped; no refresh token in any JSON body",
		map[string][]string{"httpauth": {"TestCookieCrossOrigin", "TestCookieAttributes", "TestCookieCORS"}, "examples/server": {"TestBrowserCrossSite"}}},
	{"40", "within the grace window two concurrent refreshes of one token get two pairs of one session; after it, reuse revokes the session",
		map[string][]string{"auth": {"TestRefreshReuseGraceTwoTabs", "TestRefreshWithoutGraceTwoTabs"}, "store/storetest": {"TwoAtOnce", "AfterWindowRevokesSession"}}},
}
