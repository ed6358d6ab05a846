package totp_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/totp"
)

const dataURLPrefix = "data:image/png;base64,"

// decodeDataURL returns the image in a PNG data URL or fails the test.
func decodeDataURL(tb testing.TB, dataURL string) (image.Image, int) {
	tb.Helper()
	if !strings.HasPrefix(dataURL, dataURLPrefix) {
		tb.Fatalf("not a PNG data URL: %.40q", dataURL)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(dataURL, dataURLPrefix))
	if err != nil {
		tb.Fatalf("base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("png: %v", err)
	}
	return img, len(raw)
}

func TestQRDataURL(t *testing.T) {
	uri, err := totp.URI(rfcSecret, "Example Inc", "alice@example.com")
	require.NoError(t, err)
	got, err := totp.QRDataURL(uri)
	require.NoError(t, err)

	img, size := decodeDataURL(t, got)
	b := img.Bounds()
	assert.Equal(t, b.Dx(), b.Dy(), "square")
	assert.GreaterOrEqual(t, b.Dx(), 200, "big enough to scan from a screen")
	assert.LessOrEqual(t, b.Dx(), 400)
	assert.Zero(t, b.Dx()%6, "whole modules of 6 pixels")
	assert.Less(t, size, 4096, "small enough for a JSON answer")
	t.Logf("%d×%d pixels, %d bytes of PNG, %d bytes of data URL", b.Dx(), b.Dy(), size, len(got))

	// Two colours only; the quiet zone (4 modules) is white and the top
	// left finder pattern starts just inside it.
	black, white := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch g := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y; g {
			case 0:
				black++
			case 255:
				white++
			default:
				t.Fatalf("grey %d at %d,%d", g, x, y)
			}
		}
	}
	assert.Positive(t, black)
	assert.Positive(t, white)
	isBlack := func(x, y int) bool { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y == 0 }
	for _, p := range [][2]int{{0, 0}, {23, 23}, {b.Dx() - 1, b.Dy() - 1}, {b.Dx() - 24, 0}} {
		assert.False(t, isBlack(p[0], p[1]), "quiet zone at %v", p)
	}
	for _, p := range [][2]int{{24, 24}, {b.Dx() - 25, 24}, {24, b.Dy() - 25}} {
		assert.True(t, isBlack(p[0], p[1]), "finder pattern corner at %v", p)
	}
}

func TestQRDataURLDeterministic(t *testing.T) {
	a, err := totp.QRDataURL("otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	require.NoError(t, err)
	b, err := totp.QRDataURL("otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	require.NoError(t, err)
	c, err := totp.QRDataURL("otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJR")
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
}

func TestQRDataURLTooLong(t *testing.T) {
	// 2,331 bytes is the capacity of version 40 at level M in byte mode.
	max := strings.Repeat("a", 2331)
	got, err := totp.QRDataURL(max)
	require.NoError(t, err)
	img, _ := decodeDataURL(t, got)
	assert.Equal(t, (177+8)*6, img.Bounds().Dx(), "version 40: 177 modules and the quiet zone")

	got, err = totp.QRDataURL(max + "a")
	require.Error(t, err)
	assert.Empty(t, got)
	assert.True(t, strings.HasPrefix(err.Error(), "totp: encoding QR code: "), err.Error())
}
