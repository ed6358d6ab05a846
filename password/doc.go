// Package password hashes and verifies passwords with Argon2id and checks
// their strength.
//
// Hashes are PHC strings, the format of the reference implementation and of
// argon2-cffi, so hashes move freely between those and this package:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// # Hashing
//
// [Hash] and [Verify] are the two calls; [ErrMismatch] is the one answer for
// a wrong password:
//
//	encoded, err := password.Hash(pw, password.DefaultParams(), nil)
//	...
//	switch err := password.Verify(pw, encoded); {
//	case err == nil:
//		if password.NeedsRehash(encoded, password.DefaultParams()) {
//			// store password.Hash(pw, ...) in place of encoded
//		}
//	case errors.Is(err, password.ErrMismatch):
//		// wrong password
//	default:
//		// errors.Is(err, password.ErrMalformed): the stored hash is unusable
//	}
//
// [DefaultParams] are the OWASP parameters (19 MiB, 2 passes, 1 lane);
// [HighParams] the RFC 9106 low-memory profile (64 MiB, 3 passes, 4 lanes).
// Any argon2id v=19 hash within the caps verifies whatever its parameters,
// and [NeedsRehash] tells when to upgrade it after a successful login.
// Until then a hash with older parameters may be cheaper to verify than a
// current one; [Decode] and [Params.Cost] tell a login that wants its
// timing even.
//
// # Untrusted hashes
//
// A stored hash is input like any other. [Decode], [Verify] and
// [NeedsRehash] refuse a string longer than [MaxEncodedLength] before
// parsing it, and parameters beyond the caps ([MaxMemory] and the
// constants beside it) before allocating anything proportional to them.
// Nothing in the package panics on any input.
//
// # Bounding memory
//
// Each hash holds its memory cost for its whole run, so a burst of logins is
// a memory burst. A server hashes through a [Hasher], which runs at most
// [HasherConfig.MaxConcurrent] hashes at once, lets the others wait for
// [HasherConfig.MaxWait] or until their context ends, and then answers
// [ErrBusy] (an HTTP layer maps it to 503 with Retry-After):
//
//	h, err := password.NewHasher(password.HasherConfig{})
//	...
//	encoded, err := h.Hash(ctx, pw)
//
// # Strength
//
// A [Policy] checks a new password and lists every rule it fails, each with
// a stable [Rule] code. [DefaultPolicy] holds composition rules (upper,
// lower, digit, special); [NISTPolicy] follows NIST SP 800-63B with length
// and a blocklist only. Both refuse the embedded list of common passwords
// and passwords that contain the username or email:
//
//	err := password.DefaultPolicy().Check(pw, username, email)
//	var weak *password.ValidationError
//	if errors.As(err, &weak) {
//		for _, v := range weak.Violations {
//			fmt.Println(v.Rule, v.Message)
//		}
//	}
//
// References:
//   - [RFC 9106] Argon2 Memory-Hard Function for Password Hashing
//   - [PHC string format]
//   - [OWASP Password Storage Cheat Sheet]
//   - [NIST SP 800-63B] Digital Identity Guidelines: Authentication
//
// [RFC 9106]: https://www.rfc-editor.org/rfc/rfc9106
// [PHC string format]: https://github.com/P-H-C/phc-string-format/blob/master/phc-sf-spec.md
// [OWASP Password Storage Cheat Sheet]: https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
// [NIST SP 800-63B]: https://pages.nist.gov/800-63-4/sp800-63b.html
package password
