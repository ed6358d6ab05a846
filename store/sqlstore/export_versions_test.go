package sqlstore

// KnownVersions lists the versions of the embedded migrations, the same
// for both dialects, so that the tests need no edit when a migration is
// added.
func KnownVersions() []int64 {
	ms, err := migrations(SQLite)
	if err != nil {
		panic(err)
	}
	vs := make([]int64, len(ms))
	for i, m := range ms {
		vs[i] = m.version
	}
	return vs
}
