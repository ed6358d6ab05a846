// Package memstore is an in-memory [store.Store]: the test double of every
// other forgeauth package, and a store for examples and prototypes. Nothing
// survives the process.
//
// It passes [github.com/forgeauth/forgeauth/store/storetest.Run], implements
// the [store.Tickets], [store.SecondFactors], [store.Identities],
// [store.Passkeys], [store.Admin], [store.EmailChanges], [store.Pinger] and
// [store.Cleaner] capabilities, and behaves as a database does where the contract leaves room: times are kept
// in UTC at microsecond precision, as PostgreSQL keeps them; every
// unique-key collision is a *[store.ConflictError]; and text a text column
// cannot hold (a NUL byte, invalid UTF-8) is [store.ErrInvalidInput]. Code
// tested against it therefore behaves the same on a database.
//
//	s := memstore.New()
//	err := s.CreateUser(ctx, store.User{ID: id, Username: "mike", Email: "Mike@Example.com"})
//	u, err := s.UserByEmail(ctx, "mike@example.com") // found: emails fold
//
// One mutex guards all the data, so every method is one atomic step; reads
// share the lock. Look-ups go through indexes: users by folded username and
// email, refresh tokens by digest and by family, codes by user and type,
// tickets by kind and digest and by user, passkeys by credential id and by
// user, users by WebAuthn handle.
package memstore
