package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/internal/testbin"
)

// These tests drive the engine in-process against the real std plugin,
// built once and run as a separate process over gRPC, so the race detector
// sees the scheduler under real concurrency.

var stdPlugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pipectl-engine-test")
	if err != nil {
		panic(err)
	}
	stdPlugin = filepath.Join(dir, pluginhost.BinaryName("std"))
	if err := testbin.Build(stdPlugin, "plugins/std"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type fixture struct {
	t        testing.TB
	pipeline *engine.Pipeline
	host     *pluginhost.Host
	redactor *engine.Redactor
	mu       sync.Mutex
	events   []engine.Event
	// onEvent, when set, sees each event as it comes: a test reacts to
	// the run's progress rather than to the clock.
	onEvent func(engine.Event)
}

// load writes a pipeline into a fresh directory with the std plugin
// installed and locked there, and loads it.
func load(t testing.TB, src string, in dsl.Inputs) *fixture {
	t.Helper()
	return loadWith(t, src, in, map[string]string{"std": stdPlugin})
}

// loadWith is load with the given plugins (name → binary) installed.
func loadWith(t testing.TB, src string, in dsl.Inputs, binaries map[string]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	plugins := filepath.Join(dir, ".pipectl", "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	lock := &pluginhost.LockFile{Plugins: map[string]pluginhost.LockedPlugin{}}
	for name, bin := range binaries {
		if err := os.Symlink(bin, filepath.Join(plugins, pluginhost.BinaryName(name))); err != nil {
			t.Fatal(err)
		}
		sum, err := pluginhost.Checksum(bin)
		if err != nil {
			t.Fatal(err)
		}
		lock.Plugins[name] = pluginhost.LockedPlugin{Version: "test", SHA256: sum}
	}
	p, diags := engine.Load(dir, in)
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	f := &fixture{t: t, pipeline: p, redactor: engine.NewRedactor()}
	f.host = p.NewHost(lock, nil, f.redactor)
	t.Cleanup(f.host.Close)
	return f
}

func (f *fixture) plan() *engine.Plan {
	f.t.Helper()
	pl := &engine.Planner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor}
	plan, diags := pl.Plan(context.Background())
	if diags.HasErrors() {
		f.t.Fatalf("plan: %s", diags.Error())
	}
	return plan
}

func (f *fixture) apply(ctx context.Context, parallelism int) *engine.Result {
	return f.applyPlan(ctx, parallelism, nil)
}

// applyPlan applies with the plan shown to the user, as pipectl apply does.
func (f *fixture) applyPlan(ctx context.Context, parallelism int, plan *engine.Plan) *engine.Result {
	r := &engine.Runner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor, Parallelism: parallelism, Plan: plan,
		Events: engine.EventFunc(func(e engine.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
			if f.onEvent != nil {
				f.onEvent(e)
			}
		})}
	return r.Apply(ctx, context.Background())
}

// finished returns the step_finished event of a step (first instance).
func (f *fixture) finished(step string) engine.Event {
	f.t.Helper()
	for _, e := range f.events {
		if e.Type == engine.StepFinished && e.Step == step {
			return e
		}
	}
	f.t.Fatalf("no step_finished event for %s", step)
	return engine.Event{}
}

func (f *fixture) started(step string) engine.Event {
	f.t.Helper()
	for _, e := range f.events {
		if e.Type == engine.StepStarted && e.Step == step {
			return e
		}
	}
	f.t.Fatalf("no step_started event for %s", step)
	return engine.Event{}
}

func (f *fixture) count(typ engine.EventType, step string) int {
	n := 0
	for _, e := range f.events {
		if e.Type == typ && e.Step == step {
			n++
		}
	}
	return n
}

// hangBound bounds a wait that only a hang exhausts: far above what a
// loaded machine needs, never a speed requirement (benchmarks measure speed).
const hangBound = 60 * time.Second

