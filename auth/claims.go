package auth

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/forgeauth/forgeauth/store"
)

// customClaims calls Config.CustomClaims, if set, for the user an access
// token is about to be issued to. A failure is logged here, with the user,
// and returned wrapped: the flow fails as an internal error.
func (s *Service) customClaims(ctx context.Context, u store.User) (json.RawMessage, error) {
	if s.claimsHook == nil {
		return nil, nil
	}
	raw, err := s.claimsHook(ctx, public(u))
	if err != nil {
		return nil, s.customClaimsFailed(ctx, u.ID, err)
	}
	return raw, nil
}

// customClaimsFailed logs a failure of the custom claims (the hook's error,
// or claims the token package refused) and returns it wrapped.
func (s *Service) customClaimsFailed(ctx context.Context, userID string, err error) error {
	s.log.ErrorContext(ctx, "auth: custom claims failed; no token issued", "user_id", userID, "error", err)
	return fmt.Errorf("auth: custom claims: %w", err)
}

// JWKS returns the JSON Web Key Set (RFC 7517) of the public keys that
// verify the service's tokens, the signing key's included (see
// [token.Manager.JWKS]), and true; or nil and false when the service signs
// with an HMAC secret, which has nothing to publish. The slice is the
// caller's. JWKS is safe for concurrent use.
func (s *Service) JWKS() ([]byte, bool) {
	if s.tokens.KeyID() == "" {
		return nil, false
	}
	doc, err := s.tokens.JWKS()
	if err != nil {
		return nil, false
	}
	return doc, true
}
