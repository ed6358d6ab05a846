package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/sqlstore"
)

// benchUsersVar turns on TestListUsersKeyset, which fills a database with
// 100,000 users: too slow for every run.
const benchUsersVar = "FORGEAUTH_BENCH_USERS"

// TestListUsersKeyset lists 100,000 users page by page (100 a page) on
// each dialect and checks that the last page costs about what the first
// does: keyset pagination reads one page of the primary key's index
// wherever the page is, where OFFSET would read every row before it. It
// reports the median time of the first and the last page over several
// reads. Set FORGEAUTH_BENCH_USERS=1 to run it.
func TestListUsersKeyset(t *testing.T) {
	if os.Getenv(benchUsersVar) == "" {
		t.Skipf("set %s=1 to list 100,000 users", benchUsersVar)
	}
	const users, pageSize, reads = 100_000, 100, 21
	for _, d := range backends {
		t.Run(d.name, func(t *testing.T) {
			s, db := d.make(t, true)
			ctx := context.Background()
			fill(t, db, s.Dialect(), users)

			var afters []string
			after := ""
			start := time.Now()
			for {
				page, err := s.ListUsers(ctx, store.UserQuery{After: after, Limit: pageSize})
				require.NoError(t, err)
				if len(page) == 0 {
					break
				}
				afters = append(afters, after)
				after = page[len(page)-1].ID
			}
			whole := time.Since(start)
			require.Len(t, afters, users/pageSize)

			median := func(after string) time.Duration {
				var ds []time.Duration
				for range reads {
					t0 := time.Now()
					page, err := s.ListUsers(ctx, store.UserQuery{After: after, Limit: pageSize})
					ds = append(ds, time.Since(t0))
					require.NoError(t, err)
					require.Len(t, page, pageSize)
				}
				sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
				return ds[len(ds)/2]
			}
			first, last := median(afters[0]), median(afters[len(afters)-1])
			t.Logf("%s: %d users, %d pages of %d in %v; first page %v, last page %v (medians of %d)",
				d.name, users, len(afters), pageSize, whole.Round(time.Millisecond), first, last, reads)
			require.Less(t, last, 3*first+2*time.Millisecond, "the last page must not cost much more than the first")
		})
	}
}

// fill inserts n users in a few large transactions.
func fill(tb testing.TB, db *sql.DB, d sqlstore.Dialect, n int) {
	tb.Helper()
	tx, err := db.Begin()
	require.NoError(tb, err)
	now := time.Now().UTC()
	stmt, err := tx.Prepare(`INSERT INTO users (id, username, username_folded, email, email_folded, hashed_password,
		is_active, is_verified, is_superuser, created_at, updated_at) VALUES ($1, $2, $2, $3, $3, '', TRUE, TRUE, FALSE, $4, $4)`)
	require.NoError(tb, err)
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i*2654435761%(1<<32), i)
		var at any = now
		if d == sqlstore.SQLite {
			at = now.UnixMicro()
		}
		_, err := stmt.Exec(id, fmt.Sprintf("user%06d", i), fmt.Sprintf("user%06d@example.com", i), at)
		require.NoError(tb, err)
	}
	require.NoError(tb, stmt.Close())
	require.NoError(tb, tx.Commit())
}
