package token_test

import (
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

func TestIssueRoundTrip(t *testing.T) {
	c := newClock()
	c.Advance(700 * time.Millisecond) // iat is truncated to the second
	m := hsManager(t, c)
	for _, tt := range []struct {
		typ   token.Type
		issue func(token.Identity) (token.Issued, error)
		ttl   time.Duration
	}{
		{token.TypeAccess, m.IssueAccess, m.AccessTTL()},
		{token.TypeRefresh, m.IssueRefresh, m.RefreshTTL()},
	} {
		t.Run(string(tt.typ), func(t *testing.T) {
			is, err := tt.issue(alice())
			require.NoError(t, err)
			want := token.Claims{
				ID:        is.Claims.ID,
				Type:      tt.typ,
				Subject:   "alice",
				UserID:    "u-1",
				SessionID: "s-1",
				Issuer:    "forgeauth",
				Audience:  []string{"forgeauth"},
				IssuedAt:  start(),
				ExpiresAt: start().Add(tt.ttl),
			}
			assert.Equal(t, want, is.Claims)
			assert.Equal(t, want.ExpiresAt, is.ExpiresAt)

			got, err := m.Verify(is.Token, tt.typ)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, time.UTC, got.IssuedAt.Location())
		})
	}
}

// TestIssueWireFormat pins the JSON of header and payload (DESIGN.md, 4).
func TestIssueWireFormat(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	tests := []struct {
		name     string
		id       token.Identity
		issue    func(token.Identity) (token.Issued, error)
		wantKeys []string
		wantType string
	}{
		{"access with session", alice(), m.IssueAccess,
			[]string{"aud", "exp", "iat", "iss", "jti", "sid", "sub", "token_type", "user_id"}, "access"},
		{"access without session", token.Identity{UserID: "u-1", Username: "alice"}, m.IssueAccess,
			[]string{"aud", "exp", "iat", "iss", "jti", "sub", "token_type", "user_id"}, "access"},
		{"refresh", alice(), m.IssueRefresh,
			[]string{"aud", "exp", "iat", "iss", "jti", "sid", "sub", "token_type", "user_id"}, "refresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is, err := tt.issue(tt.id)
			require.NoError(t, err)
			h, p, _ := segments(t, is.Token)
			assert.Equal(t, map[string]any{"alg": "HS256", "typ": "JWT"}, decodeSegment(t, h))
			payload := decodeSegment(t, p)
			assert.Equal(t, tt.wantKeys, slices.Sorted(maps.Keys(payload)))
			assert.Equal(t, "alice", payload["sub"])
			assert.Equal(t, "u-1", payload["user_id"])
			assert.Equal(t, tt.wantType, payload["token_type"])
			assert.Equal(t, []any{"forgeauth"}, payload["aud"])
			assert.Equal(t, float64(start().Unix()), payload["iat"])
			assert.Equal(t, float64(is.ExpiresAt.Unix()), payload["exp"])
		})
	}
}

func TestIssueID(t *testing.T) {
	m := hsManager(t, newClock())
	seen := map[string]bool{}
	for range 100 {
		for _, is := range []token.Issued{issueAccess(t, m), issueRefresh(t, m)} {
			raw, err := base64.RawURLEncoding.DecodeString(is.Claims.ID)
			require.NoError(t, err)
			require.Len(t, raw, 16, "jti carries 128 random bits")
			require.False(t, seen[is.Claims.ID], "jti repeated")
			seen[is.Claims.ID] = true
		}
	}
}

// TestIssueRand checks that the jti comes from Config.Rand.
func TestIssueRand(t *testing.T) {
	zeros := make([]byte, 16)
	m := newManager(t, token.Config{Secret: []byte(testSecret), Now: newClock().Now, Rand: iotest.OneByteReader(&zeroReader{})})
	is := issueAccess(t, m)
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(zeros), is.Claims.ID)
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestIssueErrors(t *testing.T) {
	errBroken := errors.New("entropy source broken")
	c := newClock()
	m := hsManager(t, c)
	broken := newManager(t, token.Config{Secret: []byte(testSecret), Now: c.Now, Rand: iotest.ErrReader(errBroken)})
	short := newManager(t, token.Config{Secret: []byte(testSecret), Now: c.Now, Rand: io.LimitReader(zeroReader{}, 8)})
	failing := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: fakeSigner{public: edKey(t).Public()}, SigningKeyID: "hsm", Now: c.Now})

	tests := []struct {
		name    string
		issue   func(token.Identity) (token.Issued, error)
		id      token.Identity
		wantErr error
	}{
		{"access without user id", m.IssueAccess, token.Identity{Username: "alice"}, token.ErrIncompleteIdentity},
		{"access without username", m.IssueAccess, token.Identity{UserID: "u-1"}, token.ErrIncompleteIdentity},
		{"refresh without session", m.IssueRefresh, token.Identity{UserID: "u-1", Username: "alice"}, token.ErrIncompleteIdentity},
		{"refresh without user id", m.IssueRefresh, token.Identity{Username: "alice", SessionID: "s"}, token.ErrIncompleteIdentity},
		{"refresh without username", m.IssueRefresh, token.Identity{UserID: "u-1", SessionID: "s"}, token.ErrIncompleteIdentity},
		{"access with failing rand", broken.IssueAccess, alice(), errBroken},
		{"refresh with failing rand", broken.IssueRefresh, alice(), errBroken},
		{"access with short rand", short.IssueAccess, alice(), io.ErrUnexpectedEOF},
		{"signer failing", failing.IssueAccess, alice(), errSignerDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is, err := tt.issue(tt.id)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, token.Issued{}, is)
		})
	}
}

