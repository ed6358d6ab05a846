package token_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/token"
)

func pemBlock(typ string, der []byte, headers map[string]string) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der}))
}

func pkcs8PEM(tb testing.TB, key any) string {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(tb, err)
	return pemBlock("PRIVATE KEY", der, nil)
}

func pkixPEM(tb testing.TB, key any) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	require.NoError(tb, err)
	return pemBlock("PUBLIC KEY", der, nil)
}

func TestParsePrivateKeyPEM(t *testing.T) {
	for _, key := range []crypto.Signer{edKey(t), ecKey(t, elliptic.P256()), rsaKey(t, "rsa2048")} {
		got, err := token.ParsePrivateKeyPEM([]byte("\n  " + pkcs8PEM(t, key) + "\r\n\n"))
		require.NoError(t, err)
		assert.True(t, key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Public()), "%T", key)
	}
}

func TestParsePrivateKeyPEMErrors(t *testing.T) {
	ed := edKey(t)
	good := pkcs8PEM(t, ed)
	ec := ecKey(t, elliptic.P256())
	sec1, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)
	rsa2048 := rsaKey(t, "rsa2048")
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(ed)
	require.NoError(t, err)
	body := strings.Split(good, "\n")[1] // a line of the key's base64

	tests := []struct {
		name, pem, want string // want: a part of the message
	}{
		{"empty", "", "no PEM block"},
		{"white space", " \n\t", "no PEM block"},
		{"not PEM", "just some text", "text outside a block"},
		{"text before", "my key:\n" + good, "text outside a block"},
		{"trailing garbage", good + "garbage", "text outside a block"},
		{"a second block", good + good, "2 blocks"},
		{"malformed block", "-----BEGIN PRIVATE KEY-----\n%%%%\n-----END PRIVATE KEY-----\n", "malformed"},
		{"malformed block before a good one", "-----BEGIN PRIVATE KEY-----\n%%%%\n-----END PRIVATE KEY-----\n" + good, "malformed"},
		{"unterminated block", strings.TrimSuffix(good, "-----END PRIVATE KEY-----\n"), "malformed"},
		{"encrypted PKCS #8", pemBlock("ENCRYPTED PRIVATE KEY", der, nil), "encrypted"},
		{"legacy encrypted", pemBlock("PRIVATE KEY", der, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}), "encrypted"},
		{"PKCS #1", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048), nil), "openssl pkcs8"},
		{"SEC 1", pemBlock("EC PRIVATE KEY", sec1, nil), "openssl pkcs8"},
		{"public key", pkixPEM(t, ed.Public()), `"PUBLIC KEY"`},
		{"certificate", pemBlock("CERTIFICATE", der, nil), `"CERTIFICATE"`},
		{"bad DER", pemBlock("PRIVATE KEY", []byte("not DER"), nil), "PKCS #8"},
		{"X25519", pkcs8PEM(t, x25519), "cannot sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := token.ParsePrivateKeyPEM([]byte(tt.pem))
			require.Error(t, err)
			assert.Nil(t, key)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "token: "), err.Error())
			assert.NotContains(t, err.Error(), body)
		})
	}
}

func TestParsePublicKeysPEM(t *testing.T) {
	keys := []crypto.PublicKey{edKey(t).Public(), ecKey(t, elliptic.P256()).Public(), rsaKey(t, "rsa2048").Public()}
	var all string
	for _, k := range keys {
		all += pkixPEM(t, k) + "\n\n"
	}
	got, err := token.ParsePublicKeysPEM([]byte(all))
	require.NoError(t, err)
	require.Len(t, got, len(keys))
	for i := range keys {
		assert.True(t, keys[i].(interface{ Equal(crypto.PublicKey) bool }).Equal(got[i]), "key %d", i)
	}

	one, err := token.ParsePublicKeysPEM([]byte(pkixPEM(t, keys[0])))
	require.NoError(t, err)
	require.Len(t, one, 1)
}

func TestParsePublicKeysPEMErrors(t *testing.T) {
	ed := edKey(t)
	good := pkixPEM(t, ed.Public())
	rsa2048 := rsaKey(t, "rsa2048")
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name, pem, want string
		wantErr         error
	}{
		{name: "empty", pem: "", want: "no PEM block"},
		{name: "not PEM", pem: "ssh-ed25519 AAAA", want: "text outside a block"},
		{name: "text between blocks", pem: good + "next:\n" + good, want: "after 1 blocks"},
		{name: "trailing garbage", pem: good + good + "x", want: "after 2 blocks"},
		{name: "malformed second block", pem: good + "-----BEGIN PUBLIC KEY-----\n%%%%\n-----END PUBLIC KEY-----\n" + good, want: "block 2 is malformed"},
		{name: "PKCS #1 public key", pem: pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsa2048.PublicKey), nil), want: `block 1 is "RSA PUBLIC KEY"`},
		{name: "private key", pem: good + pkcs8PEM(t, ed), want: `block 2 is "PRIVATE KEY"`},
		{name: "bad DER", pem: pemBlock("PUBLIC KEY", []byte("not DER"), nil), want: "block 1: PKIX"},
		{name: "X25519", pem: pkixPEM(t, x25519.PublicKey()), want: "block 1", wantErr: token.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := token.ParsePublicKeysPEM([]byte(tt.pem))
			require.Error(t, err)
			assert.Nil(t, keys)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "token: "), err.Error())
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

// TestPEMToManager is the path of configuration from files: a PKCS #8
// signing key and the PKIX key of the previous rotation.
func TestPEMToManager(t *testing.T) {
	c := newClock()
	oldKey, newKey := edKey(t), edKey(t)
	before := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: oldKey, Now: c.Now})

	signer, err := token.ParsePrivateKeyPEM([]byte(pkcs8PEM(t, newKey)))
	require.NoError(t, err)
	require.NoError(t, token.CheckKey("EdDSA", signer))
	older, err := token.ParsePublicKeysPEM([]byte(pkixPEM(t, oldKey.Public())))
	require.NoError(t, err)
	m := newManager(t, token.Config{Algorithm: "EdDSA", SigningKey: signer, PublicKeys: older, Now: c.Now})

	_, err = m.Verify(issueAccess(t, before).Token, token.TypeAccess)
	require.NoError(t, err)
	_, err = m.Verify(issueAccess(t, m).Token, token.TypeAccess)
	require.NoError(t, err)
}
