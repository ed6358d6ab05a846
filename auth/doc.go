// Package auth runs the authentication flows of forgeauth: registration,
// login, access-token checks and, in Complete mode, email verification,
// refresh-token rotation with reuse detection, logout, password reset and
// change, and per-device sessions.
//
// A [Service] is built from a [Config] whose zero values are the secure
// defaults; it needs a store, a token secret and, in Complete mode, a mailer:
//
//	svc, err := auth.New(auth.Config{
//		Store:  memstore.New(),
//		Mailer: mailer.NewLog(nil),
//		Token:  token.Config{Secret: secret}, // at least 32 bytes
//	})
//	if err != nil { ... }
//	tokens, err := svc.Login(ctx, "alice", "correct horse", auth.Client{IP: ip})
//	switch {
//	case errors.Is(err, auth.ErrInvalidCredentials): // 401
//	case errors.Is(err, auth.ErrRateLimited):        // 429, see *RateLimitError
//	}
//
// The package knows nothing of HTTP; [github.com/forgeauth/forgeauth/httpauth]
// maps its errors to status codes. Each flow is one method that reads top to
// bottom: [Service.Register], [Service.Login], [Service.Authenticate],
// [Service.VerifyEmail], [Service.ResendVerification], [Service.Refresh],
// [Service.Logout], [Service.LogoutAll], [Service.ForgotPassword],
// [Service.ResetPassword], [Service.ChangePassword], [Service.Devices] and
// [Service.RevokeDevice].
//
// # Errors
//
// Conditions are sentinels ([ErrInvalidCredentials], [ErrInvalidToken], ...)
// and typed errors carry data ([ValidationError], [ExistsError],
// [RateLimitError], [UnavailableError]); match them with errors.Is and
// errors.As. Anything else is internal: log it, never show it.
//
// # Audit
//
// Every security-relevant step is an [Event], logged to Config.Logger and
// passed to Config.OnEvent. Events never hold a password, token, code or
// hash.
//
// # Revocation
//
// Access tokens are stateless until they expire, with one exception that
// [Service.Authenticate] enforces: logout-all and a password change or reset
// record a moment (rounded up to a whole second, the precision of a token's
// "iat") before which every token of the user fails.
package auth
