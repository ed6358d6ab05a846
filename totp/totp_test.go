package totp_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/totp"
)

// TestRFC6238Vectors checks the SHA-1 rows of RFC 6238 Appendix B: the time
// step of each time, its 8-digit value, and the 6-digit code (its last six
// digits) that Code shows and Validate accepts.
func TestRFC6238Vectors(t *testing.T) {
	tests := []struct {
		unix  int64
		step  int64
		eight string
	}{
		{59, 0x1, "94287082"},
		{1111111109, 0x23523EC, "07081804"},
		{1111111111, 0x23523ED, "14050471"},
		{1234567890, 0x273EF07, "89005924"},
		{2000000000, 0x3F940AA, "69279037"},
		{20000000000, 0x27BC86AA, "65353130"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.unix, 10), func(t *testing.T) {
			at := time.Unix(tt.unix, 0)
			assert.Equal(t, tt.eight, totp.HOTP(rfcSecret, uint64(tt.step), 8))

			six := tt.eight[2:]
			assert.Equal(t, six, mustCode(t, rfcSecret, at))

			step, err := totp.Validate(rfcSecret, six, at)
			require.NoError(t, err)
			assert.Equal(t, tt.step, step)

			_, err = totp.Validate(rfcSecret, tt.eight, at)
			require.ErrorIs(t, err, totp.ErrInvalidCode, "the 8-digit value is not a code here")
		})
	}
}

// TestRFC4226Vectors checks RFC 4226 Appendix D: the truncated 31-bit
// values and the 6-digit HOTP codes for counters 0 to 9, the latter also
// through Code at the first second of step c.
func TestRFC4226Vectors(t *testing.T) {
	tests := []struct {
		full string // the decimal of the truncated value, zero-padded to 10
		hotp string
	}{
		{"1284755224", "755224"},
		{"1094287082", "287082"},
		{"0137359152", "359152"},
		{"1726969429", "969429"},
		{"1640338314", "338314"},
		{"0868254676", "254676"},
		{"1918287922", "287922"},
		{"0082162583", "162583"},
		{"0673399871", "399871"},
		{"0645520489", "520489"},
	}
	for c, tt := range tests {
		t.Run(strconv.Itoa(c), func(t *testing.T) {
			assert.Equal(t, tt.full, totp.HOTP(rfcSecret, uint64(c), 10))
			assert.Equal(t, tt.hotp, totp.HOTP(rfcSecret, uint64(c), 6))
			assert.Equal(t, tt.hotp, mustCode(t, rfcSecret, stepTime(int64(c))))
		})
	}
}

func TestValidateWindow(t *testing.T) {
	const now = int64(56_000_000)
	at := stepTime(now).Add(17 * time.Second)
	tests := []struct {
		name    string
		offset  int64
		wantErr bool
	}{
		{"two steps early", -2, true},
		{"one step early", -1, false},
		{"current step", 0, false},
		{"one step late", 1, false},
		{"two steps late", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := mustCode(t, rfcSecret, stepTime(now+tt.offset))
			step, err := totp.Validate(rfcSecret, code, at)
			if tt.wantErr {
				require.ErrorIs(t, err, totp.ErrInvalidCode)
				assert.Zero(t, step)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, now+tt.offset, step)
		})
	}
}

func TestValidateStepBoundaries(t *testing.T) {
	code := mustCode(t, rfcSecret, time.Unix(0, 0))
	// Step 0 runs from 0 to 29 s; at 59 s it is one step old; at 60 s two.
	for _, sec := range []int64{0, 29, 30, 59} {
		step, err := totp.Validate(rfcSecret, code, time.Unix(sec, 0))
		require.NoError(t, err, "at %d s", sec)
		assert.Equal(t, int64(0), step)
	}
	_, err := totp.Validate(rfcSecret, code, time.Unix(60, 0))
	require.ErrorIs(t, err, totp.ErrInvalidCode)

	// The step of 29.999 s is still 0, whatever the time zone.
	step, err := totp.Validate(rfcSecret, code, time.Unix(29, 999_999_999).In(time.FixedZone("x", -7*3600)))
	require.NoError(t, err)
	assert.Equal(t, int64(0), step)
}

func TestValidateBefore1970(t *testing.T) {
	// Step -1 has no counter: its window is step 0 alone.
	code0 := mustCode(t, rfcSecret, time.Unix(0, 0))
	step, err := totp.Validate(rfcSecret, code0, time.Unix(-1, 0))
	require.NoError(t, err)
	assert.Equal(t, int64(0), step)

	_, err = totp.Validate(rfcSecret, code0, time.Unix(-31, 0))
	require.ErrorIs(t, err, totp.ErrInvalidCode)
	_, err = totp.Validate(rfcSecret, code0, time.Time{})
	require.ErrorIs(t, err, totp.ErrInvalidCode)

	for _, at := range []time.Time{time.Unix(-1, 0), time.Unix(0, -1), time.Time{}} {
		_, err := totp.Code(rfcSecret, at)
		require.ErrorIs(t, err, totp.ErrInvalidCode, at.String())
	}
}