// Each step waits for the other to have started: run one after the other,
// they would wait forever (until hangBound); no timing is assumed.
func TestIndependentStepsRunInParallel(t *testing.T) {
	dir := t.TempDir()
	f := load(t, fmt.Sprintf(`
pipeline "p" {}
stage "s" {
  step "a" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "touch %[1]s/a; until [ -e %[1]s/b ]; do sleep 0.05; done"]
  }
  step "b" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "touch %[1]s/b; until [ -e %[1]s/a ]; do sleep 0.05; done"]
  }
}`, dir), dsl.Inputs{})
	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	defer cancel()
	res := f.apply(ctx, 4)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s: a and b did not run at the same time", res.Status)
	}
	// Each started before the other finished: they overlapped.
	if !f.started("b").Time.Before(f.finished("a").Time) || !f.started("a").Time.Before(f.finished("b").Time) {
		t.Fatalf("a and b did not overlap: %+v", f.events)
	}
}

func TestParallelismBoundsConcurrentSteps(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "a" {
    action   = std.sleep
    duration = "200ms"
  }
  step "b" {
    action   = std.sleep
    duration = "200ms"
  }
}`, dsl.Inputs{})
	f.apply(context.Background(), 1)
	first, second := f.finished("a"), f.started("b")
	if f.started("b").Time.Before(f.started("a").Time) {
		first, second = f.finished("b"), f.started("a")
	}
	if second.Time.Before(first.Time) {
		t.Fatalf("with -parallelism 1 a step started before the other finished")
	}
}

func TestDependenciesOrderStepsAndCarryOutputs(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "build" {
  step "version" {
    action  = std.exec
    command = "echo"
    args    = ["1.2.3"]
  }
}
stage "ship" {
  depends_on = [stage.build]
  step "tag" {
    action = std.noop
    inputs = { tag = trimspace(step.version.stdout) }
  }
  step "explicit" {
    action     = std.noop
    depends_on = [step.tag]
  }
}
output "tag" {
  value = step.tag.inputs.tag
}`, dsl.Inputs{})
	res := f.apply(context.Background(), 10)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s: %+v", res.Status, f.events)
	}
	if !f.finished("version").Time.Before(f.started("tag").Time) {
		t.Error("tag started before version finished")
	}
	if !f.finished("tag").Time.Before(f.started("explicit").Time) {
		t.Error("explicit started before tag finished (depends_on)")
	}
	if got := res.Outputs["tag"].AsString(); got != "1.2.3" {
		t.Errorf("output tag = %q, want 1.2.3", got)
	}
}

func TestFailureStopsTheRunAndRunsHandlers(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "deploy" {
  step "release" {
    action = std.noop
    fail   = "release failed"
  }
  step "after" {
    action     = std.noop
    depends_on = [step.release]
  }
  on_failure {
    step "rollback" {
      action = std.noop
      inputs = try(step.release.inputs, "release produced nothing")
    }
  }
}
stage "validate" {
  depends_on = [stage.deploy]
  step "tests" {
    action = std.noop
  }
}
on_failure {
  step "notify" {
    action = std.noop
  }
}
finally {
  step "record" {
    action = std.noop
  }
}`, dsl.Inputs{})
	res := f.apply(context.Background(), 10)
	if res.Status != engine.StatusFailed {
		t.Fatalf("status %s", res.Status)
	}
	want := map[string]engine.Status{
		"release": engine.StatusFailed, "after": engine.StatusNotRun, "tests": engine.StatusNotRun,
		"rollback": engine.StatusSucceeded, "notify": engine.StatusSucceeded, "record": engine.StatusSucceeded,
	}
	for step, st := range want {
		if res.Steps[step] != st {
			t.Errorf("%s: %s, want %s", step, res.Steps[step], st)
		}
	}
	if got := f.finished("rollback").Outputs["inputs"]; got != "release produced nothing" {
		t.Errorf("rollback saw %v: a step that did not run must read as null", got)
	}
	order := []string{"rollback", "notify", "record"}
	for i := 1; i < len(order); i++ {
		if f.started(order[i]).Time.Before(f.finished(order[i-1]).Time) {
			t.Errorf("%s started before %s finished", order[i], order[i-1])
		}
	}
}

func TestFinallyRunsAfterSuccessButNotFailureHandlers(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "ok" {
    action = std.noop
  }
  on_failure {
    step "rollback" {
      action = std.noop
    }
  }
}
finally {
  step "record" {
    action = std.noop
  }
}`, dsl.Inputs{})
	res := f.apply(context.Background(), 10)
	if res.Status != engine.StatusSucceeded || res.Steps["record"] != engine.StatusSucceeded {
		t.Fatalf("status %s, record %s", res.Status, res.Steps["record"])
	}
	if _, ran := res.Steps["rollback"]; ran {
		t.Errorf("rollback ran after a successful run: %s", res.Steps["rollback"])
	}
}

