package httpauth_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/forgeauth/forgeauth/httpauth"
)

func TestParseUserAgent(t *testing.T) {
	tests := []struct {
		name, ua, wantName, wantType string
	}{
		{"chrome mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "Chrome on macOS", "desktop"},
		{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "Chrome on Windows", "desktop"},
		{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51", "Edge on Windows", "desktop"},
		{"opera linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0", "Opera on Linux", "desktop"},
		{"firefox linux", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "Firefox on Linux", "desktop"},
		{"firefox android phone", "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", "Firefox on Android", "mobile"},
		{"firefox android tablet", "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", "Firefox on Android", "tablet"},
		{"safari mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", "Safari on macOS", "desktop"},
		{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Safari on iOS", "mobile"},
		{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Safari on iPadOS", "tablet"},
		{"chrome ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", "Chrome on iOS", "mobile"},
		{"firefox ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15", "Firefox on iOS", "mobile"},
		{"chrome android phone", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "Chrome on Android", "mobile"},
		{"chrome android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "Chrome on Android", "tablet"},
		{"samsung", "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android", "mobile"},
		{"chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "Chrome on ChromeOS", "desktop"},
		{"internet explorer", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer on Windows", "desktop"},
		{"curl", "curl/8.5.0", "curl", "unknown"},
		{"go", "Go-http-client/1.1", "Go-http-client", "unknown"},
		{"python requests", "python-requests/2.31.0", "python-requests", "unknown"},
		{"okhttp", "okhttp/4.12.0", "OkHttp", "unknown"},
		{"postman", "PostmanRuntime/7.37.3", "Postman", "unknown"},
		{"webkit without version", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15", "Unknown browser on macOS", "desktop"},
		{"os only", "SomeApp/1.0 (Linux)", "Unknown browser on Linux", "desktop"},
		{"empty", "", "Unknown device", "unknown"},
		{"garbage", "\x00\xff{}", "Unknown device", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, typ := httpauth.ParseUserAgent(tt.ua)
			assert.Equal(t, tt.wantName, name)
			assert.Equal(t, tt.wantType, typ)
		})
	}
}

func TestClean(t *testing.T) {
	long := strings.Repeat("é", 300) // 2 bytes each
	tests := []struct {
		name, in, want string
	}{
		{"short", "Chrome on macOS", "Chrome on macOS"},
		{"cut on a rune boundary", long, strings.Repeat("é", 256)},
		{"exactly the limit", strings.Repeat("a", 256), strings.Repeat("a", 256)},
		{"invalid utf-8 replaced", "a\xffb", "a\uFFFDb"},
		{"control characters dropped", "a\r\nb\x00c\x7f", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := httpauth.Clean(tt.in, 256)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
			assert.LessOrEqual(t, utf8.RuneCountInString(got), 256)
		})
	}
}
