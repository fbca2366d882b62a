package operation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/operation"
)

const logging = `
pipeline "op" {}
stage "one" {
  step "build" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo compiled"]
  }
  step "after" {
    action     = std.noop
    inputs     = "x"
    depends_on = [step.build]
  }
}`

// The run and the lock it holds name one user: Who(), PIPECTL_USER first.
func TestRunAndLockNameOneIdentity(t *testing.T) {
	t.Setenv("PIPECTL_USER", "alice")
	dir := initialized(t, twoSteps)
	var holder v1.LockHolder
	applied, _ := apply(t, dir, func(a *operation.Apply) {
		a.AutoApprove = true
		a.Start = func(*engine.Plan) engine.EventSink { // the run is recorded, the lock held
			b, err := os.ReadFile(filepath.Join(dir, ".pipectl", "locks", "pipeline.lock"))
			if err == nil {
				err = json.Unmarshal(b, &holder)
			}
			if err != nil {
				t.Errorf("reading the lock: %v", err)
			}
			return engine.EventFunc(func(engine.Event) {})
		}
	})
	if run := recorded(t, dir, applied.RunID); run.StartedBy != "alice" || holder.User != "alice" {
		t.Errorf("the run was started by %q, its lock held by %q; want alice for both", run.StartedBy, holder.User)
	}
	if who, err := operation.Who(); err != nil || who != "alice" {
		t.Errorf("Who() = %q, %v", who, err)
	}
}

func TestRunsOperationsReadTheRecord(t *testing.T) {
	dir := initialized(t, logging)
	applied, _ := apply(t, dir, func(a *operation.Apply) { a.AutoApprove = true })

	list, err := (&operation.ListRuns{Dir: dir}).Run()
	if err != nil || len(list) != 1 || list[0].ID != applied.RunID {
		t.Fatalf("runs: %v %v", list, err)
	}
	shown, err := (&operation.ShowRun{Dir: filepath.Join(dir, "pipeline.hcl"), ID: operation.Latest}).Run()
	if err != nil || shown.ID != applied.RunID {
		t.Fatalf("runs show latest: %+v %v", shown, err)
	}
	if plan, err := shown.Plan(); err != nil || plan.Step("build") == nil {
		t.Errorf("the recorded plan: %v", err)
	}
	var all []string
	if err := shown.Events(func(e engine.Event) error { all = append(all, string(e.Type)); return nil }); err != nil || !slices.Contains(all, string(engine.RunFinished)) {
		t.Errorf("events %v, %v", all, err)
	}

	var lines []string
	logs := &operation.FollowRun{Dir: dir, ID: applied.RunID, Step: "step.build"}
	err = logs.Run(context.Background(), func(plan *v1.Plan) v1.EventSink {
		if w := operation.StepNameWidth(plan); w != len("after") && w != len("build") {
			t.Errorf("name width %d", w)
		}
		return engine.EventFunc(func(e engine.Event) {
			if e.Step != "build" {
				t.Errorf("an event of step %q passed the filter of build", e.Step)
			}
			if e.Type == engine.StepLog {
				lines = append(lines, e.Message)
			}
		})
	})
	if err != nil || !slices.Contains(lines, "compiled") {
		t.Errorf("logs of build: %q, %v", lines, err)
	}
	logs.Step = "nosuch"
	if err := logs.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), `has no step "nosuch"; its steps: build, after`) {
		t.Errorf("logs of a step the run lacks: %v", err)
	}

	out := t.TempDir()
	rep, err := (&operation.Report{Dir: dir, ID: operation.Latest, Out: out}).Run()
	if err != nil || rep.Path != filepath.Join(out, "pipectl-run-"+applied.RunID+".html") {
		t.Fatalf("report: %+v %v", rep, err)
	}
	if b, err := os.ReadFile(rep.Path); err != nil || !strings.Contains(string(b), "compiled") {
		t.Errorf("the report does not hold the step's log: %v", err)
	}
	if arts, err := (&operation.Artifacts{Dir: dir, ID: applied.RunID}).Run(); err != nil || len(arts.List) != 0 {
		t.Errorf("artifacts: %+v %v", arts, err)
	}

	ctx := context.Background()
	if _, err := (&operation.Prune{Dir: dir, Keep: -1}).Run(ctx); err == nil {
		t.Error("prune -keep -1 was accepted")
	}
	p, err := (&operation.Prune{Dir: dir, Keep: 0}).Run(ctx)
	if err != nil || len(p.Deleted) != 1 || p.Compacted == nil || p.NotCompacted != nil {
		t.Errorf("prune -keep 0: %+v, %v", p, err)
	}
}

