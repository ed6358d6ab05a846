package totp

import (
	"encoding/base64"
	"fmt"

	// go-qrcode over rsc.io/qr: both are pure Go without dependencies and
	// neither has had a release in years, but go-qrcode scores the eight
	// data masks and keeps the best (ISO/IEC 18004 §7.8.3) while rsc.io/qr
	// always applies mask 0, which can leave patterns that cameras read
	// poorly. It also draws the quiet zone and writes a two-colour PNG
	// with the standard library's encoder.
	qrcode "github.com/skip2/go-qrcode"
)

// qrModulePixels is the width of one QR module in the image. An integer
// width keeps every module the same size. A URI from [URI] of 100 to 180
// bytes is version 6 to 9 at level M; with the four-module quiet zone the
// image is 294 to 366 pixels wide and about 1 KiB of PNG, sharp on
// screens and small in a JSON answer.
const qrModulePixels = 6

// QRDataURL returns a QR code of text, normally the URI from [URI], as a
// PNG image in a data URL ("data:image/png;base64,..."), ready for the src
// of an img element. The code uses error correction level M (15%) and the
// same text always gives the same image.
//
// QRDataURL returns an error when text is too long for a QR code at level
// M (over 2,331 bytes); URIs from [URI] are far shorter. Safe for
// concurrent use.
func QRDataURL(text string) (string, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("totp: encoding QR code: %w", err)
	}
	png, err := q.PNG(-qrModulePixels)
	if err != nil {
		return "", fmt.Errorf("totp: encoding QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}
