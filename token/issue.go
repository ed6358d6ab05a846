package token

import (
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idBytes is the size of a jti: 128 random bits.
const idBytes = 16

// IssueAccess signs an access token for id, valid for [Manager.AccessTTL].
//
// It returns an error wrapping [ErrIncompleteIdentity] when id has no UserID
// or Username, and a wrapped error when the random source or the signing key
// fails.
func (m *Manager) IssueAccess(id Identity) (Issued, error) {
	return m.issue(id, TypeAccess, m.accessTTL)
}

// IssueRefresh signs a refresh token for id, valid for [Manager.RefreshTTL].
// Its jti holds 128 random bits, so every refresh token is unique; keep only
// its [Digest].
//
// It returns an error wrapping [ErrIncompleteIdentity] when id has no UserID,
// Username or SessionID, and a wrapped error when the random source or the
// signing key fails.
func (m *Manager) IssueRefresh(id Identity) (Issued, error) {
	if id.SessionID == "" {
		return Issued{}, fmt.Errorf("%w: SessionID is required for a refresh token", ErrIncompleteIdentity)
	}
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