func TestAnswersAndUnlocksRefuseWhatIsNotWaiting(t *testing.T) {
	dir := initialized(t, twoSteps)
	applied, _ := apply(t, dir, func(a *operation.Apply) { a.AutoApprove = true })
	if _, err := (&operation.Reject{Dir: dir, ID: applied.RunID, Reason: "  "}).Run(); err == nil || !strings.Contains(err.Error(), "-reason") {
		t.Errorf("reject without a reason: %v", err)
	}
	reviewed := false
	op := &operation.Approve{Dir: dir, ID: applied.RunID, Review: func(*v1.Plan, string, string) error { reviewed = true; return nil }}
	if _, err := op.Run(); err == nil || reviewed {
		t.Errorf("approving a finished run: %v (reviewed %v)", err, reviewed)
	}
	if _, err := (&operation.ForceUnlock{Dir: dir, ID: applied.RunID}).Run(); err == nil || !strings.Contains(err.Error(), "names run "+applied.RunID) {
		t.Errorf("force-unlock of a released lock: %v", err)
	}
}

// Every way a run ends has its own sentinel, which cmd/pipectl maps to an
// exit status.
func TestAppliedErrNamesHowTheRunEnded(t *testing.T) {
	failedOutputs := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "bad output"}}
	for _, c := range []struct {
		applied operation.Applied
		want    error
	}{
		{operation.Applied{Result: &engine.Result{Status: engine.StatusSucceeded}}, nil},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusSucceeded, OutputDiagnostics: failedOutputs}}, operation.ErrOutputsFailed},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusCancelled}}, operation.ErrCancelled},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusCancelled}, RecordFailed: true}, operation.ErrRunFailed},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusSucceeded}, Incomplete: errors.New("disk full")}, operation.ErrRunFailed},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusFailed, GateFailure: &engine.GateFailure{}}}, operation.ErrGateStopped},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusFailed, Outcome: engine.OutcomeUnchanged}}, operation.ErrUnchanged},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusFailed, Outcome: engine.OutcomeRestored}}, operation.ErrRestored},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusFailed}}, operation.ErrRunFailed},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusParked}}, operation.ErrParked},
		// Parked, but nothing holds the environment for it: not exit 8.
		{operation.Applied{Result: &engine.Result{Status: engine.StatusParked}, ParkFailed: errors.New("lease update refused")}, operation.ErrParkedUnlocked},
		{operation.Applied{Result: &engine.Result{Status: engine.StatusParked}, Incomplete: errors.New("disk full")}, operation.ErrRunFailed},
	} {
		if got := c.applied.Err(); !errors.Is(got, c.want) || (c.want == nil) != (got == nil) {
			t.Errorf("%+v: %v, want %v", c.applied.Result, got, c.want)
		}
	}
}

func TestPluginOperationsAskThePluginItself(t *testing.T) {
	dir := initialized(t, twoSteps)
	op := operation.NewListPlugins(operation.NewConfiguration())
	op.Dir = t.TempDir()
	if _, diags, _ := op.Run(context.Background()); !diags.HasErrors() {
		t.Error("the plugins of a directory without a pipeline: no diagnostic")
	}
	op.Dir = dir
	list, diags, err := op.Run(context.Background())
	if diags.HasErrors() || err != nil || len(list.Plugins) != 1 {
		t.Fatalf("plugins: %+v %v %v", list, diags, err)
	}
	if p := list.Plugins[0]; p.Name != "std" || !p.Locked || p.Err != nil || !slices.Contains(p.Actions, "noop") {
		t.Errorf("std: %+v", p)
	}
	schema := operation.NewPluginSchema(operation.NewConfiguration())
	schema.Dir, schema.Action = dir, "nosuch"
	if _, err := schema.Run(context.Background(), "std"); err == nil || !strings.Contains(err.Error(), `plugin std has no action "nosuch"; its actions are: `) {
		t.Errorf("an action std lacks: %v", err)
	}
	schema.Action = "noop"
	if doc, err := schema.Run(context.Background(), "std"); err != nil || doc.Schema.Actions["noop"] == nil {
		t.Errorf("std.noop: %v", err)
	}
}

func TestFmtChecksWithoutWritingAndRewritesOtherwise(t *testing.T) {
	dir := t.TempDir()
	messy := filepath.Join(dir, "messy.hcl")
	if err := os.WriteFile(messy, []byte("pipeline \"x\" {\n  a=1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.hcl"), []byte("pipeline {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var told []string
	op := operation.Fmt{Check: true, Diff: true, Unformatted: func(name string, written bool, diff string) {
		told = append(told, fmt.Sprintf("%s %v %v", filepath.Base(name), written, strings.Contains(diff, "+  a = 1")))
	}}
	res, diags, err := op.Run([]string{dir})
	if err != nil || !diags.HasErrors() || res.Files != 2 || res.Unformatted != 1 || res.Sources[filepath.Join(dir, "broken.hcl")] == nil {
		t.Fatalf("fmt -check: %+v %v %v", res, diags, err)
	}
	if strings.Join(told, ",") != "messy.hcl false true" {
		t.Errorf("told %v", told)
	}
	if b, _ := os.ReadFile(messy); string(b) != "pipeline \"x\" {\n  a=1\n}\n" {
		t.Errorf("-check wrote %q", b)
	}
	op.Check = false
	if _, _, err := op.Run([]string{messy}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(messy); string(b) != "pipeline \"x\" {\n  a = 1\n}\n" {
		t.Errorf("fmt wrote %q", b)
	}
}
