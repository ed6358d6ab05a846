package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idBytes is the size of a jti: 128 random bits.
const idBytes = 16

// maxCustomLen bounds the ext claim as it is written, so that a token with
// it stays well under the 8 KiB that Verify accepts.
const maxCustomLen = 4 << 10

// IssueAccess signs an access token for id, valid for [Manager.AccessTTL].
// It carries id.Superuser as is_superuser and id.Custom under ext.
//
// It returns an error wrapping [ErrIncompleteIdentity] when id has no UserID
// or Username, one wrapping [ErrCustomClaims] when id.Custom is not a JSON
// object of at most 4 KiB, and a wrapped error when the random source or the
// signing key fails.
func (m *Manager) IssueAccess(id Identity) (Issued, error) {
	custom, err := customClaims(id.Custom)
	if err != nil {
		return Issued{}, err
	}
	id.Custom = custom
	return m.issue(id, TypeAccess, m.accessTTL)
}

// customClaims returns raw compacted, with the escapes encoding/json adds
// when it writes the payload, so that the bound holds for what is signed.
func customClaims(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %v", ErrCustomClaims, err)
	}
	if compact.Bytes()[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrCustomClaims)
	}
	var escaped bytes.Buffer
	json.HTMLEscape(&escaped, compact.Bytes())
	if escaped.Len() > maxCustomLen {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrCustomClaims, escaped.Len(), maxCustomLen)
	}
	return escaped.Bytes(), nil
}

// IssueRefresh signs a refresh token for id, valid for [Manager.RefreshTTL].
// Its jti holds 128 random bits, so every refresh token is unique; keep only
// its [Digest].
//
// It leaves out id.Superuser and id.Custom: a refresh token is only ever
// exchanged, and the access token issued then takes them from the user as
// they are at that moment.
//
// It returns an error wrapping [ErrIncompleteIdentity] when id has no UserID,
// Username or SessionID, and a wrapped error when the random source or the
// signing key fails.
func (m *Manager) IssueRefresh(id Identity) (Issued, error) {
	if id.SessionID == "" {
		return Issued{}, fmt.Errorf("%w: SessionID is required for a refresh token", ErrIncompleteIdentity)
	}
	id.Superuser, id.Custom = false, nil
	return m.issue(id, TypeRefresh, m.refreshTTL)
}

func (m *Manager) issue(id Identity, typ Type, ttl time.Duration) (Issued, error) {
	switch {
	case id.UserID == "":
		return Issued{}, fmt.Errorf("%w: UserID is required", ErrIncompleteIdentity)
	case id.Username == "":
		return Issued{}, fmt.Errorf("%w: Username is required", ErrIncompleteIdentity)
	}
	jti, err := m.newID()
	if err != nil {
		return Issued{}, err
	}

	iat := m.now().UTC().Truncate(time.Second)
	if nb := ceilSecond(id.NotBefore.UTC()); nb.After(iat) {
		iat = nb
	}
	exp := iat.Add(ttl).Truncate(time.Second)
	if !id.NotAfter.IsZero() {
		if na := id.NotAfter.UTC().Truncate(time.Second); na.Before(exp) {
			exp = na
		}
		if !exp.After(iat) {
			return Issued{}, fmt.Errorf("%w: NotAfter leaves the token no lifetime", ErrIncompleteIdentity)
		}
	}

	wc := &wireClaims{
		TokenType: typ,
		UserID:    id.UserID,
		SessionID: id.SessionID,
		AuthTime:  numericDate(id.AuthTime),
		AMR:       amr(id.AMR),
		Superuser: id.Superuser,
		Custom:    id.Custom,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    m.issuer,
			Subject:   id.Username,
			Audience:  jwt.ClaimStrings{m.audience},
			ExpiresAt: &jwt.NumericDate{Time: exp},
			IssuedAt:  &jwt.NumericDate{Time: iat},
			ID:        jti,
		},
	}
	t := jwt.NewWithClaims(m.method, wc)
	if m.kid != "" {
		t.Header["kid"] = m.kid
	}
	signed, err := t.SignedString(m.signKey)
	if err != nil {
		return Issued{}, fmt.Errorf("token: signing: %w", err)
	}
	return Issued{Token: signed, ExpiresAt: exp, Claims: wc.claims()}, nil
}

// amr is a copy of methods, nil when there are none (the claim is then
// left out, and Verify reads it back as nil).
func amr(methods []string) []string {
	if len(methods) == 0 {
		return nil
	}
	return slices.Clone(methods)
}

// numericDate is t in whole seconds, or nil for the zero time.
func numericDate(t time.Time) *jwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	return &jwt.NumericDate{Time: t.UTC().Truncate(time.Second)}
}

func (m *Manager) newID() (string, error) {
	var b [idBytes]byte
	if _, err := io.ReadFull(m.rand, b[:]); err != nil {
		return "", fmt.Errorf("token: reading random jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ceilSecond rounds t up to the whole second.
func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}
