package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// The PHC string format written by the reference argon2 implementation, its
// command-line tool and argon2-cffi:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in standard base64 without padding. The parser accepts
// exactly that layout and nothing looser: the parameters in the order m, t,
// p, decimal numbers without sign or leading zeros, no optional keyid or
// data fields, base64 without padding, line breaks or non-zero trailing
// bits. One hash therefore has one encoding.

const (
	prefixID     = "$argon2id$"
	versionField = "v=19"
	maxDigits    = 10 // enough for any uint32; more is refused before parsing
)

// b64 is read-only after initialisation, like base64.RawStdEncoding itself.
var b64 = base64.RawStdEncoding.Strict()

// encode formats a PHC string.
func encode(p Params, salt, key []byte) string {
	buf := make([]byte, 0, len(prefixID)+len(versionField)+32+b64.EncodedLen(len(salt))+b64.EncodedLen(len(key))+3)
	buf = append(buf, prefixID...)
	buf = append(buf, versionField...)
	buf = append(buf, "$m="...)
	buf = strconv.AppendUint(buf, uint64(p.Memory), 10)
	buf = append(buf, ",t="...)
	buf = strconv.AppendUint(buf, uint64(p.Iterations), 10)
	buf = append(buf, ",p="...)
	buf = strconv.AppendUint(buf, uint64(p.Parallelism), 10)
	buf = append(buf, '$')
	buf = b64.AppendEncode(buf, salt)
	buf = append(buf, '$')
	buf = b64.AppendEncode(buf, key)
	return string(buf)
}

// decoded is a parsed PHC string whose parameters are within the caps.
type decoded struct {
	params Params
	salt   []byte
	key    []byte
}

func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformed, reason)
}

// decode parses and checks a PHC string. Every error wraps ErrMalformed. It
// allocates only the salt and the key, and only after their lengths and the
// cost parameters have passed the caps.
func decode(encoded string) (decoded, error) {
	switch {
	case encoded == "":
		return decoded{}, malformed("empty")
	case len(encoded) > MaxEncodedLength:
		return decoded{}, malformed("longer than " + strconv.Itoa(MaxEncodedLength) + " bytes")
	}
	rest, ok := strings.CutPrefix(encoded, prefixID)
	if !ok {
		if strings.HasPrefix(encoded, "$argon2i$") || strings.HasPrefix(encoded, "$argon2d$") {
			return decoded{}, malformed("not the argon2id variant")
		}
		return decoded{}, malformed("not an argon2id PHC string")
	}
	vfield, rest, ok := strings.Cut(rest, "$")
	if !ok {
		return decoded{}, malformed("missing fields")
	}
	if vfield != versionField {
		if v, found := strings.CutPrefix(vfield, "v="); found {
			if _, bad := parseNumber(v); bad == "" {
				return decoded{}, malformed("unsupported version (want v=19)")
			}
		}
		return decoded{}, malformed("bad version field")
	}
	pfield, rest, ok := strings.Cut(rest, "$")
	if !ok {
		return decoded{}, malformed("missing fields")
	}
	saltB64, keyB64, ok := strings.Cut(rest, "$")
	if !ok {
		return decoded{}, malformed("missing fields")
	}
	if strings.Contains(keyB64, "$") {
		return decoded{}, malformed("too many fields")
	}
	m, t, p, err := parseParams(pfield)
	if err != nil {
		return decoded{}, err
	}
	saltLen, bad := decodedLen(saltB64)
	if bad != "" {
		return decoded{}, malformed("salt: " + bad)
	}
	keyLen, bad := decodedLen(keyB64)
	if bad != "" {
		return decoded{}, malformed("key: " + bad)
	}
	if reason := checkParams(m, t, p, saltLen, keyLen); reason != "" {
		return decoded{}, malformed(reason)
	}
	salt, err := b64.DecodeString(saltB64)
	if err != nil {
		return decoded{}, malformed("salt: non-canonical base64")
	}
	key, err := b64.DecodeString(keyB64)
	if err != nil {
		return decoded{}, malformed("key: non-canonical base64")
	}
	return decoded{
		params: Params{
			Memory:      uint32(m),
			Iterations:  uint32(t),
			Parallelism: uint8(p),
			SaltLength:  uint32(len(salt)),
			KeyLength:   uint32(len(key)),
		},
		salt: salt,
		key:  key,
	}, nil
}

// parseParams parses "m=<n>,t=<n>,p=<n>" in that order.
func parseParams(s string) (m, t, p uint64, err error) {
	fields := [3]struct {
		name string
		val  *uint64
	}{{"m=", &m}, {"t=", &t}, {"p=", &p}}
	for i, f := range fields {
		var part string
		if i < len(fields)-1 {
			var ok bool
			part, s, ok = strings.Cut(s, ",")
			if !ok {
				return 0, 0, 0, malformed("bad parameter field")
			}
		} else {
			part = s
			if strings.Contains(part, ",") {
				return 0, 0, 0, malformed("unexpected parameter")
			}
		}
		digits, ok := strings.CutPrefix(part, f.name)
		if !ok {
			return 0, 0, 0, malformed("bad parameter field")
		}
		n, bad := parseNumber(digits)
		if bad != "" {
			return 0, 0, 0, malformed("parameter " + f.name[:1] + ": " + bad)
		}
		*f.val = n
	}
	return m, t, p, nil
}

// parseNumber parses a canonical decimal: ASCII digits only, no sign, no
// leading zero (except "0" itself), at most maxDigits digits. It returns the
// number and "", or 0 and the reason it is not one.
func parseNumber(s string) (uint64, string) {
	switch {
	case s == "":
		return 0, "empty number"
	case len(s) > maxDigits:
		return 0, "number too large"
	case len(s) > 1 && s[0] == '0':
		return 0, "leading zero"
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, "not a decimal number"
		}
		n = n*10 + uint64(c-'0')
	}
	return n, ""
}

// decodedLen checks that s is unpadded standard base64 made only of the 64
// alphabet characters (Go's decoder would otherwise skip line breaks) and
// returns the number of bytes it decodes to and "", without decoding; or 0
// and the reason it is not valid.
func decodedLen(s string) (int, string) {
	if s == "" {
		return 0, "empty"
	}
	if len(s)%4 == 1 {
		return 0, "bad base64 length"
	}
	for i := 0; i < len(s); i++ {
		if !isBase64(s[i]) {
			return 0, "bad base64 character"
		}
	}
	return b64.DecodedLen(len(s)), ""
}

// isBase64 reports whether c is in the standard base64 alphabet.
func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}
