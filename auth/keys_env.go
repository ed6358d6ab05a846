package auth

import (
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/forgeauth/forgeauth/token"
)

// minCodeKeyBytes is the least size of AUTH_CODE_KEY once decoded: an HMAC
// key as long as the SHA-256 output.
const minCodeKeyBytes = 32

// Asymmetric reports whether alg, a JWT_ALGORITHM value, signs with a
// private key ("EdDSA", "ES256", "RS256") rather than a shared secret. Such
// an algorithm reads JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILES instead
// of JWT_SECRET_KEY, and needs AUTH_CODE_KEY in Complete mode. It is a pure
// function.
func Asymmetric(alg string) bool {
	switch alg {
	case "EdDSA", "ES256", "RS256":
		return true
	}
	return false
}

// failErr records an error with its cause, unless one is recorded already.
func (e *env) failErr(name, reason string, err error) {
	if e.err == nil {
		e.err = &EnvError{Name: name, Reason: reason, Err: err}
	}
}

// tokenKeys reads the keys of tc.Algorithm into tc: JWT_SECRET_KEY for the
// HMAC algorithms (ErrMissingSecret without it), JWT_PRIVATE_KEY_FILE and
// JWT_PUBLIC_KEY_FILES for the asymmetric ones. Each variable is used with
// its kind of algorithm only, so that a key left over from another
// configuration is reported rather than silently ignored.
func (e *env) tokenKeys(tc *token.Config) error {
	secret := e.getenv("JWT_SECRET_KEY")
	if !Asymmetric(tc.Algorithm) {
		for _, name := range []string{"JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILES"} {
			if e.str(name) != "" {
				return &EnvError{Name: name, Reason: "only used with JWT_ALGORITHM EdDSA, ES256 or RS256"}
			}
		}
		if secret == "" {
			return ErrMissingSecret
		}
		tc.Secret = []byte(secret)
		return nil
	}
	if secret != "" {
		return &EnvError{Name: "JWT_SECRET_KEY", Reason: "not used with JWT_ALGORITHM=" + tc.Algorithm + " (which signs with JWT_PRIVATE_KEY_FILE); unset it"}
	}
	tc.SigningKey = e.privateKey(tc.Algorithm)
	tc.PublicKeys = e.publicKeys(tc.Algorithm)
	return e.err
}

// privateKey reads JWT_PRIVATE_KEY_FILE: one PKCS #8 PEM private key for
// alg.
func (e *env) privateKey(alg string) crypto.Signer {
	const name = "JWT_PRIVATE_KEY_FILE"
	path := e.str(name)
	if path == "" {
		e.fail(name, "required with JWT_ALGORITHM="+alg)
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		e.failErr(name, "cannot read the file", err)
		return nil
	}
	key, err := token.ParsePrivateKeyPEM(data)
	if err != nil {
		e.failErr(name, path+" is not a PKCS #8 PEM private key", err)
		return nil
	}
	if err := token.CheckKey(alg, key); err != nil {
		e.failErr(name, path+" does not hold a key for "+alg, err)
		return nil
	}
	return key
}

// publicKeys reads JWT_PUBLIC_KEY_FILES: comma-separated files, each of one
// or more PKIX PEM public keys for alg. Empty items are skipped.
func (e *env) publicKeys(alg string) []crypto.PublicKey {
	const name = "JWT_PUBLIC_KEY_FILES"
	var keys []crypto.PublicKey
	for path := range strings.SplitSeq(e.str(name), ",") {
		path = strings.TrimSpace(path)
		if path == "" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			e.failErr(name, "cannot read a file", err)
			return nil
		}
		ks, err := token.ParsePublicKeysPEM(data)
		if err != nil {
			e.failErr(name, path+" is not a file of PKIX PEM public keys", err)
			return nil
		}
		for i, k := range ks {
			if err := token.CheckKey(alg, k); err != nil {
				e.failErr(name, fmt.Sprintf("%s: key %d is not a key for %s", path, i+1, alg), err)
				return nil
			}
		}
		keys = append(keys, ks...)
	}
	return keys
}

// codeKey reads AUTH_CODE_KEY, hex or base64 of at least 32 bytes; unset
// is nil, which required turns into an error.
func (e *env) codeKey(required bool, alg string) []byte {
	const name = "AUTH_CODE_KEY"
	s := e.str(name)
	if s == "" {
		if required {
			e.fail(name, "required in complete mode with JWT_ALGORITHM="+alg+" (at least 32 random bytes, hex or base64)")
		}
		return nil
	}
	key, ok := decodeKey(s)
	if !ok {
		e.fail(name, "want hex or base64")
		return nil
	}
	if len(key) < minCodeKeyBytes {
		e.fail(name, fmt.Sprintf("want at least %d bytes, got %d", minCodeKeyBytes, len(key)))
		return nil
	}
	return key
}

// decodeKey decodes s as hex when it is hex, and else as base64, standard
// or URL-safe, padded or not.
func decodeKey(s string) ([]byte, bool) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}
