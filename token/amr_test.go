package token_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

// TestAMR: amr is a JSON array in access and refresh tokens, read back by
// Verify and by a Verifier, and left out when empty.
func TestAMR(t *testing.T) {
	m := hsManager(t, newClock())
	for _, tt := range []struct {
		name  string
		typ   token.Type
		issue func(token.Identity) (token.Issued, error)
		amr   []string
		want  any // the claim in the payload; nil when absent
	}{
		{"access with two methods", token.TypeAccess, m.IssueAccess, []string{"pwd", "otp", "mfa"}, []any{"pwd", "otp", "mfa"}},
		{"refresh carries it", token.TypeRefresh, m.IssueRefresh, []string{"pwd"}, []any{"pwd"}},
		{"empty is left out", token.TypeAccess, m.IssueAccess, []string{}, nil},
		{"nil is left out", token.TypeRefresh, m.IssueRefresh, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := alice()
			id.AMR = tt.amr
			is, err := tt.issue(id)
			require.NoError(t, err)
			_, p, _ := segments(t, is.Token)
			payload := decodeSegment(t, p)
			got, present := payload["amr"]
			assert.Equal(t, tt.want != nil, present, "amr present")
			assert.Equal(t, tt.want, got)

			claims, err := m.Verify(is.Token, tt.typ)
			require.NoError(t, err)
			if tt.want == nil {
				assert.Empty(t, claims.AMR)
			} else {
				assert.Equal(t, tt.amr, claims.AMR)
			}
			assert.Equal(t, claims.AMR, is.Claims.AMR)
		})
	}

	// The issued claims do not share the caller's slice.
	id := alice()
	id.AMR = []string{"pwd"}
	is, err := m.IssueAccess(id)
	require.NoError(t, err)
	id.AMR[0] = "changed"
	assert.Equal(t, []string{"pwd"}, is.Claims.AMR)
}
