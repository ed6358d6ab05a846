// Package storetest is the conformance suite every [store.Store] must pass.
//
// Like testing/fstest beside io/fs, it proves a backend against the contract
// written in package store: every method, every documented error, time
// precision, canceled contexts, the atomicity guarantees under real
// concurrency, and each optional capability ([store.Pinger],
// [store.Cleaner], [store.Tickets]) that the store implements; the group of
// a capability the store lacks is skipped with a message naming it.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB) store.Store {
//			return memstore.New()
//		})
//	}
//
// The suite observes a store only through the contract: whether a refresh
// token is usable is seen by rotating it, a session by [store.RefreshTokens.Sessions]
// and [store.Users.UserWithSession], a code by [store.Codes.CheckCode].
//
// # Conflicts
//
// Every unique-key collision is one behaviour, whatever the key and the
// create method: the write returns a *[store.ConflictError] (matching
// [store.ErrConflict]) naming the key, and changes nothing. The suite
// checks it for CreateUser and ReplaceUnverifiedUser (a taken ID, username
// or email: [store.FieldID], [store.FieldUsername], [store.FieldEmail]),
// CreateSession and RotateRefreshToken (a taken token ID or digest:
// [store.FieldID], [store.FieldTokenHash]), CreateCode (a taken ID) and
// PutTicket (a taken kind and digest: [store.FieldDigest]).
//
// # Input
//
// Every store treats text it cannot hold alike, whatever its backend could
// hold: CreateUser and ReplaceUnverifiedUser given a NUL byte or invalid
// UTF-8 in the username, email or password hash return
// [store.ErrInvalidInput] and store nothing (nor delete the user a
// replacement would have replaced), and UserByUsername and UserByEmail given
// such text return [store.ErrNotFound].
package storetest
