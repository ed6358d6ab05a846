package reliability_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// invariants are the rows that must never exist, whatever failed when: each
// query lists the rows that break one rule. The table names are those of
// the schema; {s} is replaced by the schema's name.
var invariants = []struct{ rule, query string }{
	{"a refresh-token family has at most one active token",
		`SELECT family_id || ': ' || count(*) FROM {s}.refresh_tokens
		WHERE NOT is_revoked GROUP BY family_id HAVING count(*) > 1`},
	{"a token replaced by rotation is revoked",
		`SELECT id FROM {s}.refresh_tokens WHERE replaced_by IS NOT NULL AND NOT is_revoked`},
	{"a rotated token's replacement exists, in the same family of the same user",
		`SELECT t.id FROM {s}.refresh_tokens t LEFT JOIN {s}.refresh_tokens n ON n.id = t.replaced_by
		WHERE t.replaced_by IS NOT NULL AND (n.id IS NULL OR n.family_id <> t.family_id OR n.user_id <> t.user_id)`},
	{"a token replaces at most one token",
		`SELECT replaced_by FROM {s}.refresh_tokens WHERE replaced_by IS NOT NULL
		GROUP BY replaced_by HAVING count(*) > 1`},
	{"every family starts with exactly one login token (no token inserted without its rotation)",
		`SELECT family_id || ': ' || count(*) FROM {s}.refresh_tokens t
		WHERE NOT EXISTS (SELECT 1 FROM {s}.refresh_tokens p WHERE p.replaced_by = t.id)
		GROUP BY family_id HAVING count(*) <> 1`},
	{"a family belongs to one user",
		`SELECT family_id FROM {s}.refresh_tokens GROUP BY family_id HAVING count(DISTINCT user_id) > 1`},
	{"a user has at most one usable code of each type",
		`SELECT user_id || ' ' || code_type FROM {s}.verification_codes
		WHERE NOT is_used GROUP BY user_id, code_type HAVING count(*) > 1`},
	{"no code has more wrong attempts than the limit",
		`SELECT id FROM {s}.verification_codes WHERE attempts > 5`},
	{"usernames and emails are unique once folded",
		`SELECT lower(email) FROM {s}.users GROUP BY lower(email) HAVING count(*) > 1
		UNION ALL SELECT lower(username) FROM {s}.users GROUP BY lower(username) HAVING count(*) > 1`},
}

// checkInvariants runs every invariant against the schema, directly on the
// server (not through the test's proxy), and reports the broken ones.
func checkInvariants(tb testing.TB, s *pgSchema) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	for _, inv := range invariants {
		bad := queryStrings(tb, ctx, s.admin, strings.ReplaceAll(inv.query, "{s}", s.name))
		assert.Empty(tb, bad, "broken: %s", inv.rule)
	}
}

func queryStrings(tb testing.TB, ctx context.Context, db *sql.DB, query string, args ...any) []string {
	tb.Helper()
	rows, err := db.QueryContext(ctx, query, args...)
	require.NoError(tb, err, query)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		require.NoError(tb, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(tb, rows.Err())
	return out
}

// userState is what a password reset, a change or a logout-all changes
// about a user, read directly from the schema.
type userState struct {
	hash              string
	tokensValidAfter  sql.NullTime
	activeTokens      int
	tokens            int
	usedResetCodes    int
	unusedResetCodes  int
	verified          bool
	unusedVerifyCodes int
}

func readUserState(tb testing.TB, s *pgSchema, username string) userState {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	var st userState
	err := s.admin.QueryRowContext(ctx, `SELECT u.hashed_password, u.tokens_valid_after,
		(SELECT count(*) FROM `+s.name+`.refresh_tokens t WHERE t.user_id = u.id AND NOT t.is_revoked),
		(SELECT count(*) FROM `+s.name+`.refresh_tokens t WHERE t.user_id = u.id),
		(SELECT count(*) FROM `+s.name+`.verification_codes c WHERE c.user_id = u.id AND c.code_type = 'password_reset' AND c.is_used),
		(SELECT count(*) FROM `+s.name+`.verification_codes c WHERE c.user_id = u.id AND c.code_type = 'password_reset' AND NOT c.is_used),
		u.is_verified,
		(SELECT count(*) FROM `+s.name+`.verification_codes c WHERE c.user_id = u.id AND c.code_type = 'email_verification' AND NOT c.is_used)
		FROM `+s.name+`.users u WHERE u.username = $1`, username).
		Scan(&st.hash, &st.tokensValidAfter, &st.activeTokens, &st.tokens, &st.usedResetCodes, &st.unusedResetCodes, &st.verified, &st.unusedVerifyCodes)
	require.NoError(tb, err, "state of %s", username)
	return st
}

// revoked reports whether the revocation moment of the user moved forward.
func revoked(before, after userState) bool {
	return after.tokensValidAfter.Valid &&
		(!before.tokensValidAfter.Valid || after.tokensValidAfter.Time.After(before.tokensValidAfter.Time))
}

// passwordChanged decides, from the states before and after, whether a
// password reset or change happened, and fails the test when it happened
// in part: the new hash, the revocation moment, the revoked sessions (all
// but kept of them) and the voided reset codes go together or not at all.
func passwordChanged(tb testing.TB, name string, before, after userState, kept int) bool {
	tb.Helper()
	changed := after.hash != before.hash
	moved := revoked(before, after)
	if changed {
		assert.True(tb, moved, "%s: the hash changed but earlier access tokens were not revoked", name)
		assert.Equal(tb, kept, after.activeTokens, "%s: the hash changed but the sessions are not as they should be", name)
		assert.Zero(tb, after.unusedResetCodes, "%s: the hash changed but a reset code is still usable", name)
	} else {
		assert.False(tb, moved, "%s: access tokens were revoked but the hash did not change", name)
		assert.Equal(tb, before.activeTokens, after.activeTokens, "%s: sessions were revoked but the hash did not change", name)
	}
	return changed
}
