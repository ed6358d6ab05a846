// Package token issues and verifies the JSON Web Tokens of forgeauth: short
// lived access tokens that authorise requests, and refresh tokens that are
// exchanged, once each, for a new pair.
//
// A [Manager] signs with one algorithm and accepts only that one. The default,
// HS256, needs a secret of at least 32 random bytes ([ErrWeakSecret]
// otherwise); EdDSA, ES256 and RS256 sign with a private key and verify with
// public keys chosen by the kid header, so keys can be rotated, and publish
// them with [Manager.JWKS]. A key's kid is its RFC 7638 thumbprint
// ([Thumbprint]) unless the caller names it; [ParsePrivateKeyPEM] and
// [ParsePublicKeysPEM] read keys from PEM files and [CheckKey] says whether a
// key suits an algorithm.
//
//	m, err := token.New(token.Config{Secret: secret}) // 32+ random bytes
//	if err != nil {
//		return err
//	}
//	issued, err := m.IssueAccess(token.Identity{UserID: u.ID, Username: u.Username})
//	if err != nil {
//		return err
//	}
//	// ... later, on a request:
//	claims, err := m.Verify(bearer, token.TypeAccess)
//	switch {
//	case errors.Is(err, token.ErrExpired):
//		// ask the client to refresh
//	case err != nil:
//		// 401; err matches token.ErrInvalid
//	}
//
// # Claims
//
// A token carries sub (the username), user_id, exp, iat, iss, aud,
// token_type ("access" or "refresh"), jti (128 random bits) and, when there is
// a session, sid. Callers see them as [Claims]; no type of the JWT library
// appears in this package's API.
//
// These top-level names are reserved; a caller's own claims
// ([Identity.Custom]) all go under the one claim "ext", so they can never
// replace one of them:
//
//	iss sub aud exp nbf iat jti   registered (RFC 7519, section 4.1)
//	auth_time                     OpenID Connect Core, section 2
//	amr                           RFC 8176 (how the user signed in)
//	token_type user_id sid        forgeauth
//	is_superuser ext              forgeauth, access tokens only
//
// # Verification
//
// [Manager.Verify] follows [RFC 8725]: one algorithm, never "none"; the key is
// the configured secret or a configured public key, never one named by a
// jku, jwk or x5u header; exp, iat, iss, aud, sub, user_id, jti and
// token_type are required; the token type must be the one asked for, so a
// refresh token never opens a protected route; base64url is decoded strictly;
// tokens over 8 KiB are refused before parsing. Expiry, issue time and
// not-before are checked against the injected clock with a leeway (30 seconds
// by default) for clock skew.
//
// # Verifying in another service
//
// A service that trusts forgeauth's tokens but does not issue them uses a
// [Verifier]: the checks of [Manager.Verify], one implementation for both,
// with public keys alone, given in its configuration or fetched from the
// issuer's JWK Set URL (cached, fetched again at most once a minute, and
// kept when a fetch fails). The algorithm of each token must be that of the
// key its kid names, so HMAC and "none" never pass.
//
//	v, err := token.NewVerifier(token.VerifierConfig{
//		JWKSURL: "https://auth.example.com/api/v1/auth/jwks.json",
//	})
//	// ... on a request:
//	claims, err := v.Verify(r.Context(), bearer, token.TypeAccess)
//
// # Refresh tokens
//
// A store keeps [Digest] of a refresh token, never the token. Rotation,
// revocation and reuse detection are the caller's (package auth) on top of
// the store; this package only guarantees that each refresh token is unique
// and that Verify refuses anything it did not sign.
//
// # Revocation of access tokens
//
// Access tokens are not stored. To cut off the access tokens of a user issued
// before some moment (logout of every device, a password change), the caller
// records that moment, in whole seconds, and refuses tokens whose iat is
// earlier. A token issued right after, in the same second, would carry the
// same iat; [Identity.NotBefore] lifts the new token's iat to that moment.
//
// [RFC 8725]: https://www.rfc-editor.org/rfc/rfc8725
package token
