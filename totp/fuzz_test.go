package totp_test

import (
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/totp"
)

// FuzzValidate checks that no input panics and that only six ASCII digits
// equal to the code of a step in the window are accepted, with that step.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"", "050471", "0504710", "０５０４７１", "\xff\xfe", "-50471"} {
		f.Add(s, int64(1111111111))
	}
	f.Add("755224", int64(0))
	f.Add("000000", int64(-1<<62))
	f.Fuzz(func(t *testing.T, code string, unix int64) {
		at := time.Unix(unix, 0)
		step, err := totp.Validate(rfcSecret, code, at)
		if err != nil {
			if step != 0 {
				t.Fatalf("step %d with %v", step, err)
			}
			return
		}
		if want, _ := totp.Code(rfcSecret, time.Unix(step*30, 0)); want != code {
			t.Fatalf("accepted %q for step %d, whose code is %q", code, step, want)
		}
		if d := step - unix/30; d < -totp.Skew-1 || d > totp.Skew+1 {
			t.Fatalf("step %d is far from %d", step, unix/30)
		}
	})
}

// FuzzNormalizeRecoveryCode checks that no input panics and that any
// accepted input comes out canonical and stays put when normalised again.
func FuzzNormalizeRecoveryCode(f *testing.F) {
	for _, s := range []string{"", "7k3m q9tx v2cd", "OIL0-1111-ZZZZ", "7K3M-Q9TX-V2CU", "ıK3M-Q9TX-V2CD", "----"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := totp.NormalizeRecoveryCode(in)
		if err != nil {
			if got != "" {
				t.Fatalf("%q with %v", got, err)
			}
			return
		}
		if !recoveryFormat.MatchString(got) {
			t.Fatalf("%q gave %q", in, got)
		}
		again, err := totp.NormalizeRecoveryCode(got)
		if err != nil || again != got {
			t.Fatalf("%q gave %q, then %q, %v", in, got, again, err)
		}
	})
}