func TestRetryUntilSuccess(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "count")
	f := load(t, fmt.Sprintf(`
pipeline "p" {}
stage "s" {
  step "flaky" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "n=$(cat %[1]s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s; [ $n -ge 3 ]"]
    retry {
      attempts = 4
      backoff  = "10ms"
    }
  }
}`, counter), dsl.Inputs{})
	res := f.apply(context.Background(), 10)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s: %+v", res.Status, f.events)
	}
	if n := f.count(engine.StepStarted, "flaky"); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if n := f.count(engine.StepRetrying, "flaky"); n != 2 {
		t.Errorf("%d retry events, want 2", n)
	}
}

func TestTimeoutFailsTheStep(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "slow" {
    action   = std.sleep
    duration = "30s"
    timeout  = "300ms"
  }
}`, dsl.Inputs{})
	res := f.apply(context.Background(), 10)
	// Not stopped, the step would have slept its 30s and succeeded.
	if res.Status != engine.StatusFailed {
		t.Fatalf("status %s", res.Status)
	}
	if msg := f.finished("slow").Message; !strings.Contains(msg, "timed out after 300ms") {
		t.Errorf("message %q", msg)
	}
	// A plain error becomes a diagnostic on the source it is about, like
	// plan-time ones, and the record's form keeps the snippet.
	diags := f.finished("slow").Diagnostics
	if len(diags) != 1 || diags[0].Summary != "Step timed out" || diags[0].Subject == nil || diags[0].Subject.Start.Line != 7 {
		t.Fatalf("diagnostics %v", diags)
	}
	rec := f.finished("slow").RecordedDiagnostics
	if len(rec) != 1 || rec[0].Snippet == nil || !strings.Contains(rec[0].Snippet.Code, `timeout  = "300ms"`) {
		t.Errorf("recorded diagnostics %+v", rec)
	}
}

func TestContinueOnErrorLetsTheRunGoOn(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "optional" {
    action            = std.noop
    fail              = "not important"
    continue_on_error = true
  }
  step "next" {
    action     = std.noop
    depends_on = [step.optional]
  }
}`, dsl.Inputs{})
	res := f.apply(context.Background(), 10)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s", res.Status)
	}
	if res.Steps["optional"] != engine.StatusFailedContinued || res.Steps["next"] != engine.StatusSucceeded {
		t.Fatalf("steps %v", res.Steps)
	}
	// The event says what the record says (views and -json read events).
	if e := f.finished("optional"); e.Status != engine.StatusFailedContinued {
		t.Errorf("step_finished of optional: status %s, want %s", e.Status, engine.StatusFailedContinued)
	}
}

