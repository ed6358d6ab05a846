package httpauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// cookieNote is added to the description of the cookie-mode document.
const cookieNote = " This document describes the browser (cookie) transport: the refresh token travels in an HttpOnly, Secure, SameSite=Strict cookie, never in a JSON body; refresh and logout read the cookie when the body holds no refresh_token (a body token wins); every POST and DELETE is refused 403 forbidden when it comes from another origin that is not trusted (Sec-Fetch-Site, then Origin); CORS answers only the trusted origins, with credentials."

// cookieDocument rewrites a handler's OpenAPI document for cookie mode,
// whose refresh cookie is named cookieName.
func cookieDocument(src []byte, cookieName string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("httpauth: OpenAPI document: %w", err)
	}
	info, _ := doc["info"].(map[string]any)
	paths, _ := doc["paths"].(map[string]any)
	components, _ := doc["components"].(map[string]any)
	if info == nil || paths == nil || components == nil {
		return nil, fmt.Errorf("httpauth: OpenAPI document lacks info, paths or components")
	}
	info["description"] = fmt.Sprint(info["description"]) + cookieNote
	schemas := mapAt(components, "schemas")
	responses := mapAt(components, "responses")

	if tokens, ok := schemas["Tokens"].(map[string]any); ok {
		delete(mapAt(tokens, "properties"), "refresh_token")
		tokens["description"] = "The answer of login and refresh. The refresh token is not here: it is set as the cookie " + cookieName + "."
	}
	setCookie := map[string]any{
		"description": "The refresh cookie " + cookieName + " (HttpOnly, Secure, SameSite=Strict, scoped to the auth paths): set when a pair is issued, cleared (Max-Age=0) by logout, logout-all and a refused cookie.",
		"schema":      map[string]any{"type": "string"},
	}
	for path, rawItem := range paths {
		item, _ := rawItem.(map[string]any)
		for method, rawOp := range item {
			op, _ := rawOp.(map[string]any)
			if op == nil {
				continue
			}
			switch method {
			case "post", "put", "patch", "delete":
			default:
				continue
			}
			rs := mapAt(op, "responses")
			rs["403"] = withCrossOrigin(rs["403"], responses)
			for code, raw := range rs {
				r, _ := raw.(map[string]any)
				if r == nil || r["$ref"] != nil || !strings.HasPrefix(code, "2") {
					continue
				}
				if path == "/auth/login" || path == "/auth/refresh" || path == "/auth/logout" || path == "/auth/logout-all" {
					mapAt(r, "headers")["Set-Cookie"] = setCookie
				}
			}
			if path == "/auth/refresh" || path == "/auth/logout" {
				op["description"] = fmt.Sprint(op["description"]) + " In the browser transport the body may be empty (no Content-Type) or {}: the refresh token is then read from the cookie " + cookieName + "; a refresh_token in the body wins over the cookie. A refused cookie is cleared."
				op["requestBody"] = map[string]any{
					"required": false,
					"content": map[string]any{"application/json": map[string]any{
						"schema": map[string]any{"$ref": "#/components/schemas/CookieRefreshRequest"},
					}},
				}
				op["parameters"] = []any{map[string]any{
					"name":        cookieName,
					"in":          "cookie",
					"required":    false,
					"description": "The refresh token set by login or refresh; read when the body holds none.",
					"schema":      map[string]any{"type": "string"},
				}}
			}
		}
	}
	schemas["CookieRefreshRequest"] = map[string]any{
		"type":                 "object",
		"description":          "Optional: without refresh_token the cookie is read. Member names are exact (case-sensitive); unknown or repeated members are refused.",
		"properties":           map[string]any{"refresh_token": map[string]any{"type": "string", "description": "A refresh token; wins over the cookie."}},
		"additionalProperties": false,
	}

	// Prune what the rewrite left unused.
	rawPaths := make(map[string]json.RawMessage, len(paths))
	for p, item := range paths {
		b, err := json.Marshal(item)
		if err != nil {
			return nil, fmt.Errorf("httpauth: OpenAPI document: %w", err)
		}
		rawPaths[p] = b
	}
	all := make(map[string]map[string]json.RawMessage, len(components))
	for kind, items := range components {
		m, _ := items.(map[string]any)
		all[kind] = make(map[string]json.RawMessage, len(m))
		for name, v := range m {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("httpauth: OpenAPI document: %w", err)
			}
			all[kind][name] = b
		}
	}
	out := map[string]any{}
	for k, v := range doc {
		out[k] = v
	}
	out["components"] = usedComponents(rawPaths, all)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("httpauth: OpenAPI document: %w", err)
	}
	return buf.Bytes(), nil
}

// mapAt returns m[key] as a map, making it when absent.
func mapAt(m map[string]any, key string) map[string]any {
	v, ok := m[key].(map[string]any)
	if !ok {
		v = map[string]any{}
		m[key] = v
	}
	return v
}

// withCrossOrigin returns the 403 answer of an unsafe operation in cookie
// mode: the operation's own 403 (a reference to a problem response) with
// the code forbidden added, or a new CrossOrigin response.
func withCrossOrigin(existing any, responses map[string]any) any {
	const crossOrigin = "forbidden (a cross-origin request from an origin that is not trusted: Sec-Fetch-Site other than same-origin or none, or an Origin whose host is not the Host)"
	ref, _ := existing.(map[string]any)
	name := ""
	if ref != nil {
		name, _ = ref["$ref"].(string)
		name = strings.TrimPrefix(name, "#/components/responses/")
	}
	base, _ := responses[name].(map[string]any)
	if base == nil {
		if _, ok := responses["CrossOrigin"]; !ok {
			responses["CrossOrigin"] = problemResponse(crossOrigin+".", []any{codeForbidden})
		}
		return map[string]any{"$ref": "#/components/responses/CrossOrigin"}
	}
	codes := problemCodes(base)
	for _, c := range codes {
		if c == codeForbidden {
			return existing
		}
	}
	merged := name + "OrCrossOrigin"
	if _, ok := responses[merged]; !ok {
		responses[merged] = problemResponse(strings.TrimSuffix(fmt.Sprint(base["description"]), ".")+", or "+crossOrigin+".", append(codes, codeForbidden))
	}
	return map[string]any{"$ref": "#/components/responses/" + merged}
}

// problemResponse is a problem+json response whose code is one of codes.
func problemResponse(description string, codes []any) map[string]any {
	return map[string]any{
		"description": description,
		"headers":     map[string]any{"Cache-Control": map[string]any{"$ref": "#/components/headers/Cache-Control"}},
		"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{
			"allOf": []any{
				map[string]any{"$ref": "#/components/schemas/Problem"},
				map[string]any{"type": "object", "properties": map[string]any{"code": map[string]any{"enum": codes}}},
			},
		}}},
	}
}

// problemCodes returns the code enum of a problem response made like
// problemResponse.
func problemCodes(resp map[string]any) []any {
	content, _ := resp["content"].(map[string]any)
	pj, _ := content["application/problem+json"].(map[string]any)
	schema, _ := pj["schema"].(map[string]any)
	allOf, _ := schema["allOf"].([]any)
	for _, part := range allOf {
		p, _ := part.(map[string]any)
		props, _ := p["properties"].(map[string]any)
		code, _ := props["code"].(map[string]any)
		if enum, ok := code["enum"].([]any); ok {
			return append([]any(nil), enum...)
		}
	}
	return nil
}
