package httpauth_test

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/httpauth"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"peer, no proxies", "203.0.113.9:5555", nil, nil, "203.0.113.9"},
		{"xff ignored without trusted proxies", "203.0.113.9:5555", []string{"198.51.100.1"}, nil, "203.0.113.9"},
		{"xff ignored from an untrusted peer", "203.0.113.9:5555", []string{"198.51.100.1"}, trusted, "203.0.113.9"},
		{"trusted peer, one entry", "10.0.0.2:80", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"right-most untrusted wins over a spoofed left entry", "10.0.0.2:80", []string{"1.2.3.4, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"trusted hops skipped", "10.0.0.2:80", []string{"198.51.100.1, 10.1.1.1, 10.2.2.2"}, trusted, "198.51.100.1"},
		{"several headers read in order", "10.0.0.2:80", []string{"1.2.3.4", "198.51.100.1, 10.1.1.1"}, trusted, "198.51.100.1"},
		{"entries of an earlier header", "10.0.0.2:80", []string{"198.51.100.1", "10.1.1.1"}, trusted, "198.51.100.1"},
		{"all trusted: left-most", "10.0.0.2:80", []string{"10.9.9.9, 10.1.1.1"}, trusted, "10.9.9.9"},
		{"trusted peer, no header", "10.0.0.2:80", nil, trusted, "10.0.0.2"},
		{"unparsable entry stops at the last good", "10.0.0.2:80", []string{"198.51.100.1, garbage, 10.1.1.1"}, trusted, "10.1.1.1"},
		{"unparsable right-most entry: the peer", "10.0.0.2:80", []string{"198.51.100.1, nonsense"}, trusted, "10.0.0.2"},
		{"empty entry stops", "10.0.0.2:80", []string{"198.51.100.1,,"}, trusted, "10.0.0.2"},
		{"entry with port", "10.0.0.2:80", []string{"198.51.100.1:4711"}, trusted, "198.51.100.1"},
		{"ipv6 peer", "[2001:db8::1]:443", nil, trusted, "2001:db8::1"},
		{"ipv6 entry behind ipv6 proxy", "[fd00::1]:443", []string{"2001:db8::7"}, trusted, "2001:db8::7"},
		{"bracketed ipv6 entry with port", "[fd00::1]:443", []string{"[2001:db8::7]:1234"}, trusted, "2001:db8::7"},
		{"ipv4-mapped peer unmapped", "[::ffff:203.0.113.9]:5555", nil, nil, "203.0.113.9"},
		{"ipv4-mapped trusted peer", "[::ffff:10.0.0.2]:80", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, nil, "fe80::1"},
		{"peer without port", "203.0.113.9", nil, nil, "203.0.113.9"},
		{"unix socket peer", "@", []string{"198.51.100.1"}, trusted, ""},
		{"empty peer", "", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			assert.Equal(t, tt.want, httpauth.ClientIP(r, tt.trusted))
		})
	}
}

func TestClientNetwork(t *testing.T) {
	tests := []struct {
		name    string
		ip      string
		bits    int
		want    string
		wantErr error
	}{
		{"ipv4: the address", "203.0.113.9", 0, "203.0.113.9", nil},
		{"ipv4 ignores the IPv6 length", "203.0.113.9", 8, "203.0.113.9", nil},
		{"ipv4-mapped: as IPv4", "::ffff:203.0.113.9", 0, "203.0.113.9", nil},
		{"ipv4-mapped, other length", "::ffff:203.0.113.9", 128, "203.0.113.9", nil},
		{"ipv6: its /64 by default", "2001:db8:1:2:a:b:c:d", 0, "2001:db8:1:2::/64", nil},
		{"ipv6: another address of the same /64", "2001:db8:1:2::1", 0, "2001:db8:1:2::/64", nil},
		{"ipv6: the next /64", "2001:db8:1:3::1", 0, "2001:db8:1:3::/64", nil},
		{"ipv6: /48", "2001:db8:1:2:a:b:c:d", 48, "2001:db8:1::/48", nil},
		{"ipv6: /128 is the address", "2001:db8::7", 128, "2001:db8::7/128", nil},
		{"ipv6: /1", "2001:db8::7", 1, "::/1", nil},
		{"ipv6: zone dropped", "fe80::1:2:3:4%eth0", 0, "fe80::/64", nil},
		{"no address", "", 0, "", nil},
		{"no address, bad length", "", -1, "", httpauth.ErrInvalidOptions},
		{"not an address", "example.com", 0, "", httpauth.ErrInvalidIP},
		{"address with port", "203.0.113.9:80", 0, "", httpauth.ErrInvalidIP},
		{"negative length", "2001:db8::1", -1, "", httpauth.ErrInvalidOptions},
		{"length over 128", "2001:db8::1", 129, "", httpauth.ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpauth.ClientNetwork(tt.ip, tt.bits)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.True(t, strings.HasPrefix(err.Error(), "httpauth: "), err.Error())
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
