package record

import (
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pipectl/pipectl/engine"
)

// A writer that waited for the database while Compact replaced it writes
// to the new file, not to the old one nobody will read again.
func TestAWriterWaitingThroughCompactionWritesTheNewFile(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	local := store.Backend.(*Local)
	rec, err := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded, Time: time.Now()})
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	// Compact's steps by hand, holding the old file's shared lock while
	// the writer waits for it.
	src, err := bolt.Open(local.path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		wrote <- local.MarkPlanApplied("h", rec.ID())
	}()
	time.Sleep(100 * time.Millisecond) // lets the writer reach the lock (not needed to pass)
	tmp := local.path + ".compacting"
	dst, err := bolt.Open(tmp, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bolt.Compact(dst, src, 1<<20); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	if err := os.Rename(tmp, local.path); err != nil {
		t.Fatal(err)
	}
	src.Close()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if run, _, err := local.PlanApplied("h"); err != nil || run != rec.ID() {
		t.Errorf("the mark written across the compaction: %q, %v; want %s", run, err, rec.ID())
	}
}
