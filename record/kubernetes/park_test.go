package kubernetes

import (
	"math"
	"testing"
	"time"

	"github.com/pipectl/pipectl/record"
)

// A parked Lease lasts to the gate's deadline plus the margin, within
// what a Lease can say: a deadline decades away is not a negative
// duration the API server refuses.
func TestParkSeconds(t *testing.T) {
	now := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	margin := int32(record.ParkMargin / time.Second)
	for _, c := range []struct {
		until time.Time
		want  int32
	}{
		{time.Time{}, math.MaxInt32},
		{now.Add(time.Hour), 3600 + margin},
		{now.Add(-time.Hour), 1},
		{now.AddDate(100, 0, 0), math.MaxInt32},
		{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt32},
	} {
		if got := parkSeconds(c.until, now); got != c.want {
			t.Errorf("parkSeconds(%v) = %d, want %d", c.until, got, c.want)
		}
	}
}
