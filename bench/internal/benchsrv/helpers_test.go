package benchsrv_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/forgeauth/forgeauth/bench/internal/benchsrv"
	"github.com/forgeauth/forgeauth/password"
)

// testParams are small Argon2id parameters, so that building a server in a
// test costs microseconds, not tens of milliseconds.
var testParams = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func settings(tb testing.TB) benchsrv.Settings {
	tb.Helper()
	return benchsrv.Settings{Secret: bytes.Repeat([]byte("k"), benchsrv.MinSecretBytes)}
}

// newForgeauth builds a forgeauth server with small hashing parameters
// (unless cfg sets its own) and a silent audit log.
func newForgeauth(tb testing.TB, cfg benchsrv.ForgeauthConfig) *benchsrv.Forgeauth {
	tb.Helper()
	if cfg.Password.Params == (password.Params{}) {
		cfg.Password.Params = testParams
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	fa, err := benchsrv.NewForgeauth(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = fa.Service.Shutdown(context.Background()) })
	return fa
}
