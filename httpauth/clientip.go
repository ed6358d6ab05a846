package httpauth

import (
	"net/http"
	"net/netip"
	"strings"
)

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
	peer, ok := parseIP(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !inPrefixes(peer, trusted) {
		return peer.String()
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
				return good.String()
			}
			good = addr
			if !inPrefixes(addr, trusted) {
				return addr.String()
			}
		}
	}
	return good.String()
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
