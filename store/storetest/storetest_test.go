package storetest_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/storetest"
)

// coreOnly hides every capability of the store it wraps: it implements
// store.Store and nothing else.
type coreOnly struct{ store.Store }

var (
	capabilityGroups = []string{"Pinger", "Cleaner", "Tickets", "RefreshGrace", "SecondFactors", "Identities", "Passkeys", "EmailChanges", "Admin"}
	coreGroups       = []string{"Users", "RefreshTokens", "Codes", "Times", "Context", "Concurrency"}
)

// recorder remembers every test newStore was called for, to tell after Run
// which groups ran and which were skipped.
type recorder struct {
	mu  sync.Mutex
	tbs []testing.TB
}

func (r *recorder) newStore(wrap func(*memstore.Store) store.Store) func(testing.TB) store.Store {
	return func(tb testing.TB) store.Store {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tbs = append(r.tbs, tb)
		return wrap(memstore.New())
	}
}

// groups returns, for each group of the suite that made a store, whether
// its test was skipped. A group's name is the second element of its
// test's name (Test/Run/Group/...).
func (r *recorder) groups(tb testing.TB, run string) map[string]bool {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	skipped := map[string]bool{}
	for _, t := range r.tbs {
		rel, ok := strings.CutPrefix(t.Name(), run+"/")
		require.True(tb, ok, "a store made for %s, outside the run", t.Name())
		group, _, _ := strings.Cut(rel, "/")
		if rel == group { // the group's own test: the capability probe
			skipped[group] = t.Skipped()
			continue
		}
		if _, seen := skipped[group]; !seen {
			skipped[group] = false
		}
		assert.False(tb, t.Skipped(), "%s was skipped", t.Name())
	}
	return skipped
}

func TestRunAgainstMemstore(t *testing.T) {
	var r recorder
	var name string
	t.Run("memstore", func(t *testing.T) {
		name = t.Name()
		storetest.Run(t, r.newStore(func(s *memstore.Store) store.Store { return s }))
	})
	groups := r.groups(t, name)
	for _, g := range append(coreGroups, capabilityGroups...) {
		skipped, ran := groups[g]
		assert.True(t, ran, "group %s made no store", g)
		assert.False(t, skipped, "group %s was skipped", g)
	}
}

func TestRunSkipsMissingCapabilities(t *testing.T) {
	var r recorder
	var name string
	t.Run("core only", func(t *testing.T) {
		name = t.Name()
		storetest.Run(t, r.newStore(func(s *memstore.Store) store.Store { return coreOnly{s} }))
	})
	groups := r.groups(t, name)
	for _, g := range coreGroups {
		skipped, ran := groups[g]
		assert.True(t, ran, "group %s made no store", g)
		assert.False(t, skipped, "group %s was skipped", g)
	}
	for _, g := range capabilityGroups {
		assert.True(t, groups[g], "group %s ran for a store without store.%s", g, g)
	}
	assert.Len(t, groups, len(coreGroups)+len(capabilityGroups), "groups: %v", groups)
}
