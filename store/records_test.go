package store_test

import (
	"testing"
	"time"

	"github.com/forgeauth/forgeauth/store"
)

func TestNextRevocation(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		prev, at time.Time
		want     time.Time
	}{
		{"first revocation", time.Time{}, t0, t0},
		{"later revocation", t0, t0.Add(time.Minute), t0.Add(time.Minute)},
		{"same moment", t0, t0, t0.Add(time.Second)},
		{"half a second later", t0, t0.Add(500 * time.Millisecond), t0.Add(time.Second)},
		{"exactly one second later", t0, t0.Add(time.Second), t0.Add(time.Second)},
		{"clock behind the last", t0, t0.Add(-time.Minute), t0.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.NextRevocation(tt.prev, tt.at); !got.Equal(tt.want) {
				t.Errorf("NextRevocation(%v, %v) = %v, want %v", tt.prev, tt.at, got, tt.want)
			}
		})
	}
}
