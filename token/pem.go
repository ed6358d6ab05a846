package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParsePrivateKeyPEM parses one PKCS #8 private key in PEM, the
// "-----BEGIN PRIVATE KEY-----" block that `openssl genpkey` writes, and
// returns it as an ed25519.PrivateKey, *ecdsa.PrivateKey or *rsa.PrivateKey.
// It does not judge the key against an algorithm: [New] does, and so does
// [CheckKey].
//
// Only white space may surround the block. ParsePrivateKeyPEM returns an
// error (prefixed "token: ", never holding key material) for input with no
// block, with text before or after it, with a second block or a malformed
// one; for an encrypted key ("ENCRYPTED PRIVATE KEY", or a legacy block with
// a Proc-Type header), which must be decrypted first; for a block of another
// type, such as the PKCS #1 "RSA PRIVATE KEY" and SEC 1 "EC PRIVATE KEY"
// (convert them with `openssl pkcs8 -topk8 -nocrypt`) or a public key; for
// DER that does not parse; and for a key that cannot sign (X25519). It is a
// pure function, safe for concurrent use.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	if len(blocks) != 1 {
		return nil, fmt.Errorf("token: PEM holds %d blocks, want one private key", len(blocks))
	}
	b := blocks[0]
	if _, ok := b.Headers["Proc-Type"]; ok || b.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("token: PEM private key is encrypted; decrypt it first (openssl pkcs8 -topk8 -nocrypt)")
	}
	switch b.Type {
	case "PRIVATE KEY":
	case "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY":
		return nil, fmt.Errorf("token: PEM block is %q, want PKCS #8 \"PRIVATE KEY\" (convert it with openssl pkcs8 -topk8 -nocrypt)", b.Type)
	default:
		return nil, fmt.Errorf("token: PEM block is %q, want PKCS #8 \"PRIVATE KEY\"", b.Type)
	}
	key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token: PKCS #8 private key: %w", err)
	}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("token: PKCS #8 private key of type %T cannot sign tokens (want Ed25519, ECDSA or RSA)", key)
}

// ParsePublicKeysPEM parses one or more PKIX public keys in PEM, each a
// "-----BEGIN PUBLIC KEY-----" block as `openssl pkey -pubout` writes it, and
// returns them in order as ed25519.PublicKey, *ecdsa.PublicKey or
// *rsa.PublicKey. Several files may simply be concatenated. It does not
// judge the keys against an algorithm: [New], [NewVerifier] and [CheckKey]
// do.
//
// Only white space may surround and separate the blocks. ParsePublicKeysPEM
// returns an error (prefixed "token: " and naming the block by its position,
// from 1) for input with no block, with other text, or with a malformed
// block; for a block of another type, such as the PKCS #1 "RSA PUBLIC KEY",
// a "CERTIFICATE" or a private key; for DER that does not parse; and an
// error wrapping [ErrKeyMismatch] for a key of another kind (X25519, DSA).
// It is a pure function, safe for concurrent use.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	keys := make([]crypto.PublicKey, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("token: PEM block %d is %q, want PKIX \"PUBLIC KEY\"", i+1, b.Type)
		}
		key, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("token: PEM block %d: PKIX public key: %w", i+1, err)
		}
		switch key.(type) {
		case ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
		default:
			return nil, fmt.Errorf("token: PEM block %d: %w: public key of type %T (want Ed25519, ECDSA or RSA)", i+1, ErrKeyMismatch, key)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// pemBlocks decodes data as PEM blocks separated by nothing but white space.
// encoding/pem on its own skips any text it does not recognise, a malformed
// block included, which would let a damaged file pass for a shorter one.
func pemBlocks(data []byte) ([]*pem.Block, error) {
	begin := []byte("-----BEGIN ")
	var blocks []*pem.Block
	rest := data
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			break
		}
		if !bytes.HasPrefix(rest, begin) {
			return nil, fmt.Errorf("token: PEM: text outside a block, after %d blocks", len(blocks))
		}
		b, after := pem.Decode(rest)
		// A malformed block is skipped by Decode, which then returns the next
		// one or nothing.
		if b == nil || bytes.Count(rest[:len(rest)-len(after)], begin) != 1 {
			return nil, fmt.Errorf("token: PEM block %d is malformed", len(blocks)+1)
		}
		blocks = append(blocks, b)
		rest = after
	}
	if len(blocks) == 0 {
		return nil, errors.New("token: no PEM block found")
	}
	return blocks, nil
}
