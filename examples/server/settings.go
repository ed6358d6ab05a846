package main

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/forgeauth/forgeauth/auth"
)

// settings are the server's own environment variables, beside those that
// auth.ConfigFromEnv and auth.SMTPConfigFromEnv read.
type settings struct {
	Addr           string
	DB             database
	RatePerMinute  int // requests per client IP over the auth endpoints; 0 is off
	TrustedProxies []netip.Prefix
	RedisURL       string
	TemplateDir    string
}

// The kinds of database.
const (
	dbSQLite   = "sqlite"
	dbPostgres = "postgres"
	dbMemory   = "memory"
)

// database is a parsed DATABASE_URL.
type database struct {
	Kind string // dbSQLite, dbPostgres or dbMemory
	Path string // the SQLite file
	URL  string // the PostgreSQL URL, as given
	Host string // the PostgreSQL host, for the log (never the URL: it may hold a password)
}

func (d database) String() string {
	switch d.Kind {
	case dbSQLite:
		return "sqlite:" + d.Path
	case dbPostgres:
		return "postgres:" + d.Host
	default:
		return d.Kind
	}
}

const defaultRatePerMinute = 60

// readSettings reads the server's variables through getenv. It returns an
// *auth.EnvError for the first bad value.
func readSettings(getenv func(string) string) (settings, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	s := settings{
		Addr:          get("ADDR"),
		RatePerMinute: defaultRatePerMinute,
		RedisURL:      get("REDIS_URL"),
		TemplateDir:   get("EMAIL_TEMPLATE_DIR"),
	}
	if s.Addr == "" {
		s.Addr = ":8080"
	}
	var err error
	if s.DB, err = parseDatabaseURL(get("DATABASE_URL")); err != nil {
		return settings{}, err
	}
	if v := get("AUTH_RATE_LIMIT_PER_MINUTE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			return settings{}, &auth.EnvError{Name: "AUTH_RATE_LIMIT_PER_MINUTE", Reason: "want a whole number from 0 (off) to 1000000"}
		}
		s.RatePerMinute = n
	}
	if s.TrustedProxies, err = parseProxies(get("TRUSTED_PROXIES")); err != nil {
		return settings{}, err
	}
	return s, nil
}

// parseDatabaseURL reads DATABASE_URL; "" means sqlite:forgeauth.db.
func parseDatabaseURL(v string) (database, error) {
	const name = "DATABASE_URL"
	switch {
	case v == "":
		return database{Kind: dbSQLite, Path: "forgeauth.db"}, nil
	case v == dbMemory:
		return database{Kind: dbMemory}, nil
	case strings.HasPrefix(v, "sqlite:"):
		path := strings.TrimPrefix(v, "sqlite:")
		switch path {
		case "":
			return database{}, &auth.EnvError{Name: name, Reason: "sqlite: needs a file path, as in sqlite:forgeauth.db"}
		case ":memory:":
			// Every pooled connection would get its own empty database.
			return database{}, &auth.EnvError{Name: name, Reason: "use memory for an in-memory store, not sqlite::memory:"}
		}
		return database{Kind: dbSQLite, Path: path}, nil
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			// The URL's own error would repeat the URL, password included.
			return database{}, &auth.EnvError{Name: name, Reason: "not a valid PostgreSQL URL"}
		}
		return database{Kind: dbPostgres, URL: v, Host: u.Hostname()}, nil
	default:
		return database{}, &auth.EnvError{Name: name, Reason: "want sqlite:<path>, postgres://..., postgresql://... or memory"}
	}
}

// parseProxies reads TRUSTED_PROXIES: comma-separated CIDRs or single IPs.
func parseProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, &auth.EnvError{Name: "TRUSTED_PROXIES", Reason: fmt.Sprintf("%q is neither a CIDR nor an IP address", item)}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a.WithZone(""), a.BitLen()))
	}
	return out, nil
}

// errWithoutURL returns err with any *url.Error unwrapped to its cause, so
// that an error about a URL does not repeat the URL and its password.
func errWithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
