package password_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/forgeauth/forgeauth/password"
)

func ExampleHash() {
	encoded, err := password.Hash("correct horse battery staple", password.DefaultParams(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The salt and key that follow are random; the parameters travel with them.
	fmt.Println(strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$"))
	// Output:
	// true
}

func ExampleVerify() {
	// A hash written by another Argon2id implementation (the reference
	// argon2 tool) verifies like one of ours.
	const stored = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E"

	for _, attempt := range []string{"password", "Password"} {
		err := password.Verify(attempt, stored)
		switch {
		case err == nil:
			fmt.Println(attempt, "matches")
		case errors.Is(err, password.ErrMismatch):
			fmt.Println(attempt, "does not match")
		default: // errors.Is(err, password.ErrMalformed): the stored hash is unusable
			fmt.Println(err)
		}
	}

	err := password.Verify("password", "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E")
	fmt.Println(errors.Is(err, password.ErrMalformed), err)
	// Output:
	// password matches
	// Password does not match
	// true password: malformed hash: not the argon2id variant
}

func ExampleNeedsRehash() {
	// A hash made with argon2-cffi's RFC 9106 profile, checked against the
	// current parameters after a successful login.
	const stored = "$argon2id$v=19$m=65536,t=3,p=4$MDEyMzQ1Njc4OWFiY2RlZg$kLzpSTDNCAUSvGXJn5rFoyJi1eJeCE/floSIew1DAiM"
	fmt.Println(password.NeedsRehash(stored, password.HighParams()))
	fmt.Println(password.NeedsRehash(stored, password.DefaultParams()))
	// Output:
	// false
	// true
}

func ExampleDecode() {
	p, err := password.Decode("$argon2id$v=19$m=64,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$YayMrsXN77LAnHSJIdVIpVs")
	fmt.Printf("%+v %v\n", p, err)

	_, err = password.Decode("$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$YayMrsXN77LAnHSJIdVIpVs")
	fmt.Println(err)
	// Output:
	// {Memory:64 Iterations:1 Parallelism:2 SaltLength:16 KeyLength:17} <nil>
	// password: malformed hash: memory 4194304 KiB over the cap of 262144 KiB
}

func ExampleHasher() {
	// Two hashes at once at most; a caller waits up to MaxWait (2 s by
	// default) for a slot, then gets ErrBusy.
	h, err := password.NewHasher(password.HasherConfig{MaxConcurrent: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if errors.Is(err, password.ErrBusy) {
		fmt.Println("try again later") // 503 with Retry-After
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Verify(ctx, "correct horse battery staple", encoded))
	fmt.Println(h.NeedsRehash(encoded))
	// Output:
	// <nil>
	// false
}

func ExamplePolicy_Check() {
	err := password.DefaultPolicy().Check("alice2024", "alice", "alice@example.com")
	var weak *password.ValidationError
	if errors.As(err, &weak) {
		for _, v := range weak.Violations {
			fmt.Printf("%s: %s\n", v.Rule, v.Message)
		}
	}
	fmt.Println(errors.Is(err, password.ErrWeak))

	fmt.Println(password.DefaultPolicy().Check("Gr8-Expectations!", "alice", "alice@example.com"))
	// Output:
	// password_no_upper: Password must contain at least one upper-case letter.
	// password_no_special: Password must contain at least one special character.
	// password_contains_user_info: Password must not contain the username or email.
	// true
	// <nil>
}

func ExampleNISTPolicy() {
	p := password.NISTPolicy()
	fmt.Println(p.Check("correct horse battery staple"))
	fmt.Println(p.Check("P@ssw0rd!"))
	// Output:
	// <nil>
	// password: does not meet the policy: Password is too common.
}
