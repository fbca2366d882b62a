package sdk

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A stream's calls run side by side, however many: each of these waits for
// all the others to have started, which only calls running at once do.
func TestWorkersRunEveryCallAtOnce(t *testing.T) {
	const calls = 50
	w := newWorkers()
	var started sync.WaitGroup
	started.Add(calls)
	var finished atomic.Int32
	for range calls {
		w.run(func() {
			started.Done()
			started.Wait()
			finished.Add(1)
		})
	}
	w.stop() // returns once every call has
	if n := finished.Load(); n != calls {
		t.Fatalf("stop returned with %d of %d calls finished", n, calls)
	}
}

// A worker that finished a call takes the next one, instead of a new
// goroutine per call; stop ends the workers.
func TestWorkersAreReused(t *testing.T) {
	const calls = 200
	before := runtime.NumGoroutine()
	w := newWorkers()
	done := make(chan struct{})
	for range calls { // one after the other
		w.run(func() { done <- struct{}{} })
		<-done
	}
	// The workers wait for calls until stop: those alive are those started.
	started := runtime.NumGoroutine() - before
	if started < 1 || started >= calls {
		t.Errorf("%d calls one after the other started %d workers: want at least 1, and fewer than one a call", calls, started)
	}
	w.stop()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a worker's goroutine ends just after its wg.Done
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left after stop, %d before the workers", n, before)
	}
}
