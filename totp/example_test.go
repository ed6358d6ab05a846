package totp_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/forgeauth/forgeauth/totp"
)

func ExampleValidate() {
	secret := []byte("12345678901234567890") // the RFC 6238 test seed
	now := time.Unix(1234567890, 0)

	// The code the app showed 30 seconds ago is still accepted, and the
	// step it belongs to is reported.
	code, _ := totp.Code(secret, now.Add(-30*time.Second))
	step, err := totp.Validate(secret, code, now)
	fmt.Println(code, step, err)

	// The caller spends the step atomically; a second use of the same
	// step, or of an older one, is a replay.
	lastUsed := step
	step, _ = totp.Validate(secret, code, now)
	fmt.Println("replay:", step <= lastUsed)

	// A code two steps away is outside the window.
	code, _ = totp.Code(secret, now.Add(-60*time.Second))
	_, err = totp.Validate(secret, code, now)
	fmt.Println(errors.Is(err, totp.ErrInvalidCode), err)
	// Output:
	// 980357 41152262 <nil>
	// replay: true
	// true totp: invalid code
}

func ExampleGenerateSecret() {
	// A fixed reader stands in for crypto/rand (pass nil in a server).
	secret, err := totp.GenerateSecret(strings.NewReader("12345678901234567890"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(totp.EncodeSecret(secret))
	uri, err := totp.URI(secret, "Example Inc", "alice@example.com")
	fmt.Println(uri, err)
	// Output:
	// GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
	// otpauth://totp/Example%20Inc:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Inc&algorithm=SHA1&digits=6&period=30 <nil>
}

func ExampleQRDataURL() {
	uri, _ := totp.URI([]byte("12345678901234567890"), "Example Inc", "alice@example.com")
	qr, err := totp.QRDataURL(uri)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(qr[:len("data:image/png;base64,")])
	// Output:
	// data:image/png;base64,
}

func ExampleGenerateRecoveryCodes() {
	// A fixed reader stands in for crypto/rand; 0 and nil give ten codes
	// from crypto/rand.
	random := strings.NewReader("three codes: 8 bytes each")
	codes, err := totp.GenerateRecoveryCodes(3, random)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(codes)

	key := bytes.Repeat([]byte{1}, totp.KeySize)
	stored, _ := totp.RecoveryCodeDigest(key, "user-1", codes[0])
	// What the user types later, in lower case without the dashes.
	typed, _ := totp.RecoveryCodeDigest(key, "user-1", strings.ToLower(strings.ReplaceAll(codes[0], "-", "")))
	fmt.Println(typed == stored)
	// Output:
	// [FVR0-JJNC-J3T8 238G-3G87-KBS8 3BRA-6GCE-53XJ]
	// true
}

func ExampleNormalizeRecoveryCode() {
	for _, typed := range []string{"7k3m q9tx v2cd", "7K3M-Q9TX-V2CO", "7K3M-Q9TX"} {
		code, err := totp.NormalizeRecoveryCode(typed)
		fmt.Printf("%q %v\n", code, err)
	}
	// Output:
	// "7K3M-Q9TX-V2CD" <nil>
	// "7K3M-Q9TX-V2C0" <nil>
	// "" totp: invalid code
}

func ExampleSealSecret() {
	// No key configured: derive one from the JWT secret.
	jwtSecret := []byte("a-32-byte-or-longer-HS256-secret!")
	key, err := totp.DeriveKey(jwtSecret, totp.DefaultKeyInfo)
	if err != nil {
		fmt.Println(err)
		return
	}
	secret := []byte("12345678901234567890")
	sealed, err := totp.SealSecret(key, "user-1", secret, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(sealed), sealed[0])

	opened, err := totp.OpenSecret(key, "user-1", sealed)
	fmt.Println(string(opened), err)

	// The same row copied to another user does not open.
	_, err = totp.OpenSecret(key, "user-2", sealed)
	fmt.Println(err)
	// Output:
	// 49 1
	// 12345678901234567890 <nil>
	// totp: cannot decrypt secret
}
