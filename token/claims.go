package token

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Type says what a token is for. A token of one type never passes a check for
// the other.
type Type string

// The token types, written in the token_type claim.
const (
	// TypeAccess authorises requests to protected routes.
	TypeAccess Type = "access"
	// TypeRefresh is exchanged, once, for a new pair of tokens.
	TypeRefresh Type = "refresh"
)

// Identity is whom a token is issued to.
type Identity struct {
	// UserID is written as user_id; required.
	UserID string
	// Username is written as sub; required.
	Username string
	// SessionID is written as sid: the device login (the refresh-token
	// family) the token belongs to. Required for refresh tokens, optional for
	// access tokens; sid is left out of the token when empty.
	SessionID string
	// NotBefore, when set, is a lower bound on the token's issue time (iat):
	// iat is the manager's clock truncated to the second, or NotBefore
	// rounded up to the whole second when that is later, and the lifetime
	// counts from iat. A caller that revokes the tokens issued before some
	// moment (recorded in whole seconds) passes that moment here, so a token
	// issued right after it, even in the same second, is not caught by it.
	// Verify tolerates an iat up to the leeway ahead of its clock, so
	// NotBefore should be no more than a second or so ahead of the clock.
	NotBefore time.Time
	// AuthTime, when set, is written as auth_time (OpenID Connect Core
	// §2): when the user last proved who they are, which a session keeps
	// across refreshes. Left out of the token when zero.
	AuthTime time.Time
	// AMR, when not empty, is written as amr (RFC 8176): the methods by
	// which the user signed in to the session, such as ["pwd"] or
	// ["pwd", "otp", "mfa"], kept across refreshes like AuthTime. Both
	// access and refresh tokens carry it, so that a refresh hands the
	// session's methods on. Left out of the token when empty.
	AMR []string
	// NotAfter, when set, caps the token's expiry: exp is no later than
	// NotAfter truncated to the second (the absolute end of a session). A
	// NotAfter that leaves no lifetime after iat is an error from the
	// issuing method ([ErrIncompleteIdentity]).
	NotAfter time.Time
	// Superuser is written as "is_superuser": true in access tokens, so that
	// a service that verifies tokens alone can see it; left out when false.
	// Like every claim it is a snapshot: a user demoted after issue keeps it
	// until the token expires.
	Superuser bool
	// Custom is the caller's own claims: a JSON object (of any members), at
	// most 4 KiB once compacted and with <, > and & escaped, written into
	// access tokens as the value of the one claim "ext". Nested there, a
	// member can never replace a registered or forgeauth claim: {"sub":"x"}
	// becomes ext.sub, and sub stays the username. IssueAccess returns
	// [ErrCustomClaims] for invalid JSON, a value other than an object
	// (null included), or a larger object. Nil or empty means no ext claim.
	// The package documentation lists the reserved top-level names.
	Custom json.RawMessage
}

// Claims are the verified contents of a token. Times are whole seconds, in
// UTC.
type Claims struct {
	ID        string // jti: random, unique per token
	Type      Type   // token_type
	Subject   string // sub: the username
	UserID    string // user_id
	SessionID string // sid; empty for an access token issued without one
	// AuthTime is auth_time: when the user signed in to the session; zero
	// for a token issued without one.
	AuthTime time.Time
	// AMR is amr (RFC 8176): how the user signed in to the session; nil
	// for a token issued without it.
	AMR []string
	// Superuser is is_superuser: false when the claim is absent.
	Superuser bool
	// Custom is the ext claim: the caller's own claims, the JSON object
	// given as [Identity.Custom] in compact form; nil when absent. Each call
	// of Verify returns a fresh copy, the caller's to keep or change.
	Custom    json.RawMessage
	Issuer    string
	Audience  []string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Issued is a token the Manager has just signed, with what it says.
type Issued struct {
	// Token is the compact JWS, for the client. For a refresh token, store
	// [Digest] of it, never the token.
	Token string
	// ExpiresAt equals Claims.ExpiresAt.
	ExpiresAt time.Time
	Claims    Claims
}

// wireClaims is the JSON of a token's payload (DESIGN.md, section 4).
type wireClaims struct {
	TokenType Type             `json:"token_type"`
	UserID    string           `json:"user_id"`
	SessionID string           `json:"sid,omitempty"`
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`
	AMR       []string         `json:"amr,omitempty"`
	Superuser bool             `json:"is_superuser,omitempty"`
	Custom    json.RawMessage  `json:"ext,omitempty"`
	jwt.RegisteredClaims

	// want is the type Verify was asked for; not part of the JSON.
	want Type
}

// The reasons a signed token fails the checks of Validate. They are leaves of
// the error the JWT library returns, which classify turns into ErrInvalid.
var (
	errNoIssuedAt  = errors.New("iat claim is required")
	errExpBeforeAt = errors.New("exp is not after iat")
	errNoSubject   = errors.New("sub claim is required")
	errNoUserID    = errors.New("user_id claim is required")
	errNoID        = errors.New("jti claim is required")
	errNoSession   = errors.New("sid claim is required in a refresh token")
	errUnknownType = errors.New("token_type claim is missing or unknown")
	errCustomShape = errors.New("ext claim is not a JSON object")
	// errTypeMismatch is the one reason classify reports as ErrWrongType.
	errTypeMismatch = errors.New("token_type is not the wanted type")
)

// Validate adds this package's rules to the library's claim checks, which call
// it after the signature has been verified.
func (c *wireClaims) Validate() error {
	switch {
	case c.IssuedAt == nil:
		return errNoIssuedAt
	case c.ExpiresAt != nil && !c.ExpiresAt.After(c.IssuedAt.Time):
		return errExpBeforeAt
	case c.Subject == "":
		return errNoSubject
	case c.UserID == "":
		return errNoUserID
	case c.ID == "":
		return errNoID
	case c.TokenType != TypeAccess && c.TokenType != TypeRefresh:
		return errUnknownType
	case c.TokenType != c.want:
		return errTypeMismatch
	case c.TokenType == TypeRefresh && c.SessionID == "":
		return errNoSession
	case len(c.Custom) > 0 && c.Custom[0] != '{':
		return errCustomShape
	}
	return nil
}

func (c *wireClaims) claims() Claims {
	out := Claims{
		ID:        c.ID,
		Type:      c.TokenType,
		Subject:   c.Subject,
		UserID:    c.UserID,
		SessionID: c.SessionID,
		AMR:       c.AMR,
		Superuser: c.Superuser,
		Custom:    c.Custom,
		Issuer:    c.Issuer,
		Audience:  []string(c.Audience),
	}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.UTC()
	}
	if c.ExpiresAt != nil {
		out.ExpiresAt = c.ExpiresAt.UTC()
	}
	if c.AuthTime != nil {
		out.AuthTime = c.AuthTime.UTC()
	}
	return out
}
