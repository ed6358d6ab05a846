package loadstat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoPeak is returned, wrapped, by [ParseVmHWM] and [PeakRSS] when the
// status text has no usable VmHWM line.
var ErrNoPeak = errors.New("loadstat: no VmHWM line")

// Percentile returns the p-th percentile (0 < p <= 100) of d by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. It returns 0 for an empty d and the minimum for p <= 0. d is
// not modified.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Median returns [Percentile](d, 50).
func Median(d []time.Duration) time.Duration { return Percentile(d, 50) }

// ParseVmHWM reads a /proc/<pid>/status text and returns its VmHWM (the
// peak resident set size) in bytes. It returns an error wrapping
// [ErrNoPeak] when there is no VmHWM line in kB, and the reader's error.
func ParseVmHWM(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: malformed line %q", ErrNoPeak, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("%w: malformed line %q", ErrNoPeak, sc.Text())
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("loadstat: reading status: %w", err)
	}
	return 0, ErrNoPeak
}

// PeakRSS returns the peak resident set size of the live process pid, in
// bytes, from /proc/<pid>/status. It returns the error of opening the file
// (the process is gone, or this is not Linux) or of [ParseVmHWM].
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("loadstat: %w", err)
	}
	defer f.Close()
	return ParseVmHWM(f)
}

// MiB converts bytes to mebibytes.
func MiB(b int64) float64 { return float64(b) / (1 << 20) }
