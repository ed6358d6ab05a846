package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/auth/authtest"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/password"
	"github.com/forgeauth/forgeauth/store"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// downStore is a store whose backend does not answer.
type downStore struct{ *memstore.Store }

func (downStore) Ping(context.Context) error {
	return errors.Join(store.ErrUnavailable, errors.New("dial tcp 10.0.0.5:5432: connection refused"))
}

// The probes: /healthz answers while the process runs, /readyz only while
// the store answers, and neither tells why.
func TestProbes(t *testing.T) {
	for _, tt := range []struct {
		name       string
		st         store.Store
		wantReady  int
		wantStatus string
	}{
		{name: "store up", st: memstore.New(), wantReady: http.StatusOK, wantStatus: "ready"},
		{name: "store down", st: downStore{memstore.New()}, wantReady: http.StatusServiceUnavailable, wantStatus: "unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := auth.New(auth.Config{
				Store:    tt.st,
				Mailer:   &mailer.Recorder{},
				Token:    token.Config{Secret: []byte(testSecret)},
				Password: password.HasherConfig{Params: authtest.Params()},
			})
			require.NoError(t, err)
			logs := newLogBuffer()
			logger := slog.New(slog.NewTextHandler(logs, nil))
			h, err := httpauth.New(svc, httpauth.Options{Logger: logger})
			require.NoError(t, err)
			srv := routes(svc, h, logger, nil)

			get := func(path string) *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				return w
			}
			w := get("/healthz")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.JSONEq(t, `{"status":"ok"}`, w.Body.String())
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))

			w = get("/readyz")
			assert.Equal(t, tt.wantReady, w.Code)
			assert.JSONEq(t, `{"status":"`+tt.wantStatus+`"}`, w.Body.String())
			assert.NotContains(t, w.Body.String(), "10.0.0.5")
			if tt.wantReady != http.StatusOK {
				assert.Contains(t, logs.String(), `level=WARN msg="not ready"`)
			}

			// Requests are logged without their query string.
			get("/api/v1/public?access_token=secret-in-url")
			assert.Contains(t, logs.String(), "path=/api/v1/public status=200")
			assert.NotContains(t, logs.String(), "secret-in-url")
		})
	}
}
