// Package storetest is the conformance suite every [store.Store] must pass.
//
// Like testing/fstest beside io/fs, it proves a backend against the contract
// written in package store: every method, every documented error, time
// precision, the optional [store.Pinger] and [store.Cleaner] capabilities,
// canceled contexts, and the atomicity guarantees under real concurrency.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB) store.Store {
//			return memstore.New()
//		})
//	}
package storetest
