package password_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/password"
)

func TestParamsValidate(t *testing.T) {
	with := func(f func(*password.Params)) password.Params {
		p := fastParams()
		f(&p)
		return p
	}
	tests := []struct {
		name    string
		p       password.Params
		wantErr bool
	}{
		{"default", password.DefaultParams(), false},
		{"high", password.HighParams(), false},
		{"fast", fastParams(), false},
		{"zero", password.Params{}, true},
		{"memory at cap", with(func(p *password.Params) { p.Memory = password.MaxMemory }), false},
		{"memory over cap", with(func(p *password.Params) { p.Memory = password.MaxMemory + 1 }), true},
		{"memory 8 per lane", with(func(p *password.Params) { p.Memory, p.Parallelism = 32, 4 }), false},
		{"memory under 8 per lane", with(func(p *password.Params) { p.Memory, p.Parallelism = 31, 4 }), true},
		{"memory max uint32", with(func(p *password.Params) { p.Memory = 1<<32 - 1 }), true},
		{"iterations 0", with(func(p *password.Params) { p.Iterations = 0 }), true},
		{"iterations 10", with(func(p *password.Params) { p.Iterations = 10 }), false},
		{"iterations 11", with(func(p *password.Params) { p.Iterations = 11 }), true},
		{"parallelism 0", with(func(p *password.Params) { p.Parallelism = 0 }), true},
		{"parallelism 16", with(func(p *password.Params) { p.Memory, p.Parallelism = 128, 16 }), false},
		{"parallelism 17", with(func(p *password.Params) { p.Memory, p.Parallelism = 256, 17 }), true},
		{"salt 7", with(func(p *password.Params) { p.SaltLength = 7 }), true},
		{"salt 8", with(func(p *password.Params) { p.SaltLength = 8 }), false},
		{"salt 64", with(func(p *password.Params) { p.SaltLength = 64 }), false},
		{"salt 65", with(func(p *password.Params) { p.SaltLength = 65 }), true},
		{"key 15", with(func(p *password.Params) { p.KeyLength = 15 }), true},
		{"key 16", with(func(p *password.Params) { p.KeyLength = 16 }), false},
		{"key 128", with(func(p *password.Params) { p.KeyLength = 128 }), false},
		{"key 129", with(func(p *password.Params) { p.KeyLength = 129 }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, password.ErrInvalidParams)
			assert.True(t, strings.HasPrefix(err.Error(), "password: invalid parameters: "), err.Error())
		})
	}
}

func TestDefaultAndHighParams(t *testing.T) {
	assert.Equal(t, password.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}, password.DefaultParams())
	assert.Equal(t, password.Params{Memory: 65536, Iterations: 3, Parallelism: 4, SaltLength: 16, KeyLength: 32}, password.HighParams())
}

func TestHashAndVerify(t *testing.T) {
	p := fastParams()
	a := mustHash(t, "s3cret pässword", p)
	b := mustHash(t, "s3cret pässword", p)
	assert.NotEqual(t, a, b, "two hashes of one password must differ (fresh salt)")
	assert.True(t, strings.HasPrefix(a, "$argon2id$v=19$m=64,t=1,p=1$"), a)

	tests := []struct {
		name    string
		pw      string
		wantErr error
	}{
		{"same password", "s3cret pässword", nil},
		{"other password", "s3cret password", password.ErrMismatch},
		{"case differs", "S3cret pässword", password.ErrMismatch},
		{"trailing space", "s3cret pässword ", password.ErrMismatch},
		{"empty", "", password.ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, encoded := range []string{a, b} {
				err := password.Verify(tt.pw, encoded)
				if tt.wantErr == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tt.wantErr)
					assert.NotErrorIs(t, err, password.ErrMalformed)
				}
			}
		})
	}
}

func TestHashDefaultParams(t *testing.T) {
	encoded := mustHash(t, "correct horse", password.DefaultParams())
	got, err := password.Decode(encoded)
	require.NoError(t, err)
	assert.Equal(t, password.DefaultParams(), got)
	require.NoError(t, password.Verify("correct horse", encoded))
	assert.False(t, password.NeedsRehash(encoded, password.DefaultParams()))
}

