// Command server is the reference forgeauth server: a complete
// authentication service configured from the environment, ready to run
// behind a reverse proxy.
//
//	JWT_SECRET_KEY=$(openssl rand -base64 48) go run ./examples/server
//
// It serves the forgeauth endpoints under /api/v1 (see
// [github.com/forgeauth/forgeauth/httpauth]), and besides them:
//
//	GET /healthz           200 {"status":"ok"} while the process runs
//	GET /readyz            200 when the database answers, else 503
//	GET /api/v1/hello      a protected route: {"message":"Hello, <username>!"}
//	GET /api/v1/public     optional sign-in: {"message":"Hello, <username or anonymous>"}
//	GET /api/v1/openapi.json
//	GET /api/v1/auth/jwks.json, GET /.well-known/jwks.json
//	                       the public keys of the tokens (EdDSA, ES256, RS256); 404 with HS256
//	GET /                  the demo page (HTML, CSS, plain JavaScript, embedded)
//	/web/api/v1/...        the same endpoints as the page's cookie API
//	                       (httpauth.Options.Cookies), with its own openapi.json
//
// # Configuration
//
// Everything [github.com/forgeauth/forgeauth/auth.ConfigFromEnv] and
// [github.com/forgeauth/forgeauth/auth.SMTPConfigFromEnv] read (JWT_*,
// EMAIL_*, AUTH_MODE, AUTH_REQUIRE_VERIFIED_LOGIN, AUTH_LOGIN_MAX_FAILURES,
// PASSWORD_HASH_*), and:
//
//	ADDR                        listen address, default ":8080"
//	DATABASE_URL                sqlite:<path> (default sqlite:forgeauth.db),
//	                            postgres://... or postgresql://..., or memory
//	EMAIL_TEMPLATE_DIR          replaces the embedded email templates, file by file
//	REDIS_URL                   redis:// or rediss://: rate limits shared by every instance
//	AUTH_RATE_LIMIT_PER_MINUTE  requests per client IP over the auth endpoints,
//	                            default 60; 0 turns the limit off
//	TRUSTED_PROXIES             comma-separated CIDRs or IPs whose
//	                            X-Forwarded-For is believed
//	AUTH_COOKIES                true (default): serve the page and its cookie
//	                            API; false leaves both out
//	AUTH_TRUSTED_ORIGINS        comma-separated origins (scheme://host[:port])
//	                            that may call the cookie API with credentials
//	OAUTH_PROVIDERS, PUBLIC_URL, OAUTH_<NAME>_*
//	                            sign-in with other providers, read by
//	                            auth.OAuthConfigFromEnv;
//	                            the page shows a "Continue with ..." button each
//	OAUTH_REDIRECT_URIS         the exact URLs a provider flow may return to;
//	                            default, when the page is served: PUBLIC_URL + "/",
//	                            the page and nothing else
//	AUTH_MFA                    two-step verification (TOTP and recovery codes);
//	                            unset: on where its key outlives a restart
//	                            (see below); false leaves it out; true turns
//	                            it on (with a key pair, AUTH_MFA_KEY is required)
//	AUTH_PASSKEYS               true (default): passkeys; false leaves them out
//	WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS, WEBAUTHN_RP_NAME
//	                            the relying party of passkeys, read by
//	                            auth.PasskeyConfigFromEnv (an origin outside the
//	                            RP ID stops the server at start); when
//	                            WEBAUTHN_RP_ID is unset: the host and origin of
//	                            PUBLIC_URL if it names a host, else localhost and
//	                            http://localhost:<the port it listens on>
//
// Passkeys are on with no configuration, for the page opened at
// http://localhost:8080/ (with ADDR's port). Open it there, not at
// http://127.0.0.1:8080/: an IP address cannot be a relying party, and the
// browser refuses every passkey ceremony at an origin outside the RP ID.
// Behind a proxy, set PUBLIC_URL to the public https:// address, or the
// WEBAUTHN_* variables.
//
// Two-step verification is on with no configuration too, where the key
// that seals the TOTP secrets outlives a restart: AUTH_MFA_KEY is set, or
// JWT_SECRET_KEY is (the key is derived from it), or DATABASE_URL is
// memory. With the random secret made at start over a database file, or a
// key pair without AUTH_MFA_KEY, it stays off and the server logs why: after
// a restart the secrets would no longer open, and a user who had turned it
// on could not finish a sign-in until the operator removed the factor with
// "server mfa-disable EMAIL". A JWT_SECRET_KEY that changes from run to run,
// like the one of the command above, does the same harm: keep the same one,
// or set AUTH_MFA_KEY. When it is on, the page offers a signed-in user to
// set it up (a QR code and the key for typing, a first code, then ten
// recovery codes shown once), to make new recovery codes and to turn it
// off; a sign-in then asks for a code after the password.
//
// The page's refresh cookie is Secure: browsers keep it over plain HTTP only
// at http://localhost and http://127.0.0.1, and the server warns at start
// when it listens beyond loopback. Serve other hosts over HTTPS.
//
// Without JWT_SECRET_KEY the server makes a random secret and warns about it:
// the tokens it issues stop working when it restarts, and instances do not
// share it, so set the variable in production. With JWT_ALGORITHM EdDSA,
// ES256 or RS256 it makes up no secret (the tokens are signed with
// JWT_PRIVATE_KEY_FILE, which is required) but, in Complete mode without
// AUTH_CODE_KEY, a random AUTH_CODE_KEY, and warns: emailed codes and device
// tokens then stop working when it restarts, and instances do not share
// it. Without EMAIL_HOST it sends no
// email and logs each one instead, code included: that is for development
// only. A bad value of any variable stops the server at start with an error
// naming the variable.
//
// The SQLite and PostgreSQL databases are migrated at start. Expired refresh
// tokens and codes are deleted hourly. On SIGINT or SIGTERM the server stops
// accepting connections, lets the requests in flight finish, sends the
// queued emails, and closes the database.
package main
