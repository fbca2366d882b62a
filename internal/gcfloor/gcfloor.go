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
)

// Set makes the collector run only when the heap reaches floor bytes, until
// its live part after a collection is half the floor; from then on the
// pacing is Go's default, so a large heap grows no more than it did.
// GOGC or GOMEMLIMIT in the environment leave the collector as they say.
func Set(floor int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(floor)
	afterCollection(func() bool {
		if 2*liveHeap() < uint64(floor) {
			return true
		}
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
		return false
	})
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