// TestHashKnownAnswer checks the encoding byte for byte against the string
// the reference argon2 tool printed for the same input (testdata vector).
func TestHashKnownAnswer(t *testing.T) {
	p := password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 8, KeyLength: 32}
	got, err := password.Hash("eight-byte salt", p, strings.NewReader("8bytes!!"))
	require.NoError(t, err)
	assert.Equal(t, "$argon2id$v=19$m=64,t=1,p=1$OGJ5dGVzISE$Yl1H0irEFWhigmZdNyrxy6oX3DjA+h1nQyp4dFeS6kc", got)
}

func TestHashErrors(t *testing.T) {
	errRand := errors.New("entropy exhausted")
	tests := []struct {
		name    string
		p       password.Params
		rand    io.Reader
		wantErr error
	}{
		{"zero params", password.Params{}, nil, password.ErrInvalidParams},
		{"t=0 never reaches argon2", password.Params{Memory: 64, Iterations: 0, Parallelism: 1, SaltLength: 16, KeyLength: 32}, nil, password.ErrInvalidParams},
		{"p=0 never reaches argon2", password.Params{Memory: 64, Iterations: 1, Parallelism: 0, SaltLength: 16, KeyLength: 32}, nil, password.ErrInvalidParams},
		{"rand fails", fastParams(), iotest.ErrReader(errRand), errRand},
		{"rand short", fastParams(), bytes.NewReader(make([]byte, 5)), io.ErrUnexpectedEOF},
		{"rand empty", fastParams(), bytes.NewReader(nil), io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := password.Hash("pw", tt.p, tt.rand)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Empty(t, got)
			assert.True(t, strings.HasPrefix(err.Error(), "password: "), err.Error())
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		encoded string
		want    password.Params
	}{
		{"default", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E",
			password.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 8, KeyLength: 32}},
		{"odd key, p=2", "$argon2id$v=19$m=64,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$YayMrsXN77LAnHSJIdVIpVs",
			password.Params{Memory: 64, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 17}},
		{"16-byte key", "$argon2id$v=19$m=102400,t=2,p=8$FaPkh1dhMJ6LGNCqw0IF4A$tC4WSc6j8rBBHh3jcMRMOQ",
			password.Params{Memory: 102400, Iterations: 2, Parallelism: 8, SaltLength: 16, KeyLength: 16}},
		{"at every cap", "$argon2id$v=19$m=262144,t=10,p=16$" + b64(64) + "$" + b64(128),
			password.Params{Memory: 262144, Iterations: 10, Parallelism: 16, SaltLength: 64, KeyLength: 128}},
		{"at every floor", "$argon2id$v=19$m=8,t=1,p=1$" + b64(8) + "$" + b64(16),
			password.Params{Memory: 8, Iterations: 1, Parallelism: 1, SaltLength: 8, KeyLength: 16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := password.Decode(tt.encoded)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.NoError(t, got.Validate())
		})
	}
}

// b64 returns the unpadded base64 of n zero-free bytes, for building PHC
// strings of a chosen salt or key length.
func b64(n int) string {
	return strings.TrimRight(base64Std(bytes.Repeat([]byte{0xA5}, n)), "=")
}

// A valid, cheap hash (from the argon2 tool) and its pieces, mangled by the
// malformed table.
const (
	goodPassword = "p>1 and odd key"
	goodSalt     = "c29tZXNhbHRzb21lc2FsdA"
	goodKey      = "YayMrsXN77LAnHSJIdVIpVs"
	goodHash     = "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$" + goodKey
)

