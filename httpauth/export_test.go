package httpauth

// Bridges to unexported functions for the external tests.

// ParseUserAgent exposes parseUserAgent.
func ParseUserAgent(ua string) (name, typ string) { return parseUserAgent(ua) }

// Clean exposes clean.
func Clean(s string, max int) string { return clean(s, max) }

// MaxAuthorizationBytes exposes the Authorization header bound.
const MaxAuthorizationBytes = maxAuthorizationBytes

// DecodeJSON runs the strict JSON decoder over required string members.
func DecodeJSON(body []byte, names ...string) error {
	vals := make([]string, len(names))
	fields := make([]field, len(names))
	for i, n := range names {
		fields[i] = field{name: n, required: true, dst: &vals[i]}
	}
	return decodeJSON(body, fields)
}
