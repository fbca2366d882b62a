package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/internal/testbin"
)

// What plan promises, apply keeps: outputs checked at plan, failures
// handled as fail_fast says, unchanged steps left alone.

func TestPlanChecksOutputs(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "a" {
    action  = std.exec
    command = "echo"
    args    = ["hi"]
  }
}
output "good" {
  value = step.a.stdout
}
output "fixed" {
  value = "v1"
}
output "bad" {
  value = step.a.no_such_output
}`, dsl.Inputs{})
	pl := &engine.Planner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor}
	plan, diags := pl.Plan(context.Background())
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "no_such_output") {
		t.Fatalf("an output reading a missing step output passed plan: %v", diags)
	}
	if plan.Outputs["good"] != engine.Unknown || plan.Outputs["fixed"] != "v1" {
		t.Errorf("planned outputs %v: want good unknown, fixed v1", plan.Outputs)
	}
}

func TestOutputErrorAfterApplyKeepsTheStepsOutcome(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "a" {
    action  = std.exec
    command = "echo"
    args    = ["not a number"]
  }
}
output "n" {
  value = tonumber(trimspace(step.a.stdout))
}
output "ok" {
  value = trimspace(step.a.stdout)
}`, dsl.Inputs{})
	plan := f.plan() // unknown at plan: it passes
	res := f.applyPlan(context.Background(), 4, plan)
	if res.Status != engine.StatusSucceeded || res.Steps["a"] != engine.StatusSucceeded {
		t.Fatalf("an output error rewrote the run's outcome: run %s, step a %s", res.Status, res.Steps["a"])
	}
	if !res.OutputDiagnostics.HasErrors() {
		t.Fatal("the output error was not reported")
	}
	if got := res.Outputs["ok"]; got != cty.StringVal("not a number") {
		t.Errorf("the good output is %#v", got)
	}
	if f.count(engine.OutputsFailed, "") != 1 {
		t.Errorf("want one outputs_failed event: %+v", f.events)
	}
	last := f.events[len(f.events)-1]
	if last.Type != engine.RunFinished || last.Status != engine.StatusSucceeded {
		t.Errorf("last event %s %s, want run_finished succeeded", last.Type, last.Status)
	}
}

// branches has a failing branch and a slow one that goes on only once
// the failure happened (the test creates the file release names when it
// sees broken finish): no race between the branches' durations.
const branches = `
stage "s" {
  step "broken" {
    action = std.noop
    fail   = "region a is down"
  }
  step "needs_broken" {
    action     = std.noop
    depends_on = [step.broken]
  }
  step "slow" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "until [ -e \"$RELEASE\" ]; do sleep 0.05; done"]
    env     = { RELEASE = var.release }
  }
  step "after_slow" {
    action     = std.noop
    depends_on = [step.slow]
  }
}
variable "release" {
  type = string
}`

