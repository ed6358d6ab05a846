package httpauth

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// openAPISource is the OpenAPI 3.1 document of every endpoint, for the
// default prefix and Complete mode.
//
//go:embed openapi.json
var openAPISource []byte

// basicPaths are the paths served in Basic mode.
func basicPaths() []string {
	return []string{"/auth/register", "/auth/login", "/users/me", "/auth/jwks.json", "/openapi.json"}
}

// isMFAPath reports whether a path of the document is served only when
// the service's second factor is on.
func isMFAPath(p string) bool { return p == "/auth/mfa" || strings.HasPrefix(p, "/auth/mfa/") }

// openAPIDocument returns the document for a handler: its prefix as the
// server URL, in Basic mode only the Basic paths, the second factor's paths
// only when mfa is on, and the components they use.
func openAPIDocument(prefix string, basic, mfa bool) ([]byte, error) {
	var doc struct {
		OpenAPI    json.RawMessage                       `json:"openapi"`
		Info       json.RawMessage                       `json:"info"`
		Servers    []map[string]string                   `json:"servers"`
		Tags       json.RawMessage                       `json:"tags"`
		Paths      map[string]json.RawMessage            `json:"paths"`
		Components map[string]map[string]json.RawMessage `json:"components"`
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
		for p, raw := range doc.Paths {
			if isMFAPath(p) {
				keep[p] = raw
			}
		}
		doc.Paths = keep
	}
	if !mfa {
		for p := range doc.Paths {
			if isMFAPath(p) {
				delete(doc.Paths, p)
			}
		}
	}
	doc.Components = usedComponents(doc.Paths, doc.Components)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("httpauth: OpenAPI document: %w", err)
	}
	return buf.Bytes(), nil
}

// usedComponents returns the components that the paths use: those their
// references name, the ones those name in turn, and the security schemes
// their security requirements name. A reference to no component is left
// alone (the tests load every served document and resolve its references).
func usedComponents(paths map[string]json.RawMessage, all map[string]map[string]json.RawMessage) map[string]map[string]json.RawMessage {
	used := make(map[string]map[string]json.RawMessage)
	var walk func(raw json.RawMessage)
	use := func(kind, name string) {
		raw, ok := all[kind][name]
		if _, done := used[kind][name]; done || !ok {
			return
		}
		if used[kind] == nil {
			used[kind] = make(map[string]json.RawMessage)
		}
		used[kind][name] = raw
		walk(raw)
	}
	var visit func(v any, key string)
	visit = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					if kind, name, ok := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/"); ok {
						use(kind, name)
					}
					continue
				}
				visit(x, k)
			}
		case []any:
			for _, x := range v {
				if req, ok := x.(map[string]any); ok && key == "security" {
					for scheme := range req {
						use("securitySchemes", scheme)
					}
				}
				visit(x, "")
			}
		}
	}
	walk = func(raw json.RawMessage) {
		var v any
		// raw is a part of the document that has been parsed already:
		// parsing it again cannot fail.
		_ = json.Unmarshal(raw, &v)
		visit(v, "")
	}
	for _, raw := range paths {
		walk(raw)
	}
	return used
}

// GET /openapi.json: the document of the endpoints this handler serves.
func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(h.openapi)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(h.openapi)
}
