// Package benchsrv builds the three HTTP servers the load harness compares,
// all answering GET /api/v1/users/me with the same user JSON:
//
//   - [NewForgeauth]: the route behind forgeauth's RequireUser (token check
//     plus the user look-up) on the in-memory store;
//   - [NewBare]: the route with no authentication at all, the ceiling;
//   - [NewJWTAuth]: the route behind github.com/go-chi/jwtauth/v5 (HS256;
//     exp, iss and aud checked) with the user looked up by sub.
//
// The servers share [Settings] (secret, issuer, audience), so the access
// token the forgeauth server issues at start works for the jwtauth server as
// well. The commands under cmd/ wrap these constructors; the benchmarks of
// this package measure one round trip of each handler in process, with
// allocations, and give the CPU profile of RequireUser.
//
//	st := benchsrv.Settings{Secret: secret}
//	fa, err := benchsrv.NewForgeauth(ctx, benchsrv.ForgeauthConfig{Settings: st, Mode: auth.ModeBasic})
//	if err != nil { ... }
//	req.Header.Set("Authorization", "Bearer "+fa.Token)
//	fa.Handler.ServeHTTP(w, req) // 200 and the user JSON
package benchsrv
