package benchsrv_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/bench/internal/benchsrv"
	"github.com/forgeauth/forgeauth/password"
)

func ExampleNewBare() {
	w := httptest.NewRecorder()
	benchsrv.NewBare().ServeHTTP(w, httptest.NewRequest(http.MethodGet, benchsrv.MePath, nil))
	fmt.Println(w.Code)
	fmt.Print(w.Body)
	// Output:
	// 200
	// {"id":"6f1c1d64-8a34-4d1e-9b0e-2f4c7a9d5e11","username":"bench","email":"bench@example.com","is_active":true,"is_verified":false,"is_superuser":false,"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z","last_login_at":"2025-01-02T03:04:05Z"}
}

func ExampleNewForgeauth() {
	st := benchsrv.Settings{Secret: bytes.Repeat([]byte{7}, 32)} // use 32 random bytes
	fa, err := benchsrv.NewForgeauth(context.Background(), benchsrv.ForgeauthConfig{
		Settings: st,
		Mode:     auth.ModeBasic,
		// Small parameters keep the example fast; servers keep the default.
		Password: password.HasherConfig{Params: password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ja, err := benchsrv.NewJWTAuth(st)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range []http.Handler{fa.Handler, ja} {
		req := httptest.NewRequest(http.MethodGet, benchsrv.MePath, nil)
		req.Header.Set("Authorization", "Bearer "+fa.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Code)
	}
	// Output:
	// 200
	// 200
}
