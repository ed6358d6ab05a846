package httpauth

import (
	"context"
	"encoding/json"
	"fmt"
)

// CustomClaims decodes into v, with encoding/json, the custom claims (the
// ext claim that auth.Config.CustomClaims put in the access token) of the
// claims that [RequireUser], [OptionalUser] or [RequireClaims] verified for
// ctx. It reports false, leaving v alone, when ctx holds no verified claims
// or the token has no custom claims; and returns an error (prefixed
// "httpauth: ") when they do not decode into v. The registered and
// forgeauth claims (sub, user_id, is_superuser, ...) are fields of
// [ClaimsFrom]'s token.Claims, never of the custom claims.
func CustomClaims(ctx context.Context, v any) (bool, error) {
	claims, ok := ClaimsFrom(ctx)
	if !ok || len(claims.Custom) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(claims.Custom, v); err != nil {
		return false, fmt.Errorf("httpauth: custom claims: %w", err)
	}
	return true, nil
}
