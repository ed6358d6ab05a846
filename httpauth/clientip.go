package httpauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// DefaultIPv6PrefixLen is the length of the IPv6 prefix under which a client
// is counted when [Options.IPv6PrefixLen] is 0: a /64 is what one home or
// one cloud machine is given, and every address in it is one client.
const DefaultIPv6PrefixLen = 64

// ErrInvalidIP is returned, wrapped, by [ClientNetwork] for a value that is
// neither "" nor an IP address.
var ErrInvalidIP = errors.New("httpauth: not an IP address")

// ClientIP returns the IP address of the client that sent r, as a string
// ("192.0.2.7", "2001:db8::1"; IPv4-mapped IPv6 addresses are unmapped and
// zones dropped), or "" when r.RemoteAddr holds no IP address (a Unix socket).
//
// The peer address r.RemoteAddr is the answer unless the peer is in trusted.
// Then X-Forwarded-For (every such header, in order) is read from the right:
// each entry added by a trusted proxy is skipped, and the right-most entry that
// is not in trusted is the client. An entry that is not an IP address ends the
// walk: the last address read before it is the answer, since nothing to its
// left can be believed. When every entry is trusted, the left-most is the
// answer.
//
// Only list in trusted the proxies that set or append X-Forwarded-For
// themselves: every address they forward is believed. ClientIP is a pure
// function, safe for concurrent use.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	addr, ok := clientAddr(r, trusted)
	if !ok {
		return ""
	}
	return addr.String()
}

// clientAddr is [ClientIP] before formatting; it reports false when the peer
// address is no IP address.
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, ok := parseIP(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if !inPrefixes(peer, trusted) {
		return peer, true
	}
	good := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		entries := values[i]
		for entries != "" {
			var entry string
			if j := strings.LastIndexByte(entries, ','); j >= 0 {
				entry, entries = entries[j+1:], entries[:j]
			} else {
				entry, entries = entries, ""
			}
			addr, ok := parseIP(strings.TrimSpace(entry))
			if !ok {
				return good, true
			}
			good = addr
			if !inPrefixes(addr, trusted) {
				return addr, true
			}
		}
	}
	return good, true
}

// ClientNetwork returns the network a client is counted under by the per-IP
// limit, for an address as [ClientIP] gives it: an IPv4 address is its own
// network ("203.0.113.9"), as is an IPv4-mapped IPv6 address
// ("::ffff:203.0.113.9" gives "203.0.113.9"); an IPv6 address stands for the
// prefix of v6PrefixLen bits that holds it ("2001:db8:1:2::/64" for
// "2001:db8:1:2:a:b:c:d" and 64), since anyone given one IPv6 address is
// usually given a whole /64 to pick addresses from. A zone is dropped. The
// two forms cannot collide: only the IPv6 one holds a "/".
//
// v6PrefixLen 0 means [DefaultIPv6PrefixLen]; a value outside 0..128 is an
// error matching [ErrInvalidOptions]. An ip of "" (ClientIP's answer for a
// peer without an IP address, such as a Unix socket) gives "" and no error;
// any other value that is not an IP address gives an error matching
// [ErrInvalidIP].
//
// A service that limits something else per client (failed logins per
// account and client, for example) should key it with this function too, so
// that a client cannot escape the limit by changing addresses within its
// network. ClientNetwork is a pure function, safe for concurrent use.
func ClientNetwork(ip string, v6PrefixLen int) (string, error) {
	bits, err := ipv6PrefixLen(v6PrefixLen)
	if err != nil {
		return "", err
	}
	if ip == "" {
		return "", nil
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrInvalidIP, ip)
	}
	return network(addr, bits), nil
}

// ipv6PrefixLen checks and defaults an IPv6 prefix length.
func ipv6PrefixLen(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultIPv6PrefixLen, nil
	case n < 0 || n > 128:
		return 0, fmt.Errorf("%w: IPv6 prefix length %d is outside 1..128", ErrInvalidOptions, n)
	}
	return n, nil
}

// network formats the network of addr for a valid prefix length.
func network(addr netip.Addr, v6Bits int) string {
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	// bits is within 1..128 and addr is IPv6 without a zone: Prefix cannot fail.
	p, _ := addr.Prefix(v6Bits)
	return p.String()
}

// parseIP parses "ip", "ip:port" or "[ipv6]:port" into an unmapped address
// without zone.
func parseIP(s string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		addr = ap.Addr()
	}
	return addr.Unmap().WithZone(""), true
}

func inPrefixes(addr netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
