//go:build race

package token

// raceEnabled: the race detector makes sync.Pool drop items, so counts of
// allocations do not hold.
const raceEnabled = true
