package httpauth

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// openAPISource is the OpenAPI 3.1 document of every endpoint, for the
// default prefix and Complete mode.
//
//go:embed openapi.json
var openAPISource []byte

// openAPIDocument returns the document for a handler: its prefix as the
// server URL, and only the operations it serves (served: the lower-case
// methods of each path; Basic mode, and the features turned off, serve
// fewer) and the components they use.
func openAPIDocument(prefix string, served map[string][]string) ([]byte, error) {
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
	keep := make(map[string]json.RawMessage)
	for p, raw := range doc.Paths {
		methods, ok := served[p]
		if !ok {
			continue
		}
		item, err := operations(raw, methods)
		if err != nil {
			return nil, fmt.Errorf("httpauth: embedded OpenAPI document: %s: %w", p, err)
		}
		keep[p] = item
	}
	doc.Paths = keep
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

// operations returns the path item raw with only the operations of the
// methods given (the other members, such as parameters, stay).
func operations(raw json.RawMessage, methods []string) (json.RawMessage, error) {
	var item map[string]json.RawMessage
	if err := json.Unmarshal(raw, &item); err != nil {
		return nil, err
	}
	for k := range item {
		switch k {
		case "get", "put", "post", "delete", "options", "head", "patch", "trace":
			if !slices.Contains(methods, k) {
				delete(item, k)
			}
		}
	}
	return json.Marshal(item)
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
