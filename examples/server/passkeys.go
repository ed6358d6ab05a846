package main

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/forgeauth/forgeauth/auth"
)

// passkeysEnabled reads AUTH_PASSKEYS: true by default; false leaves
// passkeys out, whatever WEBAUTHN_* say.
func passkeysEnabled(getenv func(string) string) (bool, error) {
	return onByDefault(getenv, "AUTH_PASSKEYS")
}

// passkeyDefaults completes the relying party that auth.ConfigFromEnv read so
// that passkeys work with no configuration. When WEBAUTHN_RP_ID is not set
// (cfg.RPID is empty), the relying party is:
//
//   - PUBLIC_URL's host, with PUBLIC_URL's origin, when PUBLIC_URL names a
//     host (not an IP address, which cannot be a relying party ID) over
//     https, or localhost over http;
//   - otherwise localhost, with the origin http://localhost:<port> of the
//     port the server listens on: the page opened at that address.
//
// Its name is WEBAUTHN_RP_NAME when set (else the library's default). A
// relying party given in WEBAUTHN_RP_ID is returned as it is. The second
// result says where the default came from, for the log; "" when none was
// taken.
func passkeyDefaults(cfg auth.PasskeyConfig, getenv func(string) string, addr net.Addr) (auth.PasskeyConfig, string) {
	if cfg.RPID != "" {
		return cfg, ""
	}
	cfg = auth.PasskeyConfig{RPName: strings.TrimSpace(getenv("WEBAUTHN_RP_NAME"))}
	// Browsers run passkeys on https, and on http only at localhost.
	if u, err := url.Parse(strings.TrimSpace(getenv("PUBLIC_URL"))); err == nil && u.Host != "" &&
		(u.Scheme == "https" || u.Scheme == "http" && isLocalhost(u.Hostname())) {
		if _, err := netip.ParseAddr(u.Hostname()); err != nil {
			host := strings.ToLower(u.Host)
			if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
				host = strings.ToLower(u.Hostname()) // browsers leave the default port out of the origin
			}
			cfg.RPID = strings.ToLower(u.Hostname())
			cfg.Origins = []string{u.Scheme + "://" + host}
			return cfg, "PUBLIC_URL"
		}
	}
	cfg.RPID = "localhost"
	port := 8080
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.Port != 0 {
		port = tcp.Port
	}
	cfg.Origins = []string{"http://localhost:" + strconv.Itoa(port)}
	return cfg, "the listening port"
}

// isLocalhost reports whether host is localhost or a name under it.
func isLocalhost(host string) bool {
	host = strings.ToLower(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
