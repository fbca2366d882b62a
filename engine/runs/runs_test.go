package runs

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
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

func TestASecondOpenWaitsForTheFirst(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := Open(dir); err == nil {
		t.Fatal("a second Open of a held run database succeeded")
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
