package httpauth

import "testing"

// The table holds exactly RFC 6750's b64token characters, byte by byte,
// and isB64Token applies the grammar's padding rule.
func TestB64TokenTable(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
	for c := 0; c < 256; c++ {
		want := false
		for i := 0; i < len(alphabet); i++ {
			want = want || alphabet[i] == byte(c)
		}
		if b64TokenChar[c] != want {
			t.Errorf("byte %#02x: in the table %v, in the grammar %v", c, b64TokenChar[c], want)
		}
		if got := isB64Token("a" + string(rune(c))); c < 0x80 && got != (want || c == '=') {
			t.Errorf("isB64Token(%q) = %v", "a"+string(rune(c)), got)
		}
	}
	for s, want := range map[string]bool{"": false, "=": false, "a=": true, "a==": true, "a=b": false, "a\xffb": false, alphabet: true} {
		if got := isB64Token(s); got != want {
			t.Errorf("isB64Token(%q) = %v, want %v", s, got, want)
		}
	}
}

func BenchmarkIsB64Token(b *testing.B) {
	tok := "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0." + string(make([]byte, 0)) +
		"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyLCJleHAiOjE1MTYyMzkwMjIsImlzcyI6ImZvcmdlYXV0aCIsImF1ZCI6ImZvcmdlYXV0aCIsInRva2VuX3R5cGUiOiJhY2Nlc3MiLCJqdGkiOiJhYmNkZWYxMjM0NTY3ODkwIiwic2lkIjoiMTIzNDU2Nzg5MCIsImFtciI6WyJwd2QiXX0." +
		"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if !isB64Token(tok) {
			b.Fatal("not a token")
		}
	}
}
