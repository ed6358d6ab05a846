package sqlstore

import "context"

// RenderedMigration returns the SQL that Migrate runs for the migration of
// the version, with the table prefix applied.
func RenderedMigration(d Dialect, prefix string, version int64) string {
	ms, err := migrations(d)
	if err != nil {
		panic(err)
	}
	s := &Store{dialect: d, prefix: prefix}
	for _, m := range ms {
		if m.version == version {
			return s.sql(m.sql)
		}
	}
	return ""
}

// Wrap exposes the error mapping to the tests.
func (s *Store) Wrap(ctx context.Context, op string, err error) error { return s.wrap(ctx, op, err) }
