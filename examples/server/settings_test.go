package main

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
)

func TestParseProxies(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: " , ", want: nil},
		{in: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{in: "192.0.2.1", want: []string{"192.0.2.1/32"}},
		{in: "::ffff:192.0.2.1", want: []string{"192.0.2.1/32"}},
		{in: "2001:db8::1, 2001:db8::/32 ,fe80::1%eth0", want: []string{"2001:db8::1/128", "2001:db8::/32", "fe80::1/128"}},
		{in: "10.0.0.0/33", wantErr: true},
		{in: "10.0.0.0/8,example.com", wantErr: true},
		{in: "nonsense", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseProxies(tt.in)
			if tt.wantErr {
				var ee *auth.EnvError
				require.True(t, errors.As(err, &ee), "err = %v", err)
				assert.Equal(t, "TRUSTED_PROXIES", ee.Name)
				return
			}
			require.NoError(t, err)
			var want []netip.Prefix
			for _, s := range tt.want {
				want = append(want, netip.MustParsePrefix(s))
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    database
		wantLog string
		wantErr bool
	}{
		{in: "", want: database{Kind: dbSQLite, Path: "forgeauth.db"}, wantLog: "sqlite:forgeauth.db"},
		{in: "sqlite:/var/lib/auth.db", want: database{Kind: dbSQLite, Path: "/var/lib/auth.db"}, wantLog: "sqlite:/var/lib/auth.db"},
		{in: "memory", want: database{Kind: dbMemory}, wantLog: "memory"},
		{
			in:      "postgres://app:pw@db.internal:5432/auth?sslmode=require",
			want:    database{Kind: dbPostgres, URL: "postgres://app:pw@db.internal:5432/auth?sslmode=require", Host: "db.internal"},
			wantLog: "postgres:db.internal",
		},
		{in: "postgresql://db.internal/auth", want: database{Kind: dbPostgres, URL: "postgresql://db.internal/auth", Host: "db.internal"}, wantLog: "postgres:db.internal"},
		{in: "sqlite:", wantErr: true},
		{in: "sqlite::memory:", wantErr: true},
		{in: "postgres:///auth", wantErr: true},
		{in: "postgres://%zz", wantErr: true},
		{in: "mysql://db/auth", wantErr: true},
		{in: "MEMORY", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDatabaseURL(tt.in)
			if tt.wantErr {
				var ee *auth.EnvError
				require.True(t, errors.As(err, &ee), "err = %v", err)
				assert.Equal(t, "DATABASE_URL", ee.Name)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantLog, got.String())
		})
	}
}

func TestReadSettingsDefaults(t *testing.T) {
	s, err := readSettings(func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, settings{
		Addr:          ":8080",
		DB:            database{Kind: dbSQLite, Path: "forgeauth.db"},
		RatePerMinute: 60,
	}, s)

	s, err = readSettings(envOf(map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "0", "ADDR": "127.0.0.1:9000"}))
	require.NoError(t, err)
	assert.Equal(t, 0, s.RatePerMinute)
	assert.Equal(t, "127.0.0.1:9000", s.Addr)
}
