package storetest_test

import (
	"testing"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/storetest"
)

// A backend proves itself with one test function. newStore is called once
// per subtest and must return an empty store; it may register cleanup (drop
// a schema, close a database) with tb.Cleanup.
func ExampleRun() {
	_ = func(t *testing.T) {
		storetest.Run(t, func(tb testing.TB) store.Store {
			return memstore.New()
		})
	}
}

func TestRunAgainstMemstore(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) store.Store { return memstore.New() })
}
