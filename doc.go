// Package forgeauth is the root of a library that gives a net/http service
// complete authentication: registration, login with JWT access tokens,
// email verification, refresh-token rotation with reuse detection, password
// reset and change, and per-device sessions.
//
// The root package holds no code. Start with
// [github.com/forgeauth/forgeauth/httpauth] to mount the endpoints, and
// [github.com/forgeauth/forgeauth/auth] for the flows themselves:
//
//	svc, err := auth.New(auth.Config{Store: st, Mailer: m, Token: token.Config{Secret: secret}})
//	h, err := httpauth.New(svc, httpauth.Options{})
//	h.Mount(mux)
//	mux.Handle("GET /api/v1/hello", h.RequireUser(hello))
//
// The packages and the direction of their imports:
//
//	httpauth ──► auth ──┬──► password   (Argon2id, strength policy)
//	                    ├──► token      (JWT)
//	                    ├──► mailer     (SMTP, templates)
//	                    ├──► ratelimit  (memory; Redis in ratelimit/redislimit)
//	                    └──► store      (the persistence contract)
//	store/memstore, store/sqlstore ──► store;  store/storetest: the conformance suite
package forgeauth
