package token_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/forgeauth/forgeauth/token"
)

func ExampleManager_IssueAccess() {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := token.New(token.Config{
		Secret: []byte("example-secret-of-at-least-32-bytes!"), // 32+ random bytes in production
		Now:    func() time.Time { return now },                // nil in production
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	issued, err := m.IssueAccess(token.Identity{UserID: "u-42", Username: "mike", SessionID: "s-7"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(issued.Claims.Type, issued.Claims.Subject, issued.Claims.SessionID)
	fmt.Println("expires", issued.ExpiresAt.Format(time.RFC3339))
	// Output:
	// access mike s-7
	// expires 2025-01-02T03:34:05Z
}

func ExampleManager_Verify() {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := token.New(token.Config{
		Secret: []byte("example-secret-of-at-least-32-bytes!"),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	id := token.Identity{UserID: "u-42", Username: "mike", SessionID: "s-7"}
	access, _ := m.IssueAccess(id)
	refresh, _ := m.IssueRefresh(id)

	check := func(name, tok string, want token.Type) {
		claims, err := m.Verify(tok, want)
		switch {
		case errors.Is(err, token.ErrExpired):
			fmt.Println(name+":", "expired, ask the client to refresh")
		case errors.Is(err, token.ErrWrongType):
			fmt.Println(name+":", "wrong token type")
		case errors.Is(err, token.ErrInvalid):
			fmt.Println(name+":", "invalid")
		case err != nil:
			fmt.Println(name+":", "unexpected:", err) // never happens
		default:
			fmt.Println(name+":", "ok for", claims.Subject)
		}
	}
	check("access", access.Token, token.TypeAccess)
	check("refresh as access", refresh.Token, token.TypeAccess)
	check("garbage", "Bearer abc", token.TypeAccess)
	now = now.Add(time.Hour)
	check("access an hour later", access.Token, token.TypeAccess)
	check("refresh an hour later", refresh.Token, token.TypeRefresh)
	// Output:
	// access: ok for mike
	// refresh as access: wrong token type
	// garbage: invalid
	// access an hour later: expired, ask the client to refresh
	// refresh an hour later: ok for mike
}

func ExampleNew_weakSecret() {
	_, err := token.New(token.Config{Secret: []byte("too short")})
	fmt.Println(errors.Is(err, token.ErrWeakSecret))
	fmt.Println(err)
	// Output:
	// true
	// token: secret too short: HS256 needs at least 32 bytes, got 9
}

func ExampleManager_JWKS() {
	// A fixed seed makes the output reproducible; use ed25519.GenerateKey.
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	m, err := token.New(token.Config{Algorithm: "EdDSA", SigningKey: key, SigningKeyID: "2025-01"})
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, err := m.JWKS()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(doc))
	// Output:
	// {"keys":[{"kty":"OKP","use":"sig","alg":"EdDSA","kid":"2025-01","crv":"Ed25519","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"}]}
}

func ExampleDigest() {
	// A store keeps the digest of a refresh token, never the token.
	fmt.Println(token.Digest("abc"))
	// Output:
	// ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
}

func ExampleNewVerifier() {
	// The issuer. The key is the example of RFC 8037, appendix A.1, so its
	// kid is the thumbprint of appendix A.3; in production,
	// token.ParsePrivateKeyPEM reads the key from a PKCS #8 file.
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now } // nil in production
	seed, _ := base64.RawURLEncoding.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	key := ed25519.NewKeyFromSeed(seed)
	issuer, err := token.New(token.Config{Algorithm: "EdDSA", SigningKey: key, Now: clock})
	if err != nil {
		fmt.Println(err)
		return
	}
	access, err := issuer.IssueAccess(token.Identity{UserID: "u-42", Username: "mike", Superuser: true})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Another service, with the issuer's public key from a PEM file.
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	keys, err := token.ParsePublicKeysPEM(publicPEM)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := token.NewVerifier(token.VerifierConfig{PublicKeys: keys, Now: clock})
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := v.Verify(context.Background(), access.Token, token.TypeAccess)
	switch {
	case errors.Is(err, token.ErrExpired):
		fmt.Println("expired, ask the client to refresh")
	case errors.Is(err, token.ErrInvalid):
		fmt.Println("invalid") // 401
	case err != nil:
		fmt.Println("keys unavailable") // 503; only with a JWKSURL
	default:
		fmt.Println("ok for", claims.Subject, "superuser:", claims.Superuser)
	}
	fmt.Println("kid", issuer.KeyID())

	_, err = v.Verify(context.Background(), access.Token, token.TypeRefresh)
	fmt.Println(errors.Is(err, token.ErrWrongType))
	// Output:
	// ok for mike superuser: true
	// kid kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k
	// true
}
