// Package totp provides the pieces of a second factor: time-based one-time
// passwords (RFC 6238) with the secret, URI and QR code an authenticator
// app needs, recovery codes, and the encryption of the secret at rest.
//
// The package holds no state and does no I/O. Remembering which code was
// spent, which recovery codes are left and whose secret is whose is the
// caller's, through its store.
//
// # Enrolment
//
// Generate a secret, keep it sealed, and show it once:
//
//	secret, err := totp.GenerateSecret(nil)
//	...
//	sealed, err := totp.SealSecret(key, user.ID, secret, nil) // store this
//	uri, err := totp.URI(secret, "Example Inc", user.Email)
//	qr, err := totp.QRDataURL(uri) // data:image/png;base64,...
//	// answer {secret: totp.EncodeSecret(secret), otpauth_uri: uri, qr_png: qr}
//
// The parameters are those of every authenticator app and are not
// configurable: HMAC-SHA-1, [Digits] digits, a [Period] of 30 seconds,
// [Skew] step either side, a secret of [SecretSize] bytes.
//
// # Verification
//
// [Validate] returns the time step that matched. The caller spends the
// step with an atomic compare in its store, accepting it only if it is
// greater than the last step the user spent; that refuses a replay, on
// this instance or another:
//
//	secret, err := totp.OpenSecret(key, user.ID, sealed)
//	...
//	step, err := totp.Validate(secret, code, now)
//	if errors.Is(err, totp.ErrInvalidCode) {
//		// 400 invalid_code
//	}
//	// UPDATE ... SET totp_last_step = step WHERE user_id = ? AND totp_last_step < step
//	// no row changed: the code was already used
//
// # Recovery codes
//
// [GenerateRecoveryCodes] makes ten codes such as "7K3M-Q9TX-V2CD", each
// of [RecoveryCodeBits] random bits. Show them once and store only
// [RecoveryCodeDigest] of each; digest what the user types the same way
// ([NormalizeRecoveryCode] forgives case, spaces, dashes, and O, I, L for
// 0, 1, 1) and spend the matching row atomically.
//
// # Keys
//
// [SealSecret] and [OpenSecret] take a [KeySize]-byte AES-256 key, and
// [RecoveryCodeDigest] a server key at least as long. A service that
// configures none derives them with [DeriveKey] from a secret it holds,
// such as the HS256 JWT secret, with a different info string for each
// purpose ([DefaultKeyInfo] for sealing).
//
// Every function is safe for concurrent use (with a random reader that
// is, where one is taken; nil means crypto/rand).
//
// References:
//   - [RFC 4226] HOTP: An HMAC-Based One-Time Password Algorithm
//   - [RFC 6238] TOTP: Time-Based One-Time Password Algorithm
//   - [Key Uri Format] of the otpauth URI
//   - [RFC 5869] HMAC-based Extract-and-Expand Key Derivation Function
//
// [RFC 4226]: https://www.rfc-editor.org/rfc/rfc4226
// [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238
// [Key Uri Format]: https://github.com/google/google-authenticator/wiki/Key-Uri-Format
// [RFC 5869]: https://www.rfc-editor.org/rfc/rfc5869
package totp
