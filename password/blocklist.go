package password

import (
	_ "embed"
	"strings"
	"sync"
)

// blocklistText is the list of common passwords, one per line; blank lines
// and lines starting with "#" are ignored.
//
//go:embed blocklist.txt
var blocklistText string

// blocklist parses the embedded list once, on first use, into a set of
// lower-cased entries. The set is never modified afterwards.
var blocklist = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 1024)
	for line := range strings.Lines(blocklistText) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

// isCommon reports whether folded, a lower-cased password, is in the
// blocklist.
func isCommon(folded string) bool {
	_, ok := blocklist()[folded]
	return ok
}
