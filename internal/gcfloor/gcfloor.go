// Package gcfloor lets a command's heap grow to a floor before the garbage
// collector starts pacing it.
//
// Go's default pacing (GOGC=100) collects whenever the heap doubles, from
// a 4 MB start: an apply of a saved plan of 1,000 steps, 12-14 MB live,
// collected 11 times, and the collector's workers were 15% of its CPU.
// This is the minimum heap golang/go#23044 asked for (gopls keeps a
// ballast for it), made of the soft memory limit: with GOGC off, the heap
// grows to the limit before a collection (golang/go#48409).
package gcfloor

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

var (
	mu     sync.Mutex
	set    bool // Set changed the collector's settings
	lifted bool // and the heap has since outgrown the floor
	above  int  // the GC percent past the floor
)

// Set makes the collector run only when the heap reaches floor bytes, until
// its live part after a collection is half the floor; from then on the
// pacing is Go's default (or SetAbove's), so a large heap grows no more
// than it did. GOGC or GOMEMLIMIT in the environment leave the collector
// as they say.
func Set(floor int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	mu.Lock()
	above = debug.SetGCPercent(-1)
	set, lifted = true, false
	mu.Unlock()
	limit := debug.SetMemoryLimit(floor)
	afterCollection(func() bool {
		if 2*liveHeap() < uint64(floor) {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		lifted = true
		debug.SetGCPercent(above)
		debug.SetMemoryLimit(limit)
		return false
	})
}

// SetAbove paces a heap past Set's floor at percent (GOGC's meaning)
// rather than as GOGC was: a command whose memory matters more than its
// time collects sooner. Without Set (GOGC or GOMEMLIMIT in the
// environment) it does nothing.
func SetAbove(percent int) {
	mu.Lock()
	defer mu.Unlock()
	if !set {
		return
	}
	above = percent
	if lifted {
		debug.SetGCPercent(percent)
	}
}

// afterCollection calls f after each collection while f returns true: a
// finalizer runs once the collector found its object unreachable.
func afterCollection(f func() bool) {
	sentinel := new([2]*byte) // with pointers: never a tiny allocation, whose finalizer may not run
	runtime.SetFinalizer(sentinel, func(*[2]*byte) {
		if f() {
			afterCollection(f)
		}
	})
}

// liveHeap is the heap the last collection found live.
func liveHeap() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return math.MaxUint64 // unknown: leave the floor
	}
	return sample[0].Value.Uint64()
}
