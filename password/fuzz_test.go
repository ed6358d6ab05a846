package password_test

import (
	"errors"
	"testing"

	"github.com/forgeauth/forgeauth/password"
)

// fuzzSeeds are PHC strings near the edges of the parser; more seeds live
// in testdata/fuzz.
func fuzzSeeds() []string {
	seeds := []string{
		goodHash,
		"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E",
		"$argon2id$v=19$m=262144,t=10,p=16$" + b64(64) + "$" + b64(128),
		"$argon2id$v=19$m=8,t=1,p=1$" + b64(8) + "$" + b64(16),
	}
	for _, c := range malformedCases() {
		if len(c.encoded) <= 2*password.MaxEncodedLength {
			seeds = append(seeds, c.encoded)
		}
	}
	return seeds
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		p, err := password.Decode(encoded)
		if err != nil {
			if !errors.Is(err, password.ErrMalformed) {
				t.Fatalf("Decode error %v does not wrap ErrMalformed", err)
			}
			if !password.NeedsRehash(encoded, password.DefaultParams()) {
				t.Fatal("NeedsRehash is false for an undecodable string")
			}
			return
		}
		if len(encoded) > password.MaxEncodedLength {
			t.Fatalf("decoded a string of %d bytes", len(encoded))
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded parameters %+v fail Validate: %v", p, err)
		}
		if password.NeedsRehash(encoded, p) {
			t.Fatalf("NeedsRehash(%q, its own params) = true", encoded)
		}
	})
}

// cheap bounds the parameters FuzzVerify actually hashes with, so the
// fuzzer explores the parser instead of waiting on Argon2.
func cheap(p password.Params) bool { return p.Memory <= 1024 && p.Iterations <= 2 }

func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(goodPassword, s)
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, pw, encoded string) {
		p, decodeErr := password.Decode(encoded)
		if decodeErr == nil && !cheap(p) {
			t.Skip("expensive parameters")
		}
		err := password.Verify(pw, encoded)
		switch {
		case decodeErr != nil:
			if !errors.Is(err, password.ErrMalformed) {
				t.Fatalf("Verify = %v for a string Decode refused (%v)", err, decodeErr)
			}
		case err != nil && !errors.Is(err, password.ErrMismatch):
			t.Fatalf("Verify = %v for a decodable string", err)
		}
	})
}