func TestWhenAndForEach(t *testing.T) {
	f := load(t, `
pipeline "p" {}
variable "regions" {
  type    = list(string)
  default = ["eu", "us"]
}
stage "s" {
  step "deploy" {
    action   = std.noop
    for_each = toset(var.regions)
    inputs   = "deploy ${each.key}"
  }
  step "skipped" {
    action = std.noop
    when   = length(var.regions) > 5
  }
  step "summary" {
    action = std.noop
    inputs = [for k, v in step.deploy : v.inputs]
  }
}`, dsl.Inputs{})
	plan := f.plan()
	if s := plan.Step("deploy"); len(s.Instances) != 2 || s.Instances[0].Key != "eu" {
		t.Fatalf("planned instances %+v", s.Instances)
	}
	if plan.Step("skipped").Run != "no" {
		t.Errorf("skipped planned as %q", plan.Step("skipped").Run)
	}
	res := f.apply(context.Background(), 10)
	if res.Status != engine.StatusSucceeded || res.Steps["skipped"] != engine.StatusSkipped {
		t.Fatalf("status %s, steps %v", res.Status, res.Steps)
	}
	got := f.finished("summary").Outputs["inputs"]
	if fmt.Sprint(got) != "[deploy eu deploy us]" {
		t.Errorf("summary saw %v", got)
	}
}

func TestCancellationStopsStepsAndRunsHandlers(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "long" {
    action   = std.sleep
    duration = "60s"
  }
  step "later" {
    action     = std.noop
    depends_on = [step.long]
  }
}
finally {
  step "record" {
    action = std.noop
  }
}`, dsl.Inputs{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancelled once long sleeps in its plugin (its first progress; a
	// timer may fire before that on a loaded machine); not stopped, long
	// would sleep 60s and succeed.
	f.onEvent = func(e engine.Event) {
		if e.Type == engine.StepProgress && e.Step == "long" {
			cancel()
		}
	}
	res := f.apply(ctx, 10)
	if res.Status != engine.StatusCancelled {
		t.Fatalf("status %s", res.Status)
	}
	if res.Steps["long"] != engine.StatusCancelled || res.Steps["later"] != engine.StatusNotRun || res.Steps["record"] != engine.StatusSucceeded {
		t.Fatalf("steps %v", res.Steps)
	}
	if msg := f.finished("long").Message; msg != "cancelled" {
		t.Errorf("long: %q, want cancelled while it ran", msg)
	}
}

func TestSensitiveValuesAreRedactedEverywhere(t *testing.T) {
	const secret = "hunter2-very-secret"
	f := load(t, `
pipeline "p" {}
variable "token" {
  type      = string
  sensitive = true
}
stage "s" {
  step "leak" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo the token is ${var.token}"]
  }
  step "fails" {
    action = std.noop
    fail   = "bad token ${var.token}"
  }
}`, dsl.Inputs{Vars: map[string]string{"token": secret}})
	plan := f.plan()
	f.apply(context.Background(), 10)
	var all strings.Builder
	fmt.Fprintf(&all, "%+v", plan)
	for _, s := range plan.Steps {
		for _, in := range s.Instances {
			fmt.Fprintf(&all, "%+v %v", in, in.Config)
		}
	}
	fmt.Fprintf(&all, "%+v", f.events)
	if strings.Contains(all.String(), secret) {
		t.Fatalf("the secret leaked:\n%s", all.String())
	}
	if !slices.ContainsFunc(f.events, func(e engine.Event) bool {
		return e.Type == engine.StepLog && e.Message == "the token is "+engine.Redacted
	}) {
		t.Errorf("the log line was not redacted in place: %+v", f.events)
	}
}

func TestWhenReadingEachDecidesPerInstance(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "deploy" {
    action   = std.noop
    for_each = toset(["eu", "us", "ap"])
    when     = each.key != "us"
    inputs   = each.key
  }
}`, dsl.Inputs{})
	plan := f.plan()
	var skipped []string
	for _, in := range plan.Step("deploy").Instances {
		if in.Skipped {
			skipped = append(skipped, in.Key)
		}
	}
	if !slices.Equal(skipped, []string{"us"}) {
		t.Fatalf("planned skips %v, want [us]", skipped)
	}
	res := f.apply(context.Background(), 10)
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s", res.Status)
	}
	got := map[string]engine.Status{}
	for _, e := range f.events {
		if e.Type == engine.StepFinished {
			got[e.Instance] = e.Status
		}
	}
	want := map[string]engine.Status{"eu": engine.StatusSucceeded, "us": engine.StatusSkipped, "ap": engine.StatusSucceeded}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("instances %v, want %v", got, want)
	}
}

