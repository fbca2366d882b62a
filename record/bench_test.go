package record

import (
	"fmt"
	"testing"

	"github.com/pipectl/pipectl/engine"
)

// BenchmarkFlush measures one recorder write: the database is opened,
// written in one transaction (with its fsync) and closed each time, so
// that nobody holds it between writes. A run writes at most every 200 ms.
func BenchmarkFlush(b *testing.B) {
	store, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	rec, err := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rec.Event(engine.Event{Type: engine.StepLog, Step: "a", Message: "a line of output"})
		rec.flush(false)
	}
	_ = rec.Finish()
}

// BenchmarkList measures `pipectl runs` over a database of DefaultKeep runs.
func BenchmarkList(b *testing.B) {
	store, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for range DefaultKeep {
		rec, _ := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
		rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded})
		_ = rec.Finish()
	}
	for b.Loop() {
		if _, err := store.List(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLatest measures finding the newest of DefaultKeep runs of
// 1,000 steps each (`runs show latest`, `apply -resume latest`).
func BenchmarkLatest(b *testing.B) {
	store, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for range DefaultKeep {
		rec, _ := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
		for i := range 1000 {
			rec.Event(engine.Event{Type: engine.StepFinished, Step: fmt.Sprintf("s%d", i), Status: engine.StatusSucceeded})
		}
		rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded})
		_ = rec.Finish()
	}
	for b.Loop() {
		if _, err := store.Latest(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteSteps measures the step records of a 1,000-step run
// written as a recorder writes them: ten batches of a hundred, each in its
// transaction (one op is the whole run).
func BenchmarkWriteSteps(b *testing.B) {
	local := NewLocal(b.TempDir())
	run := &Run{ID: "r"}
	for n := 0; b.Loop(); n++ {
		run.ID = fmt.Sprintf("r%d", n)
		if err := local.CreateRun(0, run, []byte("{}")); err != nil {
			b.Fatal(err)
		}
		for batch := range 10 {
			steps := map[int]StepRecord{}
			for i := batch * 100; i < batch*100+100; i++ {
				steps[i] = StepRecord{Step: fmt.Sprintf("n%d", i), Action: "std.noop", Status: "succeeded", Attempts: 1}
			}
			if _, err := local.WriteRun(run.ID, &Batch{Run: run, Steps: steps}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
