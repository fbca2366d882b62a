package flagship

import (
	"testing"
	"time"
)

// The node's share: holds that fit run together; a big one waits for room
// and the holds after it wait behind it, in order.
func TestNodeShare(t *testing.T) {
	s := newShare(1000)
	s.acquire(400)
	s.acquire(400) // both fit
	got := make(chan string, 3)
	go func() { s.acquire(1000); got <- "big" }()
	waitQueued(t, s, 1)
	go func() { s.acquire(100); got <- "small" }() // fits, but the big one came first
	waitQueued(t, s, 2)
	select {
	case g := <-got:
		t.Fatalf("%s acquired while 800 of 1000 were held and the big one waits", g)
	case <-time.After(50 * time.Millisecond):
	}
	s.release(400)
	s.release(400)
	if g := <-got; g != "big" {
		t.Fatalf("%s first, want the big one", g)
	}
	s.release(1000)
	if g := <-got; g != "small" {
		t.Fatalf("got %s, want small", g)
	}
}

func waitQueued(t *testing.T, s *share, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		q := len(s.queue)
		s.mu.Unlock()
		if q == n {
			return
		}
	}
	t.Fatalf("not %d waiting", n)
}