// TestValidateReportsEarliestMatch uses steps of the RFC seed whose codes
// coincide: the earliest matching step of the window is reported, so a
// replayed code cannot pass for a later step.
func TestValidateReportsEarliestMatch(t *testing.T) {
	tests := []struct {
		name string
		code string
		at   int64 // step of the submission
		want int64
	}{
		// 56188870 and 56188871 both give 617002.
		{"adjacent, submitted in the first", "617002", 56188870, 56188870},
		{"adjacent, submitted in the second", "617002", 56188871, 56188870},
		{"adjacent, submitted a step later", "617002", 56188872, 56188871},
		// 56295193 and 56295195 both give 769717.
		{"two apart, submitted between", "769717", 56295194, 56295193},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, err := totp.Validate(rfcSecret, tt.code, stepTime(tt.at))
			require.NoError(t, err)
			assert.Equal(t, tt.want, step)
		})
	}
}

func TestValidateMalformed(t *testing.T) {
	at := time.Unix(1111111111, 0)
	good := mustCode(t, rfcSecret, at)
	require.Equal(t, "050471", good)
	tests := []struct{ name, code string }{
		{"empty", ""},
		{"five digits", "50471"},
		{"seven digits", good + "0"},
		{"seven, the right six last", "0" + good},
		{"eight-digit value", "14050471"},
		{"letter", "05047a"},
		{"leading space", " 50471"},
		{"trailing space", good[:5] + " "},
		{"inner space", "050 471"},
		{"plus sign", "+50471"},
		{"minus sign", "-50471"},
		{"fullwidth digits", "０５０４７１"},
		{"arabic-indic digits", "٠٥٠٤٧١"},
		{"NUL", "05047\x00"},
		{"invalid UTF-8", "05047\xff"},
		{"wrong code", "050472"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, err := totp.Validate(rfcSecret, tt.code, at)
			require.ErrorIs(t, err, totp.ErrInvalidCode)
			assert.Zero(t, step)
		})
	}
}

func TestSecretTooShort(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		wantErr bool
	}{
		{"nil", nil, true},
		{"empty", []byte{}, true},
		{"15 bytes", make([]byte, 15), true},
		{"16 bytes", make([]byte, 16), false},
		{"20 bytes", make([]byte, 20), false},
	}
	at := time.Unix(1234567890, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := totp.Code(tt.secret, at)
			if tt.wantErr {
				require.ErrorIs(t, err, totp.ErrInvalidSecret)
				assert.Empty(t, code)
				// A code computed with the short key must not pass either.
				_, err = totp.Validate(tt.secret, totp.HOTP(tt.secret, 41152263, 6), at)
				require.ErrorIs(t, err, totp.ErrInvalidSecret)
				_, err = totp.URI(tt.secret, "Example", "alice")
				require.ErrorIs(t, err, totp.ErrInvalidSecret)
				return
			}
			require.NoError(t, err)
			step, err := totp.Validate(tt.secret, code, at)
			require.NoError(t, err)
			assert.Equal(t, int64(41152263), step)
		})
	}
}

// TestValidateStepRefusesReplay shows the contract Validate leaves to its
// caller (SECURITY case 30): record the step with a compare-and-set that
// only moves forward. Fifty concurrent submissions of one right code, as
// if on several instances sharing one store, sign in once; the code of an
// older step is refused after a newer one was spent.
func TestValidateStepRefusesReplay(t *testing.T) {
	var last atomic.Int64 // the store's "last used step" of the user
	last.Store(-1)
	spend := func(code string, at time.Time) bool {
		step, err := totp.Validate(rfcSecret, code, at)
		if err != nil {
			return false
		}
		for {
			old := last.Load()
			if step <= old {
				return false
			}
			if last.CompareAndSwap(old, step) {
				return true
			}
		}
	}

	at := time.Unix(1234567890, 0)
	code := mustCode(t, rfcSecret, at)
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for range 50 {
		wg.Go(func() {
			if spend(code, at) {
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), accepted.Load())

	// Within the window the previous step's code is still right, but spent.
	older := mustCode(t, rfcSecret, at.Add(-totp.Period))
	assert.False(t, spend(older, at))
	// The next step's code is accepted once.
	newer := mustCode(t, rfcSecret, at.Add(totp.Period))
	assert.True(t, spend(newer, at.Add(totp.Period)))
	assert.False(t, spend(newer, at.Add(totp.Period)))
}
