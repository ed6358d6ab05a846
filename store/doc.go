// Package store is the persistence contract of forgeauth: the records it keeps
// ([User], [RefreshToken], [VerificationCode]), the [Store] interface every
// backend implements, and the errors a backend must return.
//
// Like io/fs, the package holds no implementation of its own. The in-memory
// store lives in [github.com/forgeauth/forgeauth/store/memstore], the
// database/sql store for PostgreSQL and SQLite in
// [github.com/forgeauth/forgeauth/store/sqlstore], and
// [github.com/forgeauth/forgeauth/store/storetest] is the conformance suite
// that proves a new backend:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB) store.Store { return mystore.New(tb) })
//	}
//
// # Secrets
//
// A store never sees a raw refresh token or verification code: callers pass
// digests (SHA-256 of a refresh token, a keyed HMAC of a code), so a copy of
// the tables cannot be replayed.
//
// # Atomicity
//
// Every method is one atomic step: [Store.CreateUser] under concurrent
// registrations of one email creates one user; [Store.RotateRefreshToken]
// under concurrent presentations of one token succeeds once; [Store.CheckCode]
// and the methods that spend a code count each attempt so that concurrent
// guesses never get more tries than the limit. Backends state how they
// achieve this (a transaction, one statement).
//
// # Case-insensitivity
//
// Usernames and emails are unique and looked up through [Fold], so
// "Mike@Example.com" and "mike@example.com" are one account while a look-alike
// such as "mıke@example.com" is another.
package store
