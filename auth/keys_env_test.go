package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/mailer"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// rsaKeys caches generated RSA keys by size: making one takes a while.
var rsaKeys = struct {
	sync.Mutex
	keys map[int]*rsa.PrivateKey
}{keys: map[int]*rsa.PrivateKey{}}

// newKey makes a private key of a kind: "EdDSA", "ES256", "P-384", "RS256"
// (2048 bits) or "RSA-1024".
func newKey(tb testing.TB, kind string) crypto.Signer {
	tb.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch kind {
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "P-384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "RS256", "RSA-1024":
		bits := 2048
		if kind == "RSA-1024" {
			bits = 1024
		}
		rsaKeys.Lock()
		defer rsaKeys.Unlock()
		if rsaKeys.keys[bits] == nil {
			rsaKeys.keys[bits], err = rsa.GenerateKey(rand.Reader, bits)
		}
		k = rsaKeys.keys[bits]
	default:
		tb.Fatalf("unknown key kind %q", kind)
	}
	require.NoError(tb, err)
	return k
}

// writeFile writes data to a new file in dir and returns its path.
func writeFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	require.NoError(tb, os.WriteFile(path, data, 0o600))
	return path
}

func privatePEM(tb testing.TB, k crypto.Signer) []byte {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(tb, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func publicPEM(tb testing.TB, keys ...crypto.Signer) []byte {
	tb.Helper()
	var out []byte
	for _, k := range keys {
		der, err := x509.MarshalPKIXPublicKey(k.Public())
		require.NoError(tb, err)
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	return out
}

// testCodeKey is an AUTH_CODE_KEY for tests, in hex.
var testCodeKey = strings.Repeat("5a", 32)

func TestConfigFromEnvKeys(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			signer, old1, old2, old3 := newKey(t, alg), newKey(t, alg), newKey(t, alg), newKey(t, alg)
			if alg == "RS256" { // one cached 2048-bit key: the old ones are other kinds of test
				old1, old2, old3 = signer, signer, signer
			}
			env := map[string]string{
				"JWT_ALGORITHM":        alg,
				"JWT_PRIVATE_KEY_FILE": writeFile(t, dir, "signer.pem", privatePEM(t, signer)),
				"JWT_PUBLIC_KEY_FILES": writeFile(t, dir, "old1.pem", publicPEM(t, old1)) + " , " +
					writeFile(t, dir, "old23.pem", publicPEM(t, old2, old3)) + ",",
				"AUTH_CODE_KEY": testCodeKey,
			}
			cfg, err := auth.ConfigFromEnv(envOf(env))
			require.NoError(t, err)
			assert.Equal(t, alg, cfg.Token.Algorithm)
			assert.Empty(t, cfg.Token.Secret, "no secret is read or made up")
			require.NotNil(t, cfg.Token.SigningKey)
			assert.True(t, cfg.Token.SigningKey.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()))
			assert.Len(t, cfg.Token.PublicKeys, 3)
			want, _ := hex.DecodeString(testCodeKey)
			assert.Equal(t, want, cfg.CodeKey)

			cfg.Store, cfg.Mailer = memstore.New(), &mailer.Recorder{}
			cfg.Password.Params = testParams
			svc, err := auth.New(cfg)
			require.NoError(t, err)
			doc, ok := svc.JWKS()
			require.True(t, ok)
			for _, k := range []crypto.Signer{signer, old1, old2, old3} {
				kid, err := token.Thumbprint(k.Public())
				require.NoError(t, err)
				assert.Contains(t, string(doc), `"kid":"`+kid+`"`)
			}
		})
	}
}