// TestIssueNotBefore checks that Identity.NotBefore lifts iat to the whole
// second at or after it, so a revocation recorded at that moment does not
// catch the new token, and that Verify still accepts it.
func TestIssueNotBefore(t *testing.T) {
	now := start().Add(500 * time.Millisecond) // 12:00:00.5
	tests := []struct {
		name      string
		notBefore time.Time
		wantIat   time.Time
	}{
		{"zero", time.Time{}, start()},
		{"in the past", start().Add(-time.Hour), start()},
		{"earlier in this second", start().Add(200 * time.Millisecond), start().Add(time.Second)},
		{"at the start of this second", start(), start()},
		{"later in the same second", start().Add(700 * time.Millisecond), start().Add(time.Second)},
		{"the next whole second", start().Add(time.Second), start().Add(time.Second)},
		{"in another zone", start().Add(time.Second).In(time.FixedZone("X", 3600)), start().Add(time.Second)},
		{"two seconds ahead", start().Add(1500 * time.Millisecond), start().Add(2 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: now}
			m := hsManager(t, c)
			id := alice()
			id.NotBefore = tt.notBefore
			for _, issue := range []func(token.Identity) (token.Issued, error){m.IssueAccess, m.IssueRefresh} {
				is, err := issue(id)
				require.NoError(t, err)
				assert.Equal(t, tt.wantIat, is.Claims.IssuedAt)
				assert.False(t, is.Claims.IssuedAt.Before(tt.notBefore), "iat must not be before NotBefore")
				ttl := m.AccessTTL()
				if is.Claims.Type == token.TypeRefresh {
					ttl = m.RefreshTTL()
				}
				assert.Equal(t, tt.wantIat.Add(ttl), is.ExpiresAt)

				got, err := m.Verify(is.Token, is.Claims.Type)
				require.NoError(t, err, "an iat slightly ahead is inside the leeway")
				assert.Equal(t, tt.wantIat, got.IssuedAt)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, token.Digest(tt.in))
		})
	}
	m := hsManager(t, newClock())
	a, b := issueRefresh(t, m), issueRefresh(t, m)
	assert.NotEqual(t, token.Digest(a.Token), token.Digest(b.Token))
	assert.NotContains(t, token.Digest(a.Token), a.Token)
}

// TestIssueSessionBounds: auth_time travels in both kinds of token, and
// NotAfter caps exp at the end of a session.
func TestIssueSessionBounds(t *testing.T) {
	c := newClock()
	m := hsManager(t, c)
	signedIn := start().Add(-time.Hour)

	id := alice()
	id.AuthTime = signedIn.Add(300 * time.Millisecond) // kept in whole seconds
	id.NotAfter = start().Add(10*time.Minute + 500*time.Millisecond)
	is, err := m.IssueRefresh(id)
	require.NoError(t, err)
	assert.Equal(t, start().Add(10*time.Minute), is.ExpiresAt, "exp capped at NotAfter, in whole seconds")
	got, err := m.Verify(is.Token, token.TypeRefresh)
	require.NoError(t, err)
	assert.Equal(t, signedIn, got.AuthTime)
	assert.Equal(t, start().Add(10*time.Minute), got.ExpiresAt)
	assert.Equal(t, float64(signedIn.Unix()), decodeSegment(t, strings.Split(is.Token, ".")[1])["auth_time"])

	id.NotAfter = start().Add(48 * time.Hour) // later than the lifetime: no effect
	is, err = m.IssueAccess(id)
	require.NoError(t, err)
	assert.Equal(t, start().Add(m.AccessTTL()), is.ExpiresAt)

	id.NotAfter = start().Add(400 * time.Millisecond) // the session has ended
	_, err = m.IssueRefresh(id)
	require.ErrorIs(t, err, token.ErrIncompleteIdentity)

	plain, err := m.IssueAccess(alice())
	require.NoError(t, err)
	assert.NotContains(t, decodeSegment(t, strings.Split(plain.Token, ".")[1]), "auth_time")
}
