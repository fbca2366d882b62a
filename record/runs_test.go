package record

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	bolt "go.etcd.io/bbolt"
	"time"

	"github.com/pipectl/pipectl/engine"
)

func TestRecordListAndGet(t *testing.T) {
	dir := t.TempDir()
	store, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Start(&engine.Plan{Pipeline: "p", Environment: "dev"}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []engine.Event{
		{Type: engine.RunStarted},
		{Type: engine.StepStarted, Step: "a", Attempt: 1, Time: now},
		{Type: engine.StepLog, Step: "a", Message: "hello"},
		{Type: engine.StepRetrying, Step: "a", Attempt: 1},
		{Type: engine.StepStarted, Step: "a", Attempt: 2, Time: now.Add(time.Second)},
		{Type: engine.StepFinished, Step: "a", Status: engine.StatusSucceeded, Attempt: 2, Outputs: map[string]any{"x": "1"}, Time: now.Add(2 * time.Second)},
		{Type: engine.StepStarted, Step: "b", Attempt: 1},
		{Type: engine.RunFinished, Status: engine.StatusFailed, Time: now.Add(3 * time.Second)},
	} {
		rec.Event(e)
	}
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	list, err := store.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %v %v", list, err)
	}
	run, events, plan, err := store.Get(rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != engine.StatusFailed || run.Environment != "dev" || len(events) != 8 || len(plan) == 0 {
		t.Fatalf("run %+v, %d events, plan %s", run, len(events), plan)
	}
	a := run.Steps[0]
	if a.Step != "a" || a.Status != engine.StatusSucceeded || a.Attempts != 2 || a.Outputs["x"] != "1" || a.Finished.Sub(a.Started) != 2*time.Second {
		t.Errorf("step a: %+v", a)
	}
	if b := run.Steps[1]; b.Status != StatusInterrupted {
		t.Errorf("a step that never finished reads as %s, want interrupted", b.Status)
	}
	if _, _, _, err := store.Get("nope"); err == nil {
		t.Error("Get of an unknown run succeeded")
	}
	store.Close()
}

// One apply per environment: a second of the same environment is refused,
// another environment is not, and reading never waits for either.
func TestEnvironmentLocks(t *testing.T) {
	dir := t.TempDir()
	dev, err := LockEnvironment(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockEnvironment(dir, "dev"); err == nil || !strings.Contains(err.Error(), `environment "dev"`) {
		t.Fatalf("a second lock of dev: %v", err)
	}
	prod, err := LockEnvironment(dir, "prod")
	if err != nil {
		t.Fatalf("prod while dev is applied: %v", err)
	}
	store, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Start(&engine.Plan{Pipeline: "p", Environment: "dev"}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.SetRun(rec.ID()); err != nil {
		t.Fatal(err)
	}
	rec.Event(engine.Event{Type: engine.StepStarted, Step: "a", Attempt: 1})
	rec.flush(false)
	list, err := store.List()
	if err != nil || len(list) != 1 || list[0].Status != StatusRunning {
		t.Fatalf("a run in progress reads as %+v (%v)", list, err)
	}
	dev.Release()
	prod.Release()
	if list, _ := store.List(); list[0].Status != StatusInterrupted {
		t.Errorf("a run whose lock is free reads as %s, want interrupted", list[0].Status)
	} else if len(list[0].Steps) != 1 || list[0].Steps[0].Step != "a" || list[0].Steps[0].Status != StatusInterrupted {
		t.Errorf("its step, written while it ran, reads as %+v, want a interrupted", list[0].Steps)
	}
	if _, err := LockEnvironment(dir, "dev"); err != nil {
		t.Errorf("dev after release: %v", err)
	}
	_ = rec.Finish()
}

// Reading creates nothing.
func TestReadingCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenExisting(filepath.Join(dir, "typo")); err == nil {
		t.Error("a directory that does not exist was accepted")
	}
	store, err := OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := store.List(); err != nil || len(list) != 0 {
		t.Fatalf("List: %v %v", list, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("reading created %v", entries)
	}
}

// A truncated database is reported by name with the way out, never a
// crash (bbolt would fault on the missing pages).
func TestDamagedDatabaseIsAClearError(t *testing.T) {
	dir := t.TempDir()
	store, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
	for i := 0; i < 2000; i++ {
		rec.Event(engine.Event{Type: engine.StepLog, Step: "a", Message: strings.Repeat("x", 100)})
	}
	_ = rec.Finish()
	info, _ := os.Stat(store.Path())
	if err := os.Truncate(store.Path(), info.Size()/2); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() error{
		"Open": func() error { _, err := Open(dir); return err },
		"List": func() error { _, err := store.List(); return err },
	} {
		err := open()
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), store.Path()) || !strings.Contains(err.Error(), "Move it aside") {
			t.Errorf("%s of a truncated database: %v", name, err)
		}
	}
	// A damaged page, not a truncation: garbage over the middle of the file.
	if err := os.Truncate(store.Path(), info.Size()); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(store.Path(), os.O_WRONLY, 0)
	_, _ = f.WriteAt([]byte(strings.Repeat("\xff", 3*4096)), 2*4096)
	f.Close()
	if _, err := store.List(); err == nil || !strings.Contains(err.Error(), store.Path()) {
		t.Errorf("a database with a damaged page: %v", err)
	} else {
		t.Log(err)
	}
}

// A step that prints a lot keeps its head and tail, and how much it printed.
func TestStepOutputIsCappedHeadAndTail(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
	line := strings.Repeat("y", 1023)
	const lines = 5000 // ~5 MB
	rec.Event(engine.Event{Type: engine.StepStarted, Step: "big", Attempt: 1})
	for i := 0; i < lines; i++ {
		rec.Event(engine.Event{Type: engine.StepLog, Step: "big", Message: fmt.Sprintf("%05d%s", i, line)})
	}
	rec.Event(engine.Event{Type: engine.StepFinished, Step: "big", Status: engine.StatusSucceeded})
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	run, events, _, err := store.Get(rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	var gap string
	for _, e := range events {
		kept += len(e.Message)
		if e.Stream == "pipectl" {
			gap = e.Message
		}
	}
	if kept > 2*logCap+4096 || !strings.HasPrefix(events[1].Message, "00000") ||
		!strings.HasPrefix(events[len(events)-2].Message, fmt.Sprintf("%05d", lines-1)) {
		t.Errorf("kept %d bytes; first %.5s, last %.5s", kept, events[1].Message, events[len(events)-2].Message)
	}
	if !strings.Contains(gap, "not kept") {
		t.Errorf("no line says what was left out: %q", gap)
	}
	if s := run.Steps[0]; s.OutputLines != lines || s.OutputBytes != lines*1028 {
		t.Errorf("recorded size %d lines, %d bytes", s.OutputLines, s.OutputBytes)
	}
}

func TestStepValuesKeptForResumeNeverHoldSecrets(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	redactor := engine.NewRedactor()
	redactor.AddValue(cty.StringVal("s3cr3t-token").Mark("sensitive"))
	rec, err := store.Start(&engine.Plan{Pipeline: "p"}, redactor)
	if err != nil {
		t.Fatal(err)
	}
	plain := cty.ObjectVal(map[string]cty.Value{"revision": cty.NumberIntVal(3), "tags": cty.ListVal([]cty.Value{cty.StringVal("a")})})
	rec.StepValue("plain", plain)
	rec.StepValue("marked", cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal("x").Mark("sensitive")}))
	rec.StepValue("echoed", cty.ObjectVal(map[string]cty.Value{"stdout": cty.StringVal("token is s3cr3t-token")}))
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	values, err := store.Values(rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(values) != 1 || !values["plain"].RawEquals(plain) {
		t.Fatalf("kept values %#v, want only plain, with its type", values)
	}
}

// A run records what it left its target as; a record made before pipectl
// kept that (no "outcome" in its meta) still reads, with none.
func TestOutcomeIsRecordedAndOlderRecordsRead(t *testing.T) {
	dir := t.TempDir()
	store, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	record := func(outcome engine.Outcome) string {
		rec, err := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
		if err != nil {
			t.Fatal(err)
		}
		rec.Event(engine.Event{Type: engine.RunStarted})
		rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusFailed, Outcome: outcome, Time: time.Now()})
		if err := rec.Finish(); err != nil {
			t.Fatal(err)
		}
		return rec.ID()
	}
	now := record(engine.OutcomeRestored)
	old := record("")
	// The meta of a run as an older pipectl wrote it: the fields it knew.
	err = store.Backend.(*Local).update(func(tx *bolt.Tx) error {
		return tx.Bucket(runsBucket).Bucket([]byte(old)).Put(metaKey,
			[]byte(`{"id":"`+old+`","pipeline":"p","started":"2026-11-01T10:00:00Z","finished":"2026-11-01T10:01:00Z","status":"failed","steps":[]}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]engine.Outcome{now: engine.OutcomeRestored, old: ""} {
		run, _, err := store.Show(id, nil)
		if err != nil || run.Status != engine.StatusFailed || run.Outcome != want {
			t.Errorf("run %s: %+v, %v; want failed with outcome %q", id, run, err, want)
		}
	}
}

// TestRecordPagesAreFilled: a run's events and step records are written in
// the order of their keys, and fill the database's pages rather than
// leaving each half empty (bbolt's default split), which made a record of
// 10,000 steps 23 MB instead of 14.
func TestRecordPagesAreFilled(t *testing.T) {
	local := NewLocal(t.TempDir())
	run := &Run{ID: "r"}
	if err := local.CreateRun(0, run, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	for batch := range 10 {
		steps := map[int]StepRecord{}
		var events []engine.Event
		for i := batch * 100; i < batch*100+100; i++ {
			name := fmt.Sprintf("n%d", i)
			steps[i] = StepRecord{Step: name, Action: "std.noop", Status: "succeeded", Attempts: 1}
			events = append(events, engine.Event{Type: engine.StepStarted, Step: name}, engine.Event{Type: engine.StepFinished, Step: name})
		}
		if _, err := local.WriteRun(run.ID, &Batch{Run: run, Steps: steps, Events: events}); err != nil {
			t.Fatal(err)
		}
	}
	err := local.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(run.ID))
		for _, name := range [][]byte{eventsBucket, stepsBucket} {
			s := b.Bucket(name).Stats()
			if fill := float64(s.LeafInuse) / float64(s.LeafAlloc); fill < 0.85 {
				t.Errorf("%s: %d keys in %d pages, %.0f%% of their bytes used; want at least 85%%", name, s.KeyN, s.LeafPageN, 100*fill)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
