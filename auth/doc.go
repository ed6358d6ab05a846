// Package auth runs the authentication flows of forgeauth: registration,
// login, access-token checks and, in Complete mode, email verification,
// refresh-token rotation with reuse detection, logout, password reset and
// change, and per-device sessions.
//
// A [Service] is built from a [Config] whose zero values are the secure
// defaults; it needs a store, a token secret and, in Complete mode, a mailer:
//
//	svc, err := auth.New(auth.Config{
//		Store:  memstore.New(),           // or sqlstore, or your own store.Store
//		Mailer: mailer.NewLog(nil),       // or mailer.NewSMTP(...)
//		Token:  token.Config{Secret: secret}, // at least 32 random bytes
//	})
//	if err != nil {
//		return err // a missing part or a weak secret, named
//	}
//	defer svc.Shutdown(ctx) // drains the mails still queued
//
// Each flow is one method that reads top to bottom and documents its errors:
// [Service.Register], [Service.Login], [Service.Authenticate],
// [Service.VerifyEmail], [Service.ResendVerification], [Service.Refresh],
// [Service.Logout], [Service.LogoutAll], [Service.ForgotPassword],
// [Service.ResetPassword], [Service.ChangePassword], [Service.Devices],
// [Service.RevokeDevice] and [Service.DeleteExpired]. The examples show the
// error handling a caller writes (see [Service.Login]). The package knows
// nothing of HTTP: [github.com/forgeauth/forgeauth/httpauth] mounts the
// flows on a router and maps their errors to status codes.
//
// # Features beyond the reference flows
//
// Each is off until configured, and needs its store capability (see package
// store), which [New] names when it is missing:
//
//   - A second factor (Config.MFA): [Service.SetupTOTP], [Service.ConfirmTOTP],
//     [Service.DisableTOTP], [Service.RegenerateRecoveryCodes],
//     [Service.MFAStatus]; Login then answers an *[MFARequiredError] and
//     [Service.VerifyMFA] finishes it. Tokens carry amr ([HasSecondFactor]).
//   - Passkeys (Config.Passkeys): [Service.BeginPasskeyRegistration] and
//     [Service.FinishPasskeyRegistration], [Service.BeginPasskeySignup] and
//     [Service.FinishPasskeySignup] (an account without a password),
//     [Service.BeginPasskeyLogin] and [Service.FinishPasskeyLogin]
//     (discoverable, by name, or as the second step of an
//     *[MFARequiredError]), [Service.Passkeys], [Service.RenamePasskey],
//     [Service.DeletePasskey].
//   - Sign-in with other providers (Config.OAuth): [Service.BeginOAuth],
//     [Service.FinishOAuth], [Service.ExchangeOAuthCode], [Service.LinkOAuth],
//     [Service.Identities], [Service.UnlinkIdentity].
//   - The account lifecycle and administration (Config.Lifecycle):
//     [Service.ChangeEmail], [Service.ConfirmEmailChange],
//     [Service.DeleteAccount], [Service.ListUsers], [Service.GetUser],
//     [Service.UpdateUser], [Service.LogoutUser], [Service.DeleteUser],
//     [Service.OperateUser]; notices by mail; uniform registration.
//   - Signing keys (token.Config with EdDSA, ES256 or RS256) and their key
//     set ([Service.JWKS]); claims of your own (Config.CustomClaims); a
//     refresh-token reuse grace window (Config.RefreshReuseGrace).
//
// # Configuration
//
// [Config] documents every setting and its default. One rule holds for
// every number: zero is the default, and a negative value turns off what can
// be turned off (a limit, the token cache, device tokens); elsewhere a
// negative value is an error from [New]. [ConfigFromEnv] reads the same
// settings from the environment, where an unset variable is the default and
// 0 turns off.
//
// # Errors
//
// Conditions are sentinels ([ErrInvalidCredentials], [ErrInvalidToken], ...)
// and typed errors carry data ([ValidationError], [ExistsError],
// [RateLimitError], [UnavailableError]); match them with errors.Is and
// errors.As. Anything else is internal: log it, never show it.
//
// # Sessions and revocation
//
// In Complete mode every login starts a device session: a family of
// refresh tokens, rotated on every refresh, that ends on logout, device
// revocation, refresh-token reuse, logout-all, a password change or reset,
// a disabling, or at its absolute end (Config.SessionMaxLifetime).
// [Service.Authenticate] refuses an access token whose session has ended,
// at once, in the same store round trip that loads the user; logout-all and
// password changes also record a moment (in whole seconds, the precision of
// a token's "iat") before which every access token of the user fails.
// [Service.VerifyAccessToken] checks a token without the store and cannot
// see any of this.
//
// # Second factor
//
// With Config.MFA on, a user may turn on TOTP with recovery codes
// ([Service.SetupTOTP], [Service.ConfirmTOTP], [Service.DisableTOTP],
// [Service.RegenerateRecoveryCodes]). Their password login then returns an
// *[MFARequiredError] with a single-use mfa_token instead of tokens, and
// [Service.VerifyMFA] finishes it with a code. Tokens carry amr (RFC 8176)
// and keep it across refreshes; [HasSecondFactor] tells a session signed in
// with two methods. [Service.ResetMFA] is the operator's way out.
//
// # Limits
//
// Failed logins are limited per identifier as typed and client network, with
// a slower ceiling per identifier that a client presenting a device token
// from an earlier login passes; each attempt is counted before the password
// is checked, so concurrent guesses get no more than the limit. Mailed codes
// are limited per address (a cooldown and an hourly cap; only codes really
// queued count), and wrong codes per client network. Limiters are in memory
// unless Config.NewLimiter gives shared ones (Redis, see
// [github.com/forgeauth/forgeauth/ratelimit/redislimit]).
//
// # Audit
//
// Every security-relevant step is an [Event], logged to Config.Logger and
// passed to Config.OnEvent. Events never hold a password, token, code or
// hash, and the records the flows return ([Tokens].User, the users of
// Register and VerifyEmail, [Identity].User) carry no password hash.
//
// # Testing an application
//
// [github.com/forgeauth/forgeauth/auth/authtest] gives an application's
// tests a service with fast hashing, verified users and token pairs in one
// call each.
package auth
