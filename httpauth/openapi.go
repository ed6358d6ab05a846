package httpauth

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// openAPISource is the OpenAPI 3.1 document of every endpoint, for the
// default prefix and Complete mode.
//
//go:embed openapi.json
var openAPISource []byte

// basicPaths are the paths served in Basic mode.
func basicPaths() []string {
	return []string{"/auth/register", "/auth/login", "/users/me", "/openapi.json"}
}

// openAPIDocument returns the document for a handler: its prefix as the
// server URL and, in Basic mode, only the Basic paths.
func openAPIDocument(prefix string, basic bool) ([]byte, error) {
	var doc struct {
		OpenAPI    json.RawMessage            `json:"openapi"`
		Info       json.RawMessage            `json:"info"`
		Servers    []map[string]string        `json:"servers"`
		Tags       json.RawMessage            `json:"tags"`
		Paths      map[string]json.RawMessage `json:"paths"`
		Components json.RawMessage            `json:"components"`
	}
	if err := json.Unmarshal(openAPISource, &doc); err != nil {
		return nil, fmt.Errorf("httpauth: embedded OpenAPI document: %w", err)
	}
	url := prefix
	if url == "" {
		url = "/"
	}
	doc.Servers = []map[string]string{{"url": url}}
	if basic {
		keep := make(map[string]json.RawMessage)
		for _, p := range basicPaths() {
			keep[p] = doc.Paths[p]
		}
		doc.Paths = keep
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("httpauth: OpenAPI document: %w", err)
	}
	return buf.Bytes(), nil
}

// GET /openapi.json: the document of the endpoints this handler serves.
func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(h.openapi)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(h.openapi)
}
