package main

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/forgeauth/forgeauth/auth"
)

// passkeysFromEnv reads the relying party of passkeys with
// auth.PasskeyConfigFromEnv (WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME,
// WEBAUTHN_ORIGINS). That function ignores WEBAUTHN_ORIGINS without
// WEBAUTHN_RP_ID, where this server would take its default instead: it
// returns an *auth.EnvError for that.
func passkeysFromEnv(getenv func(string) string) (auth.PasskeyConfig, error) {
	cfg, err := auth.PasskeyConfigFromEnv(getenv)
	if err == nil && cfg.RPID == "" && strings.TrimSpace(getenv("WEBAUTHN_ORIGINS")) != "" {
		return cfg, &auth.EnvError{Name: "WEBAUTHN_RP_ID", Reason: "required with WEBAUTHN_ORIGINS: the domain the origins belong to"}
	}
	return cfg, err
}

// passkeyDefaults completes the relying party that passkeysFromEnv read so
// that passkeys work with no configuration. When WEBAUTHN_RP_ID is not set
// (cfg.RPID is empty), the relying party is:
//
//   - PUBLIC_URL's host, with PUBLIC_URL's origin, when PUBLIC_URL names a
//     host (not an IP address, which cannot be a relying party ID);
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
	if u, err := url.Parse(strings.TrimSpace(getenv("PUBLIC_URL"))); err == nil && u.Host != "" &&
		(u.Scheme == "https" || u.Scheme == "http") {
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