func TestStageWhenSkipsItsSteps(t *testing.T) {
	f := load(t, `
pipeline "p" {}
variable "deploy" {
  type    = bool
  default = false
}
stage "build" {
  step "compile" {
    action = std.noop
  }
}
stage "deploy" {
  depends_on = [stage.build]
  when       = var.deploy
  step "release" {
    action = std.noop
  }
}
stage "report" {
  depends_on = [stage.deploy]
  step "summary" {
    action = std.noop
    inputs = try(step.release.step_id, "no release")
  }
}`, dsl.Inputs{})
	if run := f.plan().Step("release").Run; run != "no" {
		t.Fatalf("release planned as %q", run)
	}
	res := f.apply(context.Background(), 10)
	if res.Status != engine.StatusSucceeded || res.Steps["release"] != engine.StatusSkipped {
		t.Fatalf("status %s, steps %v", res.Status, res.Steps)
	}
	if got := f.finished("summary").Outputs["inputs"]; got != "no release" {
		t.Errorf("summary saw %v: a skipped step must read as null", got)
	}
}

func TestResumeReusesDoneStepsAndReportsValues(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "first" {
    action = std.noop
    fail   = "must not run again"
  }
  step "second" {
    action = std.noop
    inputs = step.first.inputs
  }
}`, dsl.Inputs{})
	kept := map[string]cty.Value{}
	r := &engine.Runner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor, Parallelism: 2,
		Done:        map[string]cty.Value{"first": cty.ObjectVal(map[string]cty.Value{"inputs": cty.StringVal("from before")})},
		Resumed:     "run-1",
		Events:      engine.EventFunc(func(e engine.Event) { f.events = append(f.events, e) }),
		OnStepValue: func(step string, v cty.Value) { kept[step] = v }}
	res := r.Apply(context.Background(), context.Background())
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s: %+v", res.Status, f.events)
	}
	if got := f.finished("second").Outputs["inputs"]; got != "from before" {
		t.Errorf("second saw %v", got)
	}
	if !strings.Contains(f.finished("first").Message, "run-1") {
		t.Errorf("first: %q", f.finished("first").Message)
	}
	if len(kept) != 2 || kept["second"].GetAttr("inputs").AsString() != "from before" {
		t.Errorf("values reported for the record: %#v", kept)
	}
}

// MayStart is asked before each step's action: once it refuses (the run
// lost its environment's lock), no further step starts, and the step says
// why.
func TestMayStartRefusedStartsNoFurtherStep(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "first" {
    action = std.noop
  }
  step "second" {
    action     = std.noop
    depends_on = [step.first]
  }
}`, dsl.Inputs{})
	var mu sync.Mutex
	asked := 0
	r := &engine.Runner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor, Parallelism: 2,
		Events: engine.EventFunc(func(e engine.Event) { f.events = append(f.events, e) }),
		MayStart: func() error {
			mu.Lock()
			defer mu.Unlock()
			if asked++; asked > 1 {
				return errors.New("the lock was lost")
			}
			return nil
		}}
	res := r.Apply(context.Background(), context.Background())
	if res.Status == engine.StatusSucceeded {
		t.Fatalf("the run succeeded although MayStart refused: %+v", f.events)
	}
	if f.finished("first").Status != engine.StatusSucceeded {
		t.Errorf("first: %+v", f.finished("first"))
	}
	if n := f.count(engine.StepStarted, "second"); n != 0 {
		t.Errorf("second started %d times after MayStart refused", n)
	}
	if e := f.finished("second"); e.Status != engine.StatusCancelled || !strings.Contains(e.Message, "the lock was lost") {
		t.Errorf("second: %s %q, want cancelled saying why", e.Status, e.Message)
	}
}
