package record

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
)

// Artifacts are kept with their content, apart from the events; one over
// the cap is listed without it, and so is one the engine withheld.
func TestRecordArtifacts(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	report := []byte("# Report\n\nall good\n")
	big := bytes.Repeat([]byte("x"), ArtifactCap+1)
	now := time.Now()
	for _, e := range []engine.Event{
		{Type: engine.StepArtifact, Phase: "main", Step: "scan", Attempt: 2, Artifact: "report.md", Message: "text/markdown", Data: report, Size: len(report), Time: now},
		{Type: engine.StepArtifact, Phase: "main", Step: "scan", Attempt: 2, Artifact: "huge.txt", Message: "text/plain", Data: big, Size: len(big), Time: now},
		{Type: engine.StepArtifact, Phase: "main", Step: "scan", Attempt: 2, Artifact: "blob.bin", Message: "application/octet-stream", Size: 10, Withheld: true, Time: now},
	} {
		rec.Event(e)
	}
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	list, err := store.Artifacts(rec.ID())
	if err != nil || len(list) != 3 {
		t.Fatalf("Artifacts: %+v %v", list, err)
	}
	if a := list[0]; a.Name != "report.md" || a.Seq != 1 || a.Attempt != 2 || a.MediaType != "text/markdown" || !a.Kept() {
		t.Errorf("first artifact: %+v", a)
	}
	if data, err := store.ArtifactData(rec.ID(), 1); err != nil || !bytes.Equal(data, report) {
		t.Errorf("its content: %q %v", data, err)
	}
	if a := list[1]; a.Kept() || a.Size != len(big) || !strings.Contains(a.NotKept, "cap") {
		t.Errorf("an artifact over the cap: %+v", a)
	}
	if a := list[2]; a.Kept() || !strings.Contains(a.NotKept, "sensitive") {
		t.Errorf("a withheld artifact: %+v", a)
	}
	if data, _ := store.ArtifactData(rec.ID(), 2); data != nil {
		t.Errorf("the content over the cap was kept: %d bytes", len(data))
	}
	var sizes []int
	if _, _, err := store.Show(rec.ID(), func(e engine.Event) error {
		sizes = append(sizes, len(e.Data))
		return nil
	}); err != nil || len(sizes) != 3 || sizes[0]+sizes[1] != 0 {
		t.Errorf("the events keep the content (%v) %v", sizes, err)
	}
}

// EventsSince reads what was recorded since the last call, and the run's
// status with it.
func TestEventsSince(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	rec.Event(engine.Event{Type: engine.StepLog, Step: "a", Message: "one"})
	rec.flush(false)
	var got []string
	collect := func(e engine.Event) error { got = append(got, e.Message); return nil }
	run, last, err := store.EventsSince(rec.ID(), 0, collect)
	if err != nil || run.Status != StatusRunning && run.Status != StatusInterrupted || last != 1 {
		t.Fatalf("first read: %v %d %v", run, last, err)
	}
	rec.Event(engine.Event{Type: engine.StepLog, Step: "a", Message: "two"})
	rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded, Time: time.Now()})
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	run, last, err = store.EventsSince(rec.ID(), last, collect)
	if err != nil || run.Status != engine.StatusSucceeded || last != 3 || strings.Join(got, ",") != "one,two," {
		t.Fatalf("second read: %v %d %q %v", run.Status, last, got, err)
	}
	if id, err := store.Latest(); err != nil || id != rec.ID() {
		t.Errorf("Latest: %q %v", id, err)
	}
}

// Latest, which reads only the runs' summaries, names the run List puts
// first: the newest started.
func TestLatestIsListsFirst(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Latest(); err == nil || !strings.Contains(err.Error(), "no run is recorded") {
		t.Fatalf("an empty record: %v", err)
	}
	var last string
	for range 4 {
		rec, err := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
		if err != nil {
			t.Fatal(err)
		}
		rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded, Time: time.Now()})
		if err := rec.Finish(); err != nil {
			t.Fatal(err)
		}
		last = rec.ID()
		time.Sleep(2 * time.Millisecond)
	}
	list, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	if id, err := store.Latest(); err != nil || id != last || id != list[0].ID {
		t.Errorf("Latest %q %v; want the last started %q, List's first %q", id, err, last, list[0].ID)
	}
}
