// Package reliability holds the tests that prove forgeauth keeps working, and
// loses nothing, under production conditions: several instances of a service
// sharing one PostgreSQL and one Redis, a database or a mail server that goes
// away and comes back, bursts of concurrent logins and refreshes, and SQLite
// under concurrent writers. It has no API and nothing imports it; it exists
// for its _test.go files, which run with the rest of the module:
//
//	go test -race ./internal/reliability/
//
// The tests that need PostgreSQL or Redis read FORGEAUTH_TEST_POSTGRES_URL and
// FORGEAUTH_TEST_REDIS_URL and are skipped when these are unset:
//
//	FORGEAUTH_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	FORGEAUTH_TEST_REDIS_URL='redis://127.0.0.1:6379/0' \
//	go test -race -v ./internal/reliability/
//
// Every test keeps to 127.0.0.1 and to what it creates: a schema of its own in
// PostgreSQL (dropped at the end), keys of its own users in Redis, and its own
// connections. An outage is simulated without touching a shared server: the
// test puts a TCP proxy it controls between the service and the database or
// mail server and cuts, hangs or restores it, or terminates only the
// PostgreSQL backends that carry its own application_name. Tests never sleep
// to make time pass: the services under test run on an injected clock. They
// assert outcomes (statuses, bodies, rows), never durations; the latencies
// and memory figures they measure are logged for people to read (go test -v).
package reliability
