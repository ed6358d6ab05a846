package sqlstore

// Versions returns the versions of the embedded migrations, in order; both
// dialects have the same ones (TestMigrationVersionsAgree).
func Versions() []int64 {
	ms, err := migrations(SQLite)
	if err != nil {
		panic(err)
	}
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.version
	}
	return out
}

// PostgresVersions is Versions for PostgreSQL.
func PostgresVersions() []int64 {
	ms, err := migrations(Postgres)
	if err != nil {
		panic(err)
	}
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.version
	}
	return out
}
