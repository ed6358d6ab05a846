package sqlstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/store/sqlstore"
)

func TestMigrationVersionsAgree(t *testing.T) {
	require.Equal(t, sqlstore.Versions(), sqlstore.PostgresVersions())
	require.Contains(t, sqlstore.Versions(), int64(4), "the lifecycle migration")
}

// latestVersion is the newest schema version.
func latestVersion() int64 {
	v := sqlstore.Versions()
	return v[len(v)-1]
}
