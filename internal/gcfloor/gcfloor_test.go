package gcfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// settings reads the collector's settings without changing them.
func settings() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

func restore(t *testing.T) {
	percent, limit := settings()
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

// withFloor sets a floor of 64 MB in an environment without GOGC or
// GOMEMLIMIT, and sets the collector back after the test.
func withFloor(t *testing.T) (floor int64) {
	restore(t)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	floor = 64 << 20
	Set(floor)
	return floor
}

func TestFloorHoldsWhileTheLiveHeapIsSmallAndLiftsAfter(t *testing.T) {
	floor := withFloor(t)
	if p, l := settings(); p != -1 || l != floor {
		t.Fatalf("after Set: GC percent %d, memory limit %d; want -1 (off) and %d (the floor)", p, l, floor)
	}

	small := make([]byte, 1<<20)
	runtime.GC()
	time.Sleep(200 * time.Millisecond) // the finalizer's goroutine runs the check
	if p, l := settings(); p != -1 || l != floor {
		t.Fatalf("with 1 MB live: GC percent %d, memory limit %d; want the floor kept", p, l)
	}
	runtime.KeepAlive(small)

	outgrowFloor(t, 100) // Go's defaults back
}

// outgrowFloor keeps 40 MB live, more than half the floor, until the
// collector paces at percent with no memory limit: the floor lifted.
func outgrowFloor(t *testing.T, percent int) {
	t.Helper()
	large := make([][]byte, 40)
	for i := range large {
		large[i] = make([]byte, 1<<20)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		p, l := settings()
		if p == percent && l == math.MaxInt64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with 40 MB live: GC percent %d, memory limit %d; want %d and no limit", p, l, percent)
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.KeepAlive(large)
}

func TestTheEnvironmentWins(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			restore(t)
			t.Setenv(env, "200")
			before, limit := settings()
			Set(64 << 20)
			if p, l := settings(); p != before || l != limit {
				t.Errorf("with %s set: GC percent %d, memory limit %d; want them left at %d and %d", env, p, l, before, limit)
			}
		})
	}
}

// Past the floor the heap is paced as SetAbove says, whether it says so
// before the heap outgrows the floor or after.
func TestSetAbovePacesTheHeapPastTheFloor(t *testing.T) {
	floor := withFloor(t)
	SetAbove(50)
	if p, l := settings(); p != -1 || l != floor {
		t.Fatalf("SetAbove before the heap outgrew the floor: GC percent %d, memory limit %d; want the floor kept", p, l)
	}
	outgrowFloor(t, 50)
	SetAbove(70)
	if p, _ := settings(); p != 70 {
		t.Errorf("SetAbove past the floor: GC percent %d, want 70 at once", p)
	}
}

func TestSetAboveLeavesTheEnvironmentsCollector(t *testing.T) {
	restore(t)
	mu.Lock()
	set = false // as in a process whose environment sets GOGC
	mu.Unlock()
	t.Setenv("GOGC", "200")
	before, limit := settings()
	Set(64 << 20)
	SetAbove(50)
	if p, l := settings(); p != before || l != limit {
		t.Errorf("with GOGC set: GC percent %d, memory limit %d; want them left at %d and %d", p, l, before, limit)
	}
}
