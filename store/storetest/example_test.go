package storetest_test

import (
	"flag"
	"fmt"
	"testing"

	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/store/storetest"
)

// A backend proves itself with one test function, TestStore here. newStore
// is called once per subtest and must return an empty store; it may register
// cleanup (drop a schema, close a database) with tb.Cleanup.
//
// The example runs TestStore the way go test would, through
// testing.RunTests, and prints whether it passed.
func ExampleRun() {
	TestStore := func(t *testing.T) {
		storetest.Run(t, func(tb testing.TB) store.Store {
			return memstore.New()
		})
	}

	if runTest(TestStore) {
		fmt.Println("conformance suite: passed")
	}
	// Output: conformance suite: passed
}

// runTest runs test as a test named ExampleRun, so that the -run and -skip
// patterns that select the example select it too, and reports whether it ran
// and passed. Verbose output is turned off meanwhile: the testing package
// would print it to the standard output, which the example compares.
func runTest(test func(*testing.T)) bool {
	v := flag.Lookup("test.v")
	verbose := v.Value.String()
	if err := v.Value.Set("false"); err != nil {
		panic(err)
	}
	defer func() {
		if err := v.Value.Set(verbose); err != nil {
			panic(err)
		}
	}()
	ran := false
	ok := testing.RunTests(func(pat, name string) (bool, error) { return true, nil }, []testing.InternalTest{{
		Name: "ExampleRun",
		F: func(t *testing.T) {
			ran = true
			test(t)
		},
	}})
	return ran && ok
}
