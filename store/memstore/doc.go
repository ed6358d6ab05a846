// Package memstore is an in-memory [store.Store]: the test double of every
// other forgeauth package, and a store for examples and prototypes. Nothing
// survives the process.
//
// It passes [github.com/forgeauth/forgeauth/store/storetest.Run], implements
// [store.Pinger] and [store.Cleaner], and keeps times in UTC at microsecond
// precision, as PostgreSQL does, so that code tested against it behaves the
// same on a database.
//
//	s := memstore.New()
//	err := s.CreateUser(ctx, store.User{ID: id, Username: "mike", Email: "Mike@Example.com"})
//	u, err := s.UserByEmail(ctx, "mike@example.com") // found: emails fold
//
// One mutex guards all the data, so every method is one atomic step; reads
// share the lock. Look-ups go through indexes: users by folded username and
// email, refresh tokens by digest and by family, codes by user and type.
package memstore
