package httpauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/token"
)

// maxAuthorizationBytes bounds the Authorization header: a longer one is
// refused before any parsing, so a huge header costs no work.
const maxAuthorizationBytes = 4 << 10

// bearerToken returns the token of the request's "Authorization: Bearer"
// header (the scheme is matched case-insensitively; a token in the query
// string is never read). It returns errNoToken when the request has no
// Authorization header, and an error matching [auth.ErrInvalidToken] when the
// header is there but is not one well-formed bearer credential of at most
// 4 KiB.
func bearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", errNoToken
	case 1:
	default:
		return "", fmt.Errorf("%w: several Authorization headers", auth.ErrInvalidToken)
	}
	v := values[0]
	if len(v) > maxAuthorizationBytes {
		return "", fmt.Errorf("%w: Authorization header over %d bytes", auth.ErrInvalidToken, maxAuthorizationBytes)
	}
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: not a bearer credential", auth.ErrInvalidToken)
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || !isB64Token(tok) {
		return "", fmt.Errorf("%w: malformed bearer credential", auth.ErrInvalidToken)
	}
	return tok, nil
}

// b64TokenChar marks the characters of an RFC 6750 b64token before its
// padding. A table lookup per byte: the check runs on every request's
// token, some 300 bytes, and a switch of ranges cost 7% of a hot request.
var b64TokenChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

// isB64Token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == '=' {
		end--
	}
	if end == 0 {
		return false
	}
	t := s[:end]
	for i := 0; i < len(t); i++ {
		if !b64TokenChar[t[i]] {
			return false
		}
	}
	return true
}

// RequireUser returns middleware that lets a request through only with a
// valid access token of an active user: it reads "Authorization: Bearer",
// calls [auth.Service.Authenticate] (which loads the user from the store, so
// a disabled or deleted user, or a token issued before a logout-all or a
// password change, is refused) and puts the identity in the request context
// for [UserFrom] and [ClaimsFrom].
//
// It answers 401 invalid_token with a WWW-Authenticate challenge (RFC 6750)
// when the token is missing or bad, and 503 unavailable with Retry-After when
// the store cannot be reached: it fails closed, never open. Any other failure
// is logged and answered 500 internal. Safe for concurrent use.
func (h *Handler) RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := bearerToken(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		id, err := h.svc.Authenticate(r.Context(), tok)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
	})
}

// OptionalUser returns middleware for routes that serve everyone but say more
// to a signed-in user. A request without an Authorization header goes through
// with no identity ([UserFrom] reports false). A request with one is treated
// as by [RequireUser]: a valid token puts the identity in the context, and a
// present but invalid token is answered 401 invalid_token rather than served
// anonymously, so a client with an expired token learns that it must refresh
// instead of silently seeing the anonymous page. When the store cannot be
// reached the answer is 503. Safe for concurrent use.
func (h *Handler) OptionalUser(next http.Handler) http.Handler {
	require := h.RequireUser(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		require.ServeHTTP(w, r)
	})
}

// RequireClaims returns middleware that verifies the access token alone
// ([auth.Service.VerifyAccessToken]: signature, expiry, issuer, audience,
// type) without touching the store, and puts the claims in the request
// context for [ClaimsFrom]; [UserFrom] reports false behind it. It suits
// high-volume routes that can accept a disabled user or a revoked session
// until the token expires (at most the access-token lifetime). It answers 401
// invalid_token with a WWW-Authenticate challenge. Safe for concurrent use.
func (h *Handler) RequireClaims(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := bearerToken(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		claims, err := h.svc.VerifyAccessToken(tok)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), auth.Identity{Claims: claims})))
	})
}

// RequireSuperuser returns middleware that does what [RequireUser] does and
// then answers 403 forbidden unless the user is a superuser. Safe for
// concurrent use.
func (h *Handler) RequireSuperuser(next http.Handler) http.Handler {
	return h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := UserFrom(r.Context()); !ok || !u.IsSuperuser {
			h.writeError(w, r, errForbidden)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// UserFrom returns the user that [Handler.RequireUser],
// [Handler.OptionalUser] or [Handler.RequireSuperuser] put in ctx. It reports
// false when there is none: no middleware ran, the request was anonymous
// (OptionalUser), or only the token was verified ([Handler.RequireClaims]).
// The user's HashedPassword is set; never write the record out as it is.
func UserFrom(ctx context.Context) (store.User, bool) {
	id, ok := auth.FromContext(ctx)
	if !ok || id.User.ID == "" {
		return store.User{}, false
	}
	return id.User, true
}

// ClaimsFrom returns the verified access-token claims that any of the
// middleware put in ctx, or false when there are none.
func ClaimsFrom(ctx context.Context) (token.Claims, bool) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return token.Claims{}, false
	}
	return id.Claims, true
}
