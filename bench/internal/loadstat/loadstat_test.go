package loadstat_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/forgeauth/forgeauth/bench/internal/loadstat"
)

func ms(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x) * time.Millisecond
	}
	return d
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name string
		d    []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median odd", ms(5, 1, 3), 50, 3 * time.Millisecond},
		{"median even takes the lower", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(seq(100)...), 99, 99 * time.Millisecond},
		{"p99 of 10 is the max", ms(seq(10)...), 99, 10 * time.Millisecond},
		{"p100", ms(3, 9, 1), 100, 9 * time.Millisecond},
		{"p0 is the min", ms(3, 9, 1), 0, time.Millisecond},
		{"over 100 is the max", ms(3, 9, 1), 150, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadstat.Percentile(tt.d, tt.p); got != tt.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tt.d, tt.p, got, tt.want)
			}
		})
	}
}

func TestPercentileLeavesInputAlone(t *testing.T) {
	d := ms(3, 1, 2)
	loadstat.Median(d)
	if d[0] != 3*time.Millisecond || d[1] != time.Millisecond {
		t.Fatalf("input reordered: %v", d)
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr error
	}{
		{"linux status", "Name:\tforgeauth\nVmPeak:\t 1300000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40000 kB\n", 50 << 20, nil},
		{"missing", "Name:\tx\nVmRSS:\t 10 kB\n", 0, loadstat.ErrNoPeak},
		{"no unit", "VmHWM:\t 10\n", 0, loadstat.ErrNoPeak},
		{"other unit", "VmHWM:\t 10 MB\n", 0, loadstat.ErrNoPeak},
		{"not a number", "VmHWM:\t ten kB\n", 0, loadstat.ErrNoPeak},
		{"negative", "VmHWM:\t -1 kB\n", 0, loadstat.ErrNoPeak},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadstat.ParseVmHWM(strings.NewReader(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseVmHWMReaderError(t *testing.T) {
	boom := errors.New("boom")
	_, err := loadstat.ParseVmHWM(iotest.ErrReader(boom))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	peak, err := loadstat.PeakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if peak <= 0 {
		t.Fatalf("peak = %d, want > 0", peak)
	}
	if _, err := loadstat.PeakRSS(-1); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("PeakRSS(-1): err = %v, want ErrNotExist", err)
	}
}

func TestMiB(t *testing.T) {
	if got := loadstat.MiB(3 << 20); got != 3 {
		t.Fatalf("MiB = %v, want 3", got)
	}
}