func TestConfigFromEnvKeyErrors(t *testing.T) {
	dir := t.TempDir()
	ed, p384, rsa1024 := newKey(t, "EdDSA"), newKey(t, "P-384"), newKey(t, "RSA-1024")
	edFile := writeFile(t, dir, "ed.pem", privatePEM(t, ed))
	edPub := writeFile(t, dir, "ed.pub", publicPEM(t, ed))
	p384File := writeFile(t, dir, "p384.pem", privatePEM(t, p384))
	p384Pub := writeFile(t, dir, "p384.pub", publicPEM(t, p384))
	rsaFile := writeFile(t, dir, "rsa1024.pem", privatePEM(t, rsa1024))
	rsaPub := writeFile(t, dir, "rsa1024.pub", publicPEM(t, rsa1024))
	rsa2048File := writeFile(t, dir, "rsa2048.pem", privatePEM(t, newKey(t, "RS256")))
	garbage := writeFile(t, dir, "garbage.pem", []byte("not a key\n"))
	empty := writeFile(t, dir, "empty.pub", []byte("\n \n"))
	missing := filepath.Join(dir, "missing.pem")

	for _, tt := range []struct {
		name     string
		env      map[string]string
		wantName string
		wantErr  error // nil: only the name is checked
	}{
		{"no private key", map[string]string{"JWT_ALGORITHM": "EdDSA"}, "JWT_PRIVATE_KEY_FILE", nil},
		{"unreadable private key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": missing}, "JWT_PRIVATE_KEY_FILE", fs.ErrNotExist},
		{"private key is a directory", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": dir}, "JWT_PRIVATE_KEY_FILE", nil},
		{"private key not PEM", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": garbage}, "JWT_PRIVATE_KEY_FILE", nil},
		{"public key as private key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edPub}, "JWT_PRIVATE_KEY_FILE", nil},
		{"private key of another type", map[string]string{"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY_FILE": edFile}, "JWT_PRIVATE_KEY_FILE", token.ErrKeyMismatch},
		{"private key on another curve", map[string]string{"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY_FILE": p384File}, "JWT_PRIVATE_KEY_FILE", token.ErrKeyMismatch},
		{"short RSA private key", map[string]string{"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY_FILE": rsaFile}, "JWT_PRIVATE_KEY_FILE", token.ErrWeakKey},
		{"unreadable public key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "JWT_PUBLIC_KEY_FILES": edPub + "," + missing}, "JWT_PUBLIC_KEY_FILES", fs.ErrNotExist},
		{"public key not PEM", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "JWT_PUBLIC_KEY_FILES": garbage}, "JWT_PUBLIC_KEY_FILES", nil},
		{"public key file without a key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "JWT_PUBLIC_KEY_FILES": empty}, "JWT_PUBLIC_KEY_FILES", nil},
		{"private key as public key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "JWT_PUBLIC_KEY_FILES": edFile}, "JWT_PUBLIC_KEY_FILES", nil},
		{"public key of another type", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "JWT_PUBLIC_KEY_FILES": p384Pub}, "JWT_PUBLIC_KEY_FILES", token.ErrKeyMismatch},
		{"short RSA public key", map[string]string{"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY_FILE": rsa2048File, "JWT_PUBLIC_KEY_FILES": rsaPub}, "JWT_PUBLIC_KEY_FILES", token.ErrWeakKey},
		{"secret with a key pair", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "JWT_SECRET_KEY": strings.Repeat("s", 32)}, "JWT_SECRET_KEY", nil},
		{"private key with HS256", map[string]string{"JWT_SECRET_KEY": strings.Repeat("s", 32), "JWT_PRIVATE_KEY_FILE": edFile}, "JWT_PRIVATE_KEY_FILE", nil},
		{"public keys with HS256", map[string]string{"JWT_ALGORITHM": "HS256", "JWT_SECRET_KEY": strings.Repeat("s", 32), "JWT_PUBLIC_KEY_FILES": edPub}, "JWT_PUBLIC_KEY_FILES", nil},
		{"no code key in complete mode", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile}, "AUTH_CODE_KEY", nil},
		{"code key neither hex nor base64", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "AUTH_CODE_KEY": "not*a*key"}, "AUTH_CODE_KEY", nil},
		{"short code key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "AUTH_CODE_KEY": strings.Repeat("ab", 31)}, "AUTH_CODE_KEY", nil},
		{"short code key with HS256", map[string]string{"JWT_SECRET_KEY": strings.Repeat("s", 32), "AUTH_CODE_KEY": base64.StdEncoding.EncodeToString(make([]byte, 31))}, "AUTH_CODE_KEY", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := tt.env["AUTH_CODE_KEY"]; !ok && tt.wantName != "AUTH_CODE_KEY" {
				tt.env["AUTH_CODE_KEY"] = testCodeKey
			}
			_, err := auth.ConfigFromEnv(envOf(tt.env))
			var envErr *auth.EnvError
			require.ErrorAs(t, err, &envErr)
			assert.Equal(t, tt.wantName, envErr.Name, "error: %v", err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			assert.NotContains(t, err.Error(), "BEGIN", "no key material")
			if v := tt.env["AUTH_CODE_KEY"]; v != "" {
				assert.NotContains(t, err.Error(), v, "no code key")
			}
		})
	}
}

// TestConfigFromEnvCodeKey: AUTH_CODE_KEY in hex or any base64, with
// either kind of algorithm; Basic mode does without it.
func TestConfigFromEnvCodeKey(t *testing.T) {
	key := make([]byte, 40)
	_, err := rand.Read(key)
	require.NoError(t, err)
	edFile := writeFile(t, t.TempDir(), "ed.pem", privatePEM(t, newKey(t, "EdDSA")))
	for _, tt := range []struct {
		name, value string
	}{
		{"hex", hex.EncodeToString(key)},
		{"HEX", strings.ToUpper(hex.EncodeToString(key))},
		{"base64", base64.StdEncoding.EncodeToString(key)},
		{"raw base64url", base64.RawURLEncoding.EncodeToString(key)},
	} {
		for _, keys := range []map[string]string{
			{"JWT_SECRET_KEY": strings.Repeat("s", 32)},
			{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile},
		} {
			t.Run(tt.name+" "+keys["JWT_ALGORITHM"], func(t *testing.T) {
				env := map[string]string{"AUTH_CODE_KEY": tt.value}
				for k, v := range keys {
					env[k] = v
				}
				cfg, err := auth.ConfigFromEnv(envOf(env))
				require.NoError(t, err)
				assert.Equal(t, key, cfg.CodeKey)
			})
		}
	}

	cfg, err := auth.ConfigFromEnv(envOf(map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edFile, "AUTH_MODE": "basic"}))
	require.NoError(t, err, "Basic mode keeps no codes")
	assert.Nil(t, cfg.CodeKey)
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}