func malformedCases() []struct{ name, encoded string } {
	// flipLast changes the last base64 character so that its unused
	// trailing bits are not zero: a non-canonical encoding of the same bytes.
	flipLast := func(s string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		i := strings.IndexByte(alphabet, s[len(s)-1])
		return s[:len(s)-1] + string(alphabet[i^1])
	}
	return []struct{ name, encoded string }{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"upper-case variant", "$ARGON2ID$v=19$m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"no leading dollar", "argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"v=16", "$argon2id$v=16$m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"v=20", "$argon2id$v=20$m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"v=019", "$argon2id$v=019$m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"no version (old format)", "$argon2id$m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"only prefix", "$argon2id$"},
		{"only version", "$argon2id$v=19"},
		{"no salt or key", "$argon2id$v=19$m=64,t=1,p=2"},
		{"no key", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt},
		{"empty key", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$"},
		{"empty salt", "$argon2id$v=19$m=64,t=1,p=2$$" + goodKey},
		{"extra field", goodHash + "$" + goodKey},
		{"trailing dollar", goodHash + "$"},
		{"trailing newline", goodHash + "\n"},
		{"trailing space", goodHash + " "},
		{"leading space", " " + goodHash},
		{"bad base64 salt", "$argon2id$v=19$m=64,t=1,p=2$c29t!ZXNhbHRzb21lc2FsdA$" + goodKey},
		{"bad base64 key", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$YayMrsXN77LAnHSJIdVIp*s"},
		{"url alphabet", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$YayMrsXN77LAnHSJIdVIp_s"},
		{"line break in salt", "$argon2id$v=19$m=64,t=1,p=2$c29tZXNhbHRz\nb21lc2FsdA$" + goodKey},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "==$" + goodKey},
		{"padded key", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$" + goodKey + "="},
		{"base64 length 4n+1", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$" + goodKey + "AA"},
		{"non-canonical trailing bits in key", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$" + flipLast(goodKey)},
		{"non-canonical trailing bits in salt", "$argon2id$v=19$m=64,t=1,p=2$" + flipLast(goodSalt) + "$" + goodKey},
		{"m over cap", "$argon2id$v=19$m=262145,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"m 4 GiB", "$argon2id$v=19$m=4194304,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"m max uint32", "$argon2id$v=19$m=4294967295,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"m over uint32", "$argon2id$v=19$m=4294967296,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"m huge", "$argon2id$v=19$m=99999999999999999999999999,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"m under 8 per lane", "$argon2id$v=19$m=15,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"m=0", "$argon2id$v=19$m=0,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"t=0", "$argon2id$v=19$m=64,t=0,p=2$" + goodSalt + "$" + goodKey},
		{"t=11", "$argon2id$v=19$m=64,t=11,p=2$" + goodSalt + "$" + goodKey},
		{"t huge", "$argon2id$v=19$m=64,t=18446744073709551617,p=2$" + goodSalt + "$" + goodKey},
		{"p=0", "$argon2id$v=19$m=64,t=1,p=0$" + goodSalt + "$" + goodKey},
		{"p=17", "$argon2id$v=19$m=256,t=1,p=17$" + goodSalt + "$" + goodKey},
		{"p=256 wraps uint8 to 0", "$argon2id$v=19$m=4096,t=1,p=256$" + goodSalt + "$" + goodKey},
		{"p=257 wraps uint8 to 1", "$argon2id$v=19$m=4096,t=1,p=257$" + goodSalt + "$" + goodKey},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"minus sign", "$argon2id$v=19$m=-64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"hex", "$argon2id$v=19$m=0x40,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"empty number", "$argon2id$v=19$m=,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"space in params", "$argon2id$v=19$m=64, t=1,p=2$" + goodSalt + "$" + goodKey},
		{"params out of order", "$argon2id$v=19$t=1,m=64,p=2$" + goodSalt + "$" + goodKey},
		{"param missing", "$argon2id$v=19$m=64,t=1$" + goodSalt + "$" + goodKey},
		{"param repeated", "$argon2id$v=19$m=64,m=64,t=1,p=2$" + goodSalt + "$" + goodKey},
		{"extra param keyid", "$argon2id$v=19$m=64,t=1,p=2,keyid=AAAA$" + goodSalt + "$" + goodKey},
		{"extra param data", "$argon2id$v=19$m=64,t=1,p=2,data=AAAA$" + goodSalt + "$" + goodKey},
		{"salt 7 bytes", "$argon2id$v=19$m=64,t=1,p=2$" + b64(7) + "$" + goodKey},
		{"salt 65 bytes", "$argon2id$v=19$m=64,t=1,p=2$" + b64(65) + "$" + goodKey},
		{"key 15 bytes", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$" + b64(15)},
		{"key 129 bytes", "$argon2id$v=19$m=64,t=1,p=2$" + goodSalt + "$" + b64(129)},
		{"over MaxEncodedLength", goodHash + strings.Repeat("A", password.MaxEncodedLength)},
		{"1 MB", strings.Repeat("$argon2id$v=19$", 1<<20/15)},
		{"NUL", goodHash[:20] + "\x00" + goodHash[21:]},
		{"invalid UTF-8", goodHash[:20] + "\xff" + goodHash[21:]},
	}
}

func TestMalformed(t *testing.T) {
	require.NoError(t, password.Verify(goodPassword, goodHash), "the base of the table must be valid")
	for _, tt := range malformedCases() {
		t.Run(tt.name, func(t *testing.T) {
			_, err := password.Decode(tt.encoded)
			require.ErrorIs(t, err, password.ErrMalformed)
			assert.True(t, strings.HasPrefix(err.Error(), "password: malformed hash"), err.Error())
			for _, secret := range []string{goodSalt, goodKey} {
				assert.NotContains(t, err.Error(), secret, "the error must not quote the hash")
			}

			err = password.Verify(goodPassword, tt.encoded)
			require.ErrorIs(t, err, password.ErrMalformed)
			assert.NotErrorIs(t, err, password.ErrMismatch)

			assert.True(t, password.NeedsRehash(tt.encoded, fastParams()))
		})
	}
}

// TestMalformedAllocatesLittle checks that strings announcing huge costs are
// refused before anything proportional to those costs is allocated.
func TestMalformedAllocatesLittle(t *testing.T) {
	tests := []string{
		// Every parameter at its cap, then a defect found only late.
		"$argon2id$v=19$m=262144,t=10,p=16$" + b64(64) + "$" + b64(128)[1:],
		"$argon2id$v=19$m=262144,t=10,p=16$" + b64(64) + "$" + b64(128) + "=",
		"$argon2id$v=19$m=262145,t=10,p=16$" + b64(64) + "$" + b64(128),
		"$argon2id$v=19$m=4294967295,t=4294967295,p=255$" + b64(64) + "$" + b64(128),
		strings.Repeat("x", 1<<20),
	}
	for i, encoded := range tests {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := password.Verify("pw", encoded)
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, password.ErrMalformed, "case %d", i)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "case %d allocated too much", i)
	}
}

func TestNeedsRehash(t *testing.T) {
	p := fastParams()
	encoded := mustHash(t, "pw", p)
	tests := []struct {
		name string
		p    password.Params
		want bool
	}{
		{"same params", p, false},
		{"more memory", password.Params{Memory: 128, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, true},
		{"more iterations", password.Params{Memory: 64, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}, true},
		{"more lanes", password.Params{Memory: 64, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}, true},
		{"longer salt", password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 32, KeyLength: 32}, true},
		{"shorter key", password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16}, true},
		{"old params to default", password.DefaultParams(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, password.NeedsRehash(encoded, tt.p))
		})
	}
	t.Run("unparsable", func(t *testing.T) {
		assert.True(t, password.NeedsRehash("", p))
		assert.True(t, password.NeedsRehash("$argon2i$v=19$m=64,t=1,p=1$"+goodSalt+"$"+goodKey, p))
	})
}

func TestParamsCost(t *testing.T) {
	tests := []struct {
		name string
		p    password.Params
		want uint64
	}{
		{"default", password.DefaultParams(), 19456 * 2},
		{"high", password.HighParams(), 65536 * 3},
		{"lanes do not change the work", password.Params{Memory: 19456, Iterations: 2, Parallelism: 4, SaltLength: 16, KeyLength: 32}, 19456 * 2},
		{"salt and key do not change the work", password.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 64, KeyLength: 128}, 19456 * 2},
		{"largest", password.Params{Memory: password.MaxMemory, Iterations: password.MaxIterations}, password.MaxMemory * password.MaxIterations},
		{"zero", password.Params{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.p.Cost())
		})
	}
}

// TestCostOfStoredHash is the check a login makes: is a stored hash cheaper
// to verify than one made with the current parameters?
func TestCostOfStoredHash(t *testing.T) {
	current := password.DefaultParams()
	tests := []struct {
		name    string
		encoded string
		cheaper bool
	}{
		{"older, cheaper parameters", "$argon2id$v=19$m=4096,t=3,p=1$" + goodSalt + "$" + goodKey, true},
		{"fewer passes", "$argon2id$v=19$m=19456,t=1,p=1$" + goodSalt + "$" + goodKey, true},
		{"current parameters", mustHash(t, "pw", current), false},
		{"more lanes, same work", "$argon2id$v=19$m=19456,t=2,p=4$" + goodSalt + "$" + goodKey, false},
		{"dearer parameters", "$argon2id$v=19$m=65536,t=3,p=4$" + goodSalt + "$" + goodKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := password.Decode(tt.encoded)
			require.NoError(t, err)
			assert.Equal(t, tt.cheaper, stored.Cost() < current.Cost())
		})
	}
	_, err := password.Decode("$argon2id$v=19$m=4096,t=3,p=1$" + goodSalt)
	require.ErrorIs(t, err, password.ErrMalformed, "a hash that cannot be read has no cost")
}
