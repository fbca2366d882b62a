package operation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/internal/testbin"
	"github.com/pipectl/pipectl/operation"
	"github.com/pipectl/pipectl/record"
)

// The operations run in-process against the real std plugin, built once
// and started as a separate process over gRPC, as pipectl starts it.

var stdPlugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pipectl-operation-test")
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

// project writes a pipeline into a fresh directory with the std plugin
// installed beside it (not locked: Init locks it).
func project(t testing.TB, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	plugins := filepath.Join(dir, ".pipectl", "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(stdPlugin, filepath.Join(plugins, pluginhost.BinaryName("std"))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// initialized is project, locked by the Init operation.
func initialized(t testing.TB, src string) string {
	t.Helper()
	dir := project(t, src)
	res, diags, err := operation.NewInit(operation.NewConfiguration()).Run(context.Background(), dir)
	if diags.HasErrors() || err != nil || !res.Written {
		t.Fatalf("init: %v %v %+v", diags, err, res)
	}
	return dir
}

const twoSteps = `
pipeline "op" {}
stage "one" {
  step "hello" {
    action = std.noop
    inputs = "hi"
  }
  step "after" {
    action     = std.noop
    inputs     = step.hello.inputs
  }
}`

func TestInitLocksWhatThePipelineUses(t *testing.T) {
	dir := project(t, twoSteps)
	var told []string
	op := operation.NewInit(operation.NewConfiguration())
	op.Locked = func(name string, e pluginhost.LockedPlugin, err error) {
		told = append(told, fmt.Sprintf("%s %v", name, err == nil))
	}
	res, diags, err := op.Run(context.Background(), dir)
	if diags.HasErrors() || err != nil {
		t.Fatal(diags, err)
	}
	if !res.Written || res.Failed != 0 || strings.Join(told, ",") != "std true" {
		t.Fatalf("init: %+v, told %v", res, told)
	}
	lock, diags := pluginhost.ReadLockFile(dir)
	want, _ := pluginhost.Checksum(stdPlugin)
	if diags.HasErrors() || lock.Plugins["std"].SHA256 != want {
		t.Fatalf("lock file: %+v %v", lock, diags)
	}
}

func TestInitRefusesAChangedBinaryUnlessUpgrading(t *testing.T) {
	dir := initialized(t, twoSteps)
	lock, _ := pluginhost.ReadLockFile(dir)
	lock.Plugins["std"] = pluginhost.LockedPlugin{Version: "1.0.0", SHA256: strings.Repeat("0", 64)}
	if err := lock.Write(dir); err != nil {
		t.Fatal(err)
	}
	var failure error
	op := operation.NewInit(operation.NewConfiguration())
	op.Locked = func(_ string, _ pluginhost.LockedPlugin, err error) { failure = err }
	res, _, err := op.Run(context.Background(), dir)
	if err != nil || res.Written || res.Failed != 1 || failure == nil || !strings.Contains(failure.Error(), "pipectl init -upgrade") {
		t.Fatalf("init: %+v, err %v, told %v", res, err, failure)
	}
	if after, _ := pluginhost.ReadLockFile(dir); after.Plugins["std"].SHA256 != strings.Repeat("0", 64) {
		t.Error("the lock file was rewritten although a plugin failed")
	}
	op.Upgrade = true
	if res, _, err := op.Run(context.Background(), dir); err != nil || !res.Written {
		t.Fatalf("init -upgrade: %+v %v", res, err)
	}
	want, _ := pluginhost.Checksum(stdPlugin)
	if after, _ := pluginhost.ReadLockFile(dir); after.Plugins["std"].SHA256 != want {
		t.Error("init -upgrade did not lock the new checksum")
	}
}

func TestValidateChecksLockedPluginsOnly(t *testing.T) {
	const bad = `
pipeline "op" {}
stage "one" {
  step "hello" {
    action = std.noop
    colour = "red"
  }
}`
	dir := project(t, bad)
	_, diags := operation.NewValidate(operation.NewConfiguration()).Run(context.Background(), dir)
	if diags.HasErrors() || !strings.Contains(diags.Error(), `Plugin "std" is not installed`) {
		t.Fatalf("before init: want only the not-installed warning, got %v", diags)
	}
	dir = initialized(t, bad)
	res, diags := operation.NewValidate(operation.NewConfiguration()).Run(context.Background(), dir)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "colour") {
		t.Fatalf("after init: want an error on colour, got %v", diags)
	}
	if res.Steps != 1 || res.Stages != 1 {
		t.Errorf("counted %d steps in %d stages, want 1 in 1", res.Steps, res.Stages)
	}
}

func TestValidateAllowsUnsetVariables(t *testing.T) {
	dir := initialized(t, `
pipeline "op" {}
variable "tag" { type = string }
stage "one" {
  step "hello" {
    action = std.noop
    inputs = var.tag
  }
}`)
	if _, diags := operation.NewValidate(operation.NewConfiguration()).Run(context.Background(), dir); diags.HasErrors() {
		t.Fatal(diags)
	}
}

func TestPlanSavesWhatApplyThenRunsOnce(t *testing.T) {
	dir := initialized(t, twoSteps)
	planFile := filepath.Join(t.TempDir(), "saved.plan")
	op := operation.NewPlan(operation.NewConfiguration())
	op.Out = planFile
	planned, diags, err := op.Run(context.Background(), dir)
	if diags.HasErrors() || err != nil || planned.Plan.Step("after") == nil {
		t.Fatalf("plan: %v %v", diags, err)
	}

	against := func(a *operation.Apply) { a.Dir = dir } // apply PLAN DIR
	applied, events := apply(t, planFile, against)
	if applied.Result.Status != engine.StatusSucceeded || applied.RunID == "" {
		t.Fatalf("apply: %+v", applied.Result)
	}
	if got := finishedSteps(events); got != "hello,after" {
		t.Errorf("finished %s, want hello,after", got)
	}
	run := recorded(t, dir, applied.RunID)
	if run.Status != engine.StatusSucceeded || run.SavedPlan == "" {
		t.Errorf("record: %+v", run)
	}

	a := operation.NewApply(operation.NewConfiguration())
	against(a)
	_, err = a.Run(context.Background(), planFile)
	if err == nil || !strings.Contains(err.Error(), "was already applied, by run "+applied.RunID) {
		t.Fatalf("second apply of the saved plan: %v", err)
	}
	again, _ := apply(t, planFile, func(a *operation.Apply) { against(a); a.AllowReapply = true })
	if again.Result.Status != engine.StatusSucceeded {
		t.Fatalf("-allow-reapply: %+v", again.Result)
	}
}

// The plugins stop while a command writes its plan or its run's record,
// and are gone when it returns: none is left running after it.
func TestPlanAndApplyLeaveNoPluginRunning(t *testing.T) {
	dir := initialized(t, twoSteps)
	planFile := filepath.Join(t.TempDir(), "saved.plan")
	op := operation.NewPlan(operation.NewConfiguration())
	op.Out = planFile
	if _, diags, err := op.Run(context.Background(), dir); diags.HasErrors() || err != nil {
		t.Fatalf("plan: %v %v", diags, err)
	}
	if running := pluginsRunning(t); len(running) > 0 {
		t.Errorf("plan -out returned with the std plugin still running: pids %v", running)
	}
	if applied, _ := apply(t, planFile, func(a *operation.Apply) { a.Dir = dir }); applied.Result.Status != engine.StatusSucceeded {
		t.Fatalf("apply: %+v", applied.Result)
	}
	if running := pluginsRunning(t); len(running) > 0 {
		t.Errorf("apply returned with the std plugin still running: pids %v", running)
	}
}

// pluginsRunning lists this test binary's std plugin processes that have
// not exited (a zombie has, and has no executable left to name).
func pluginsRunning(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("listing processes: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == stdPlugin {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestApplyAsksAndDoesNothingWithoutYes(t *testing.T) {
	dir := initialized(t, twoSteps)
	_, err := operation.NewApply(operation.NewConfiguration()).Run(context.Background(), dir)
	if !errors.Is(err, operation.ErrNoConfirmation) {
		t.Fatalf("no confirmer and no auto-approve: %v", err)
	}
	var shown *engine.Plan
	a := operation.NewApply(operation.NewConfiguration())
	a.Confirm = func(p *engine.Plan) bool { shown = p; return false }
	a.Start = func(*engine.Plan) engine.EventSink { t.Error("a refused plan started"); return nil }
	if _, err := a.Run(context.Background(), dir); !errors.Is(err, operation.ErrNotConfirmed) {
		t.Fatalf("refused: %v", err)
	}
	if shown == nil || shown.Step("hello") == nil {
		t.Error("the plan was not shown before asking")
	}
	if list := runList(t, dir); len(list) != 0 {
		t.Errorf("a refused plan was recorded: %d runs", len(list))
	}
}

func TestApplyReportsPipelineErrorsAsDiagnostics(t *testing.T) {
	dir := initialized(t, twoSteps)
	if err := os.WriteFile(filepath.Join(dir, "pipeline.hcl"), []byte(twoSteps+"\nstage \"two\" { depends_on = [stage.nowhere] }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got hcl.Diagnostics
	var files map[string]*hcl.File
	a := operation.NewApply(operation.NewConfiguration())
	a.AutoApprove = true
	a.Diagnostics = func(f map[string]*hcl.File, d hcl.Diagnostics) { got, files = append(got, d...), f }
	if _, err := a.Run(context.Background(), dir); !errors.Is(err, operation.ErrDiagnostics) {
		t.Fatalf("apply: %v", err)
	}
	found := false
	for _, d := range got {
		found = found || d.Severity == hcl.DiagError && strings.Contains(d.Summary+d.Detail, "nowhere")
	}
	if !found || files == nil {
		t.Errorf("diagnostics %v, with files %v", got, files != nil)
	}
}

func TestResumeRunsWhatFailedWithWhatSucceeded(t *testing.T) {
	work := t.TempDir()
	dir := initialized(t, fmt.Sprintf(`
pipeline "op" {}
stage "one" {
  step "build" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo built >> %[1]s/builds.log; echo v1"]
  }
  step "deploy" {
    action     = std.exec
    command    = "test"
    args       = ["-f", "%[1]s/ready"]
    depends_on = [step.build]
  }
  step "report" {
    action = std.noop
    inputs = trimspace(step.build.stdout)
    depends_on = [step.deploy]
  }
}`, work))
	first, _ := apply(t, dir, func(a *operation.Apply) { a.AutoApprove = true })
	if first.Result.Status != engine.StatusFailed {
		t.Fatalf("first run: %s, want failed", first.Result.Status)
	}
	if err := os.WriteFile(filepath.Join(work, "ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	resumed, events := apply(t, dir, func(a *operation.Apply) { a.Resume = first.RunID })
	if resumed.Result.Status != engine.StatusSucceeded {
		t.Fatalf("resume: %s", resumed.Result.Status)
	}
	if got := startedSteps(events); got != "deploy,report" {
		t.Errorf("the resumed run started %s, want deploy,report", got)
	}
	for _, e := range events {
		if e.Type == engine.StepFinished && e.Step == "report" && e.Outputs["inputs"] != "v1" {
			t.Errorf("report got %v, want the first run's v1", e.Outputs["inputs"])
		}
	}
	if b, _ := os.ReadFile(filepath.Join(work, "builds.log")); string(b) != "built\n" {
		t.Errorf("builds.log = %q: build ran again", b)
	}
	if run := recorded(t, dir, resumed.RunID); run.ResumedFrom != first.RunID {
		t.Errorf("resumed from %q, want %s", run.ResumedFrom, first.RunID)
	}

	for id, want := range map[string]string{
		first.RunID:   "was already resumed by run " + resumed.RunID,
		resumed.RunID: "succeeded: there is nothing to resume",
		"nosuchrun":   "nosuchrun",
	} {
		a := operation.NewApply(operation.NewConfiguration())
		a.Resume = id
		if _, err := a.Run(context.Background(), dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("resume %s: %v, want %q", id, err, want)
		}
	}
}

func TestApplyRefusesAPlanOfAnotherEnvironment(t *testing.T) {
	dir := initialized(t, `
pipeline "op" {}
environment "dev" {}
environment "prod" {}
stage "one" {
  step "hello" { action = std.noop }
}`)
	planFile := filepath.Join(t.TempDir(), "dev.plan")
	op := operation.NewPlan(operation.NewConfiguration())
	op.Inputs, op.Out = dsl.Inputs{Environment: "dev"}, planFile
	if _, diags, err := op.Run(context.Background(), dir); diags.HasErrors() || err != nil {
		t.Fatal(diags, err)
	}
	a := operation.NewApply(operation.NewConfiguration())
	a.Inputs = dsl.Inputs{Environment: "prod"}
	if _, err := a.Run(context.Background(), planFile); err == nil || !strings.Contains(err.Error(), "for environment dev, not prod") {
		t.Fatalf("apply -env prod of a dev plan: %v", err)
	}
}

func TestApplyNeedsParallelism(t *testing.T) {
	a := operation.NewApply(operation.NewConfiguration())
	a.Parallelism, a.AutoApprove = 0, true
	if _, err := a.Run(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Fatalf("parallelism 0: %v", err)
	}
}

// apply runs the Apply operation on path, set up by with, and collects
// the run's events.
func apply(t *testing.T, path string, with func(*operation.Apply)) (*operation.Applied, []engine.Event) {
	t.Helper()
	var events []engine.Event
	a := operation.NewApply(operation.NewConfiguration())
	a.Start = func(*engine.Plan) engine.EventSink {
		return engine.EventFunc(func(e engine.Event) { events = append(events, e) })
	}
	if with != nil {
		with(a)
	}
	applied, err := a.Run(context.Background(), path)
	if err != nil {
		t.Fatalf("apply %s: %v", path, err)
	}
	if applied.Incomplete != nil || applied.RecordFailed {
		t.Fatalf("the record is incomplete: %v", applied.Incomplete)
	}
	return applied, events
}

func finishedSteps(events []engine.Event) string {
	var names []string
	for _, e := range events {
		if e.Type == engine.StepFinished {
			names = append(names, e.Step)
		}
	}
	return strings.Join(names, ",")
}

func startedSteps(events []engine.Event) string {
	var names []string
	for _, e := range events {
		if e.Type == engine.StepStarted {
			names = append(names, e.Step)
		}
	}
	return strings.Join(names, ",")
}

func runList(t *testing.T, dir string) []*record.Run {
	t.Helper()
	store, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func recorded(t *testing.T, dir, id string) *record.Run {
	t.Helper()
	for _, r := range runList(t, dir) {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("run %s is not recorded", id)
	return nil
}

// The meta-argument hint reaches validate's diagnostics (it used to be
// tested in dsl but never shown).
func TestValidateHintsAtAMisspelledMetaArgument(t *testing.T) {
	dir := initialized(t, `
pipeline "op" {}
stage "one" {
  step "hello" {
    action    = std.noop
    depend_on = []
  }
}`)
	_, diags := operation.NewValidate(operation.NewConfiguration()).Run(context.Background(), dir)
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, `Did you mean the meta-argument "depends_on"?`) {
		t.Fatalf("depend_on: %v", diags)
	}
}
