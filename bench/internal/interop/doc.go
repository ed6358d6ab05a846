// Package interop checks, in its tests, that forgeauth's tokens are
// standard: an independent JOSE implementation (github.com/lestrrat-go/jwx)
// verifies the access tokens a forgeauth server issues, for each asymmetric
// algorithm, with nothing but the JWK Set the server publishes at
// {prefix}/auth/jwks.json. It lives in the bench module so that jwx stays
// out of the library's go.mod. The package has no API.
package interop
