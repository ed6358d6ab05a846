package totp_test

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/totp"
)

func TestGenerateSecret(t *testing.T) {
	a, err := totp.GenerateSecret(nil)
	require.NoError(t, err)
	b, err := totp.GenerateSecret(nil)
	require.NoError(t, err)
	assert.Len(t, a, totp.SecretSize)
	assert.Len(t, a, 20, "160 bits")
	assert.NotEqual(t, a, b)

	fixed := bytes.Repeat([]byte{0xA5}, 32)
	c, err := totp.GenerateSecret(bytes.NewReader(fixed))
	require.NoError(t, err)
	assert.Equal(t, fixed[:20], c, "the secret is the first 20 bytes of the reader")

	// A reader that hands out one byte per call still fills the secret.
	d, err := totp.GenerateSecret(iotest.OneByteReader(bytes.NewReader(fixed)))
	require.NoError(t, err)
	assert.Equal(t, fixed[:20], d)
}

func TestGenerateSecretReaderFails(t *testing.T) {
	boom := errors.New("no entropy")
	tests := []struct {
		name    string
		r       io.Reader
		wantErr error
	}{
		{"error", iotest.ErrReader(boom), boom},
		{"short", bytes.NewReader(make([]byte, 19)), io.ErrUnexpectedEOF},
		{"empty", bytes.NewReader(nil), io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret, err := totp.GenerateSecret(tt.r)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Nil(t, secret)
			assert.True(t, strings.HasPrefix(err.Error(), "totp: "), err.Error())
		})
	}
}

func TestEncodeSecret(t *testing.T) {
	// RFC 4648 base32 of the RFC 4226 seed, as authenticator apps take it.
	assert.Equal(t, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", totp.EncodeSecret(rfcSecret))
	s := totp.EncodeSecret(make([]byte, 16))
	assert.Equal(t, "AAAAAAAAAAAAAAAAAAAAAAAAAA", s, "no padding")
}

func TestURI(t *testing.T) {
	const params = "&algorithm=SHA1&digits=6&period=30"
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	tests := []struct {
		name, issuer, account string
		want                  string
	}{
		{
			"plain", "Example", "alice@example.com",
			"otpauth://totp/Example:alice@example.com?secret=" + secret + "&issuer=Example" + params,
		},
		{
			"spaces", "Example Inc", "Alice Smith",
			"otpauth://totp/Example%20Inc:Alice%20Smith?secret=" + secret + "&issuer=Example%20Inc" + params,
		},
		{
			"colons", "ACME: Corp", "a:b",
			"otpauth://totp/ACME%3A%20Corp:a%3Ab?secret=" + secret + "&issuer=ACME%3A%20Corp" + params,
		},
		{
			"query characters", "A&B=C+D#E?F/G%", "x&secret=AAAA",
			"otpauth://totp/A%26B%3DC%2BD%23E%3FF%2FG%25:x%26secret%3DAAAA?secret=" + secret + "&issuer=A%26B%3DC%2BD%23E%3FF%2FG%25" + params,
		},
		{
			"unicode", "Zürich Bank", "élodie@例え.jp",
			"otpauth://totp/Z%C3%BCrich%20Bank:%C3%A9lodie@%E4%BE%8B%E3%81%88.jp?secret=" + secret + "&issuer=Z%C3%BCrich%20Bank" + params,
		},
		{
			"unreserved kept", "a-b.c_d~e", "f",
			"otpauth://totp/a-b.c_d~e:f?secret=" + secret + "&issuer=a-b.c_d~e" + params,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := totp.URI(rfcSecret, tt.issuer, tt.account)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			// What a URI parser reads back is what went in.
			u, err := url.Parse(got)
			require.NoError(t, err)
			assert.Equal(t, "otpauth", u.Scheme)
			assert.Equal(t, "totp", u.Host)
			q := u.Query()
			assert.Equal(t, url.Values{
				"secret": {secret}, "issuer": {tt.issuer},
				"algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"},
			}, q)
			label := strings.TrimPrefix(u.EscapedPath(), "/")
			require.Equal(t, 1, strings.Count(label, ":"), "one separator in %q", label)
			issuer, account, _ := strings.Cut(label, ":")
			gotIssuer, err := url.PathUnescape(issuer)
			require.NoError(t, err)
			gotAccount, err := url.PathUnescape(account)
			require.NoError(t, err)
			assert.Equal(t, tt.issuer, gotIssuer)
			assert.Equal(t, tt.account, gotAccount)
		})
	}
}

func TestURIInvalidLabel(t *testing.T) {
	tests := []struct{ name, issuer, account string }{
		{"empty issuer", "", "alice"},
		{"empty account", "Example", ""},
		{"invalid UTF-8 issuer", "Ex\xffample", "alice"},
		{"invalid UTF-8 account", "Example", "al\xc3ice"},
		{"newline", "Example", "alice\nbob"},
		{"tab", "Ex\tample", "alice"},
		{"NUL", "Example", "alice\x00"},
		{"DEL", "Example\x7f", "alice"},
		{"C1 control", "Example", "alice\u0085"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri, err := totp.URI(rfcSecret, tt.issuer, tt.account)
			require.ErrorIs(t, err, totp.ErrInvalidLabel)
			assert.Empty(t, uri)
		})
	}
}
