package httpauth

import "strings"

// The device types derived from a User-Agent.
const (
	deviceDesktop = "desktop"
	deviceMobile  = "mobile"
	deviceTablet  = "tablet"
	deviceUnknown = "unknown"
)

// maxDeviceRunes bounds the device name, device type and user agent kept with
// a session.
const maxDeviceRunes = 256

// browserRule recognises a browser or client by a token of the User-Agent.
// The order of the rules matters: Edge and Opera also say "Chrome", Chrome
// also says "Safari".
type browserRule struct {
	token, name string
}

// parseUserAgent derives a device name ("Chrome on macOS", "curl", "Unknown
// device") and a device type ("desktop", "mobile", "tablet", "unknown") from a
// User-Agent header. It reads a few well-known tokens; it is meant for a
// session list a person reads, not for decisions.
func parseUserAgent(ua string) (name, typ string) {
	// An array, not a slice: it stays on the stack.
	rules := [...]browserRule{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"Edge/", "Edge"},
		{"OPR/", "Opera"}, {"OPT/", "Opera"}, {"Opera", "Opera"},
		{"SamsungBrowser/", "Samsung Internet"},
		{"YaBrowser/", "Yandex Browser"},
		{"Vivaldi/", "Vivaldi"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"MSIE ", "Internet Explorer"}, {"Trident/", "Internet Explorer"},
		{"curl/", "curl"}, {"Wget/", "Wget"}, {"Go-http-client/", "Go-http-client"},
		{"python-requests/", "python-requests"}, {"python-httpx/", "python-httpx"},
		{"aiohttp/", "aiohttp"}, {"okhttp/", "OkHttp"}, {"PostmanRuntime/", "Postman"},
		{"insomnia/", "Insomnia"}, {"axios/", "axios"}, {"node-fetch", "node-fetch"},
		{"Dart/", "Dart"}, {"HTTPie/", "HTTPie"}, {"Java/", "Java"},
		// Safari last: nearly every WebKit-based browser says "Safari".
		{"Safari/", "Safari"},
	}
	browser := ""
	for _, rule := range rules {
		if strings.Contains(ua, rule.token) {
			browser = rule.name
			break
		}
	}
	if browser == "Safari" && !strings.Contains(ua, "Version/") && !strings.Contains(ua, "Mobile/") {
		// Safari/ without Version/ is some other WebKit client.
		browser = ""
	}

	os, typ := "", deviceUnknown
	switch {
	case strings.Contains(ua, "iPad"):
		os, typ = "iPadOS", deviceTablet
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPod"):
		os, typ = "iOS", deviceMobile
	case strings.Contains(ua, "Windows Phone"):
		os, typ = "Windows Phone", deviceMobile
	case strings.Contains(ua, "Android"):
		// Android tablets leave "Mobile" out of their User-Agent.
		os, typ = "Android", deviceTablet
		if strings.Contains(ua, "Mobile") {
			typ = deviceMobile
		}
	case strings.Contains(ua, "Windows"):
		os, typ = "Windows", deviceDesktop
	case strings.Contains(ua, "CrOS"):
		os, typ = "ChromeOS", deviceDesktop
	case strings.Contains(ua, "Macintosh"), strings.Contains(ua, "Mac OS X"):
		os, typ = "macOS", deviceDesktop
	case strings.Contains(ua, "Linux"), strings.Contains(ua, "X11"):
		os, typ = "Linux", deviceDesktop
	}

	switch {
	case browser != "" && os != "":
		name = browser + " on " + os
	case browser != "":
		name = browser
	case os != "":
		name = "Unknown browser on " + os
	default:
		name = "Unknown device"
	}
	return name, typ
}

// clean makes s valid UTF-8 without control characters and cuts it to max
// runes, on a rune boundary.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return truncateRunes(s, max)
}

// truncateRunes returns the first max runes of s.
func truncateRunes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}
