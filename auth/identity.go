package auth

import (
	"context"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// Identity is who made a request: the verified access-token claims and, when
// the user was loaded ([Service.Authenticate]), the user.
type Identity struct {
	User   store.User // zero when only the token was verified
	Claims token.Claims
}

type identityKey struct{}

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity stored by [NewContext], if any.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
