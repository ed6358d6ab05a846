// Package fakeauthn is a software WebAuthn authenticator, together with the
// small part of a browser that wraps it, for tests only. It lets a test play
// the user's side of a passkey ceremony against a relying party without a
// browser or a security key: it reads the options JSON the server sends and
// answers with the PublicKeyCredential JSON that a browser's toJSON() would
// produce, which the test then posts back to the server.
//
// The authenticator makes ES256 (ECDSA P-256) credentials with attestation
// format "none" and keeps every credential it makes as a discoverable one, so
// that a later login may name the credential in allowCredentials or leave the
// choice to the authenticator. It checks what a browser would check before it
// signs: the RP ID against the origin, ES256 among pubKeyCredParams, the
// excludeCredentials list, the length of the user handle. It never checks
// what only the relying party can check; that is the point of the package.
//
// The fields of [Authenticator] set the flags and the counter it reports, and
// the [Option] values change one response in one way each (the challenge, the
// origin, the RP ID hash, the ceremony type, the counter, the signature, the
// user handle), so that a test can show that the relying party refuses it.
// The keys are generated in memory and are worthless outside the test that
// made them; nothing in the module may use this package outside its tests.
//
// A test drives it like this, with postJSON standing for however the test
// talks to its server:
//
//	a := fakeauthn.New("http://localhost:8080")
//
//	opts := postJSON(t, "/passkeys/register/begin", nil) // {"publicKey":{...}}
//	regJSON, cred, err := a.Create(opts)
//	if err != nil {
//		t.Fatal(err)
//	}
//	postJSON(t, "/passkeys/register/finish", regJSON)
//
//	opts = postJSON(t, "/passkeys/login/begin", nil)
//	loginJSON, err := a.Get(opts)
//	if err != nil {
//		t.Fatal(err)
//	}
//	postJSON(t, "/passkeys/login/finish", loginJSON) // signs in
//
//	// The same login from a phishing page must be refused.
//	opts = postJSON(t, "/passkeys/login/begin", nil)
//	bad, _ := a.Get(opts, fakeauthn.WithOrigin("https://evil.example"))
//	postJSON(t, "/passkeys/login/finish", bad) // expect 4xx
//
//	// A counter that goes backwards hints at a cloned key; go-webauthn
//	// accepts the login but sets CloneWarning on the credential.
//	cred.Counter = 0 // the next assertion reports 1 again
package fakeauthn
