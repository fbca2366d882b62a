package record_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// A runs.db written by pipectl 03b9d15 (testdata/v03b9d15/make.sh) reads
// back whole through the Backend, and its saved plan stays applied once
// when the new pipectl starts to keep marks.
func TestRecordOf03b9d15(t *testing.T) {
	dir := t.TempDir()
	old, err := os.ReadFile(filepath.Join("testdata", "v03b9d15", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".pipectl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".pipectl", record.FileName), old, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := record.OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("%d runs, %v; want 3", len(list), err)
	}
	rejected, failed, approved := list[0], list[1], list[2]
	for _, c := range []struct {
		run         *record.Run
		env, status string
	}{{rejected, "prod", "failed"}, {failed, "prod", "failed"}, {approved, "dev", "succeeded"}} {
		if c.run.Pipeline != "fixture" || c.run.Environment != c.env || string(c.run.Status) != c.status || c.run.StartedBy != "alice" {
			t.Errorf("run %s: %+v; want %s in %s, started by alice", c.run.ID, c.run, c.status, c.env)
		}
	}
	if approved.SavedPlan == "" || len(approved.Gates) != 1 || approved.Gates[0].Status != "passed" ||
		len(approved.Gates[0].Answers) != 1 || approved.Gates[0].Answers[0].User != "bob" {
		t.Errorf("the approved run: saved plan %q, gates %+v", approved.SavedPlan, approved.Gates)
	}
	if g := rejected.Gates; len(g) != 1 || g[0].Status != "rejected" {
		t.Errorf("the rejected run's gates: %+v", g)
	}
	run, events, plan, err := store.Get(failed.ID)
	if err != nil || len(events) == 0 || len(plan) == 0 || run.Steps[0].Status != engine.StatusFailed || run.Steps[0].OutputLines != 2 {
		t.Fatalf("the failed run: %+v, %d events, %v", run, len(events), err)
	}
	var logs []string
	for _, e := range events {
		if e.Type == engine.StepLog {
			logs = append(logs, e.Message)
		}
	}
	if len(logs) != 2 {
		t.Errorf("the failed run's logs: %q", logs)
	}
	if p, err := store.Plan(approved.ID); err != nil || p.Environment != "dev" || len(p.Gates) != 1 {
		t.Errorf("the approved run's plan: %+v, %v", p, err)
	}
	answers, err := store.Answers(approved.ID)
	if err != nil || len(answers) != 1 || answers[0].User != "bob" || answers[0].Reason != "CHG-7" || !answers[0].Approve {
		t.Errorf("the approved run's answers: %+v, %v", answers, err)
	}
	// Read only, the old database answers from its runs; opened for
	// recording, it starts keeping marks from them.
	for _, open := range []func() (*record.Store, error){
		func() (*record.Store, error) { return store, nil },
		func() (*record.Store, error) { return record.Open(dir) },
	} {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		by, since, err := s.PlanApplied(approved.SavedPlan)
		if err != nil || by != approved.ID || !since.Equal(approved.Started) {
			t.Errorf("PlanApplied: %q since %s, %v; want %s since its start %s", by, since, err, approved.ID, approved.Started)
		}
	}
	var again *record.PlanAppliedError
	if err := store.MarkPlanApplied(approved.SavedPlan, "new"); !errors.As(err, &again) || again.Run != approved.ID {
		t.Errorf("the old run's saved plan marked again: %v", err)
	}
	// Its runs have no heads: pruning, as an apply does first, reads their
	// summaries, keeps them all and gives them heads, which read alike.
	pruned, err := store.Prune(record.Retention{KeepPerEnvironment: record.DefaultKeep})
	if err != nil || len(pruned.Deleted) != 0 || pruned.Kept != 3 {
		t.Fatalf("pruned %+v, %v; want the 3 runs kept", pruned, err)
	}
	if after, err := store.List(); err != nil || !reflect.DeepEqual(after, list) {
		t.Errorf("after pruning: %v, %v", after, err)
	}
	if latest, err := store.Latest(); err != nil || latest != rejected.ID {
		t.Errorf("latest %q, %v; want %s", latest, err, rejected.ID)
	}
}
