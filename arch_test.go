package forgeauth_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/forgeauth/forgeauth"

type pkgInfo struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -json` over the module.
func listPackages(tb testing.TB) map[string]pkgInfo {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skip("the go command is not on PATH; the import rules are not checked")
	}
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		tb.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkgInfo{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			tb.Fatalf("decoding go list output: %v", err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	return pkgs
}

func own(imports []string) []string {
	var out []string
	for _, imp := range imports {
		if imp == module || strings.HasPrefix(imp, module+"/") {
			out = append(out, strings.TrimPrefix(strings.TrimPrefix(imp, module), "/"))
		}
	}
	return out
}

// TestImportDirection checks the package graph of DESIGN.md: the leaves
// import no other package of the module, auth imports only the leaves,
// httpauth only auth and the leaves, and nothing imports httpauth or the
// examples.
func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	allowed := map[string][]string{
		"":                     nil,
		"password":             nil,
		"token":                nil,
		"totp":                 nil,
		"mailer":               nil,
		"ratelimit":            nil,
		"ratelimit/redislimit": {"ratelimit"},
		"store":                nil,
		"store/memstore":       {"store"},
		"store/sqlstore":       {"store"},
		"store/storetest":      {"store"},
		"oauthlogin":           nil,
		"auth":                 {"password", "token", "mailer", "ratelimit", "store", "totp", "oauthlogin"},
		"auth/authtest":        {"auth", "password", "token", "mailer", "store", "store/memstore"},
		"httpauth":             {"auth", "password", "token", "mailer", "ratelimit", "store"},
	}
	for name, p := range pkgs {
		if strings.HasPrefix(name, "examples/") || strings.HasPrefix(name, "internal/") || strings.Contains(name, "/internal/") {
			continue
		}
		want, known := allowed[name]
		if !known {
			if strings.HasPrefix(name, "ratelimit/") {
				want = []string{"ratelimit"} // test helpers of the limiter
			} else {
				t.Errorf("package %q is not in the import rules; add it", name)
				continue
			}
		}
		for _, imp := range own(p.Imports) {
			// Go itself keeps an internal package within its parent's tree.
			ok := strings.HasPrefix(imp, "internal/") || strings.Contains(imp, "/internal/")
			for _, w := range want {
				ok = ok || imp == w
			}
			if !ok {
				t.Errorf("%s imports %s, against the direction of DESIGN.md", name, imp)
			}
		}
	}
}

// TestCoreHasNoDriver checks that the core packages pull in no database
// driver, no Redis client, and (but for httpauth) no net/http.
func TestCoreHasNoDriver(t *testing.T) {
	pkgs := listPackages(t)
	drivers := []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/redis/go-redis", "github.com/lib/pq", "github.com/mattn/go-sqlite3", "database/sql"}
	for _, name := range []string{"password", "token", "auth", "httpauth", "mailer", "ratelimit", "store", "oauthlogin"} {
		p, ok := pkgs[name]
		if !ok {
			t.Errorf("package %s is missing", name)
			continue
		}
		for _, dep := range p.Deps {
			// database/sql/driver is the standard library's interfaces,
			// no driver: google/uuid (through go-webauthn) implements its
			// Valuer. database/sql itself stays out.
			if dep == "database/sql/driver" {
				continue
			}
			for _, d := range drivers {
				if dep == d || strings.HasPrefix(dep, d+"/") {
					t.Errorf("%s depends on %s", name, dep)
				}
			}
		}
		// Only httpauth serves HTTP. token may use net/http as a client,
		// to fetch a JWKS for token.Verifier, and oauthlogin to call the
		// providers (DESIGN.md, part two).
		if name != "httpauth" && name != "token" && name != "oauthlogin" {
			for _, imp := range p.Imports {
				if imp == "net/http" {
					t.Errorf("%s imports net/http; only httpauth may", name)
				}
			}
		}
	}
}