// applyBranches applies a pipeline with branches, releasing slow once
// broken has finished.
func applyBranches(t *testing.T, pipeline string) *engine.Result {
	t.Helper()
	release := filepath.Join(t.TempDir(), "release")
	f := load(t, pipeline+branches, dsl.Inputs{Vars: map[string]string{"release": release}})
	f.onEvent = func(e engine.Event) {
		if e.Type == engine.StepFinished && e.Step == "broken" {
			_ = os.WriteFile(release, nil, 0o644)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	defer cancel()
	return f.apply(ctx, 10)
}

func TestFailFastStopsNewStarts(t *testing.T) {
	res := applyBranches(t, `pipeline "p" {}`)
	want := map[string]engine.Status{"broken": engine.StatusFailed, "needs_broken": engine.StatusNotRun,
		"slow": engine.StatusSucceeded, "after_slow": engine.StatusNotRun}
	checkSteps(t, res, engine.StatusFailed, want)
}

func TestFailFastFalseLetsIndependentBranchesFinish(t *testing.T) {
	res := applyBranches(t, `pipeline "p" {
  fail_fast = false
}`)
	want := map[string]engine.Status{"broken": engine.StatusFailed, "needs_broken": engine.StatusNotRun,
		"slow": engine.StatusSucceeded, "after_slow": engine.StatusSucceeded}
	checkSteps(t, res, engine.StatusFailed, want)
}

func checkSteps(t *testing.T, res *engine.Result, run engine.Status, want map[string]engine.Status) {
	t.Helper()
	if res.Status != run {
		t.Errorf("run %s, want %s", res.Status, run)
	}
	for step, st := range want {
		if res.Steps[step] != st {
			t.Errorf("%s: %s, want %s", step, res.Steps[step], st)
		}
	}
}

func TestUnchangedStepIsNotApplied(t *testing.T) {
	out := filepath.Join(t.TempDir(), "notes.txt")
	src := `
pipeline "p" {}
stage "s" {
  step "notes" {
    action   = std.render
    content  = "v1\n"
    output   = "` + out + `"
  }
  step "use" {
    action = std.noop
    inputs = step.notes.sha256
  }
}`
	f := load(t, src, dsl.Inputs{})
	first := f.applyPlan(context.Background(), 4, f.plan())
	if first.Steps["notes"] != engine.StatusSucceeded {
		t.Fatalf("first apply: notes %s", first.Steps["notes"])
	}
	f = load(t, src, dsl.Inputs{}) // a new run
	plan := f.plan()
	if k := plan.Step("notes").Instances[0].Kind; k != "no-change" {
		t.Fatalf("second plan says %q", k)
	}
	if err := os.WriteFile(out, []byte("v1\n"), 0o644); err != nil { // as it was
		t.Fatal(err)
	}
	res := f.applyPlan(context.Background(), 4, plan)
	if res.Steps["notes"] != engine.StatusUnchanged || res.Status != engine.StatusSucceeded {
		t.Fatalf("notes %s, run %s: want unchanged, succeeded", res.Steps["notes"], res.Status)
	}
	if n := f.count(engine.StepStarted, "notes"); n != 0 {
		t.Errorf("the unchanged step was applied (%d starts)", n)
	}
	if got, want := f.finished("use").Outputs["inputs"], f.finished("notes").Outputs["sha256"]; got == nil || got != want {
		t.Errorf("downstream saw %v, want the planned sha256 %v", got, want)
	}
	if res.Instances["notes"] != engine.StatusUnchanged {
		t.Errorf("instances %v", res.Instances)
	}
}

func TestNoChangeStepIsAppliedWhenItsConfigChangedSincePlan(t *testing.T) {
	out := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(out, []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "v" {
    action  = std.exec
    command = "echo"
    args    = ["v1"]
  }
  step "notes" {
    action  = std.render
    content = step.v.stdout
    output  = "`+out+`"
  }
}`, dsl.Inputs{})
	plan := f.plan() // content unknown: the plan cannot promise no change
	res := f.applyPlan(context.Background(), 4, plan)
	if res.Steps["notes"] != engine.StatusSucceeded || f.count(engine.StepStarted, "notes") != 1 {
		t.Errorf("notes %s with %d starts: a step planned with unknowns must be applied", res.Steps["notes"], f.count(engine.StepStarted, "notes"))
	}
}

var (
	testPluginOnce sync.Once
	testPlugin     string
	testPluginErr  error
)

// buildTestPlugin builds the SDK's test plugin, whose greet action plans
// "no change" with known outputs and declares AlwaysApply.
func buildTestPlugin(t *testing.T) string {
	testPluginOnce.Do(func() {
		testPlugin = filepath.Join(filepath.Dir(stdPlugin), pluginhost.BinaryName("testplugin"))
		testPluginErr = testbin.Build(testPlugin, "sdk/internal/testplugin")
	})
	if testPluginErr != nil {
		t.Fatal(testPluginErr)
	}
	return testPlugin
}

func TestAlwaysApplyActionRunsEvenWhenUnchanged(t *testing.T) {
	f := loadWith(t, `
pipeline "p" {}
stage "s" {
  step "hello" {
    action = testplugin.greet
    name   = "world"
  }
}`, dsl.Inputs{}, map[string]string{"testplugin": buildTestPlugin(t)})
	plan := f.plan()
	if in := plan.Step("hello").Instances[0]; in.Kind != "no-change" {
		t.Fatalf("greet planned %q", in.Kind)
	}
	res := f.applyPlan(context.Background(), 4, plan)
	if res.Steps["hello"] != engine.StatusSucceeded || f.count(engine.StepStarted, "hello") != 1 {
		t.Errorf("hello %s with %d starts: an AlwaysApply action must be applied", res.Steps["hello"], f.count(engine.StepStarted, "hello"))
	}
}
