package view

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine/pluginhost"
)

// The golden tests pin the bytes of every JSON view: the -json contract
// (docs/json-events.md) may only grow, so a change here is a change of
// the format and must bump JSONFormatVersion. Rewrite the files with
// go test ./internal/view -run Golden -update, and review the diff.
var update = flag.Bool("update", false, "rewrite testdata/golden/*.json")

var (
	t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(1500 * time.Millisecond)
)

// jsonBase is the Base of a -json command writing to out, its clock fixed.
func jsonBase(out *bytes.Buffer) Base {
	s := NewJSONStream(out, out)
	s.now = func() time.Time { return t0 }
	return Base{Streams: Streams{Out: out, Err: out}, JSON: true, JSONOut: s, Files: goldenFiles}
}

const goldenSource = "step \"deploy\" {\n  action = helm.install\n}\n"

func goldenFiles() map[string]*hcl.File {
	return map[string]*hcl.File{"main.pipe.hcl": {Bytes: []byte(goldenSource)}}
}

func goldenDiags() hcl.Diagnostics {
	rng := hcl.Range{Filename: "main.pipe.hcl", Start: hcl.Pos{Line: 2, Column: 12, Byte: 27}, End: hcl.Pos{Line: 2, Column: 24, Byte: 39}}
	return hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Unknown action", Detail: "There is no action helm.install; did you mean helm.upgrade?", Subject: &rng},
		{Severity: hcl.DiagWarning, Summary: "Unused variable", Detail: "Variable \"region\" is declared but never read."},
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: the -json output is a contract (docs/json-events.md)\n got:\n%s\nwant:\n%s", path, got, want)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(got), []byte("\n")) {
		if !json.Valid(line) {
			t.Errorf("%s: line %d is not JSON: %s", path, i+1, line)
		}
	}
}

func goldenPlan() *v1.Plan {
	open := t0.Add(2 * time.Hour)
	return &v1.Plan{Pipeline: "shop", Environment: "prod",
		Steps: []*v1.PlannedStep{
			{Name: "build", Stage: "build", Phase: v1.PhaseMain, Action: "std.exec", Run: v1.DecisionRun, Timeout: "5m", Attempts: 2,
				Instances: []*v1.PlannedInstance{{Key: "*", Kind: "change", Summary: "runs make", Config: map[string]any{"cmd": "make"}}}},
			{Name: "deploy", Stage: "ship", Phase: v1.PhaseMain, Action: "helm.upgrade", DependsOn: []string{"build"}, Run: v1.DecisionUnknown,
				When: "var.ship", Deferred: true, ContinueOnError: true, Instances: []*v1.PlannedInstance{
					{Key: "eu", Kind: "change", Summary: "upgrade shop", Change: "~ image: 1.0 -> 1.1\n"}, {Key: "us", Skipped: true}}},
			{Name: "smoke", Stage: "ship", Phase: v1.PhaseMain, Action: "std.exec", Run: v1.DecisionRun, LeftOut: "not a -target",
				Instances: []*v1.PlannedInstance{}},
			{Name: "rollback", Stage: "ship", Phase: v1.PhaseStageOnFailure, Action: "helm.rollback", Run: v1.DecisionRun,
				Restores: []string{"deploy"}, Instances: []*v1.PlannedInstance{{Key: "*", Kind: "change"}}},
		},
		Gates: []*v1.PlannedGate{{Gate: "stage.ship",
			Approval: &v1.PlannedApproval{Message: "Ship it?", Timeout: "1h", Approvers: []string{"alice", "bob"}, MinApprovals: 2},
			Windows:  []string{"mon-fri 09:00-17:00 Europe/Berlin"}, Freezes: []string{"freeze xmas"}, OutsideWindow: "wait", OpenAt: &open}},
		Outputs:        map[string]any{"url": "https://shop", "token": v1.Redacted, "rev": v1.Unknown},
		OutputsLeftOut: map[string]string{"smoke_log": "reads step.smoke, left out"},
		Targets:        []string{"step.deploy"},
	}
}

func goldenEvents() []v1.Event {
	until := t0.Add(time.Hour)
	diagRange := hcl.Range{Filename: "main.pipe.hcl", Start: hcl.Pos{Line: 1, Column: 1, Byte: 0}, End: hcl.Pos{Line: 1, Column: 14, Byte: 13}}
	return []v1.Event{
		{Type: v1.RunStarted, Time: t0, Message: "shop", Environment: "prod"},
		{Type: v1.PhaseStarted, Time: t0, Phase: v1.PhaseMain, Stage: "build"},
		{Type: v1.StepStarted, Time: t0, Phase: v1.PhaseMain, Stage: "build", Step: "build", Action: "std.exec", Attempt: 1},
		{Type: v1.StepLog, Time: t0, Phase: v1.PhaseMain, Stage: "build", Step: "build", Action: "std.exec", Attempt: 1, Stream: "stdout", Message: "compiling"},
		{Type: v1.StepProgress, Time: t0, Phase: v1.PhaseMain, Stage: "build", Step: "build", Action: "std.exec", Attempt: 1, Fraction: 0.5, Message: "half"},
		{Type: v1.StepArtifact, Time: t0, Phase: v1.PhaseMain, Stage: "build", Step: "build", Action: "std.exec", Attempt: 1, Artifact: "sbom.json", Message: "application/json", Size: 42, Data: []byte("{}")},
		{Type: v1.StepRetrying, Time: t0, Phase: v1.PhaseMain, Stage: "build", Step: "build", Action: "std.exec", Attempt: 1, Message: "exit status 1; retrying"},
		{Type: v1.StepFinished, Time: t1, Phase: v1.PhaseMain, Stage: "build", Step: "build", Action: "std.exec", Attempt: 2, Status: v1.StatusSucceeded,
			Duration: 1500 * time.Millisecond, Message: "built", Outputs: map[string]any{"image": "shop:1.1"}},
		{Type: v1.GateWaiting, Time: t1, Gate: "stage.ship", GateKind: "approval", Message: "Ship it?", Until: until},
		{Type: v1.GateRefused, Time: t1, Gate: "stage.ship", User: "carol", Message: "not an approver"},
		{Type: v1.GateApproved, Time: t1, Gate: "stage.ship", GateKind: "approval", User: "alice", Reason: "looks good", Message: "stage.ship approved by alice"},
		{Type: v1.GatePassed, Time: t1, Gate: "stage.ship", Message: "stage.ship passed"},
		{Type: v1.StepFinished, Time: t1, Phase: v1.PhaseMain, Stage: "ship", Step: "deploy", Instance: "eu", Action: "helm.upgrade", Attempt: 1,
			Status: v1.StatusFailed, Duration: 2 * time.Second, Message: "upgrade failed",
			Diagnostics:         hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Release failed", Detail: "timed out", Subject: &diagRange}},
			RecordedDiagnostics: []v1.Diagnostic{{Severity: "error", Summary: "Release failed", Detail: "timed out"}}},
		{Type: v1.PhaseStarted, Time: t1, Phase: v1.PhaseStageOnFailure, Stage: "ship"},
		{Type: v1.RunCancelling, Time: t1, Message: "Interrupt received: stopping"},
		{Type: v1.OutputsFailed, Time: t1, Message: "outputs failed", Diagnostics: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Bad output"}}},
		{Type: v1.RunFinished, Time: t1, Status: v1.StatusFailed},
	}
}

func goldenRun() *v1.Run {
	return &v1.Run{ID: "r-0001", Pipeline: "shop", Environment: "prod", Status: v1.StatusFailed, Outcome: v1.OutcomeRestored,
		Started: t0, Finished: t1, SavedPlan: "sha256:abc", Outputs: map[string]any{"url": "https://shop"}, StartedBy: "alice",
		ForceUnlocked: &v1.ForceUnlock{By: "bob", At: t1, Reason: "host died"},
		Gates: []v1.GateRecord{{Gate: "stage.ship", Kind: "approval", Status: "approved", Since: t0,
			Answers: []v1.AnswerRecord{{User: "alice", Decision: "approved", Reason: "ok", Time: t1}}}},
		Steps: []v1.StepRecord{
			{Step: "build", Phase: v1.PhaseMain, Action: "std.exec", Status: v1.StatusSucceeded, Attempts: 2, Started: t0, Finished: t1,
				Outputs: map[string]any{"image": "shop:1.1"}, OutputBytes: 120, OutputLines: 3},
			{Step: "deploy", Instance: "eu", Phase: v1.PhaseMain, Action: "helm.upgrade", Status: v1.StatusFailed, Attempts: 1, Started: t0,
				Message: "upgrade failed", Diagnostics: []v1.Diagnostic{{Severity: "error", Summary: "Release failed"}}},
		}}
}

func TestGoldenValidateJSON(t *testing.T) {
	var out bytes.Buffer
	NewValidate(jsonBase(&out)).Result(goldenDiags(), "ignored")
	checkGolden(t, "validate", out.Bytes())

	out.Reset()
	NewValidate(jsonBase(&out)).Result(nil, "ignored")
	checkGolden(t, "validate_valid", out.Bytes())
}

func TestGoldenPlanJSON(t *testing.T) {
	var out bytes.Buffer
	NewPlan(jsonBase(&out)).Show(goldenPlan())
	checkGolden(t, "plan", out.Bytes())
}

func TestGoldenApplyJSON(t *testing.T) {
	var out bytes.Buffer
	v := NewApply(jsonBase(&out), true, goldenPlan())
	for _, e := range goldenEvents() {
		v.Event(e)
	}
	v.Result(&v1.Result{Status: v1.StatusFailed, Outcome: v1.OutcomeRestored,
		Instances:   map[string]v1.Status{"build": v1.StatusSucceeded, `deploy["eu"]`: v1.StatusFailed, "rollback": v1.StatusSucceeded},
		Outputs:     map[string]cty.Value{"url": cty.StringVal("https://shop"), "n": cty.NumberIntVal(3)},
		GateFailure: &v1.GateFailure{Gate: "stage.ship", Reason: "rejected", Message: "stage.ship rejected by bob"}}, "r-0001")
	checkGolden(t, "apply", out.Bytes())
}

func TestGoldenRunsJSON(t *testing.T) {
	var out bytes.Buffer
	NewRuns(jsonBase(&out)).List([]*v1.Run{goldenRun(), {ID: "r-0000", Pipeline: "shop", Status: v1.StatusSucceeded, Started: t0}})
	checkGolden(t, "runs_list", out.Bytes())

	out.Reset()
	plan, err := json.Marshal(goldenPlan())
	if err != nil {
		t.Fatal(err)
	}
	err = NewRuns(jsonBase(&out)).Show(goldenRun(), plan, true, func(fn func(v1.Event) error) error {
		for _, e := range goldenEvents() {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "runs_show", out.Bytes())
}

func TestGoldenRunLogsJSON(t *testing.T) {
	var out bytes.Buffer
	v := NewRunLogs(jsonBase(&out), true, 0)
	for _, e := range goldenEvents() {
		v.Event(e)
	}
	checkGolden(t, "runs_logs", out.Bytes())
}

func TestGoldenRunArtifactsJSON(t *testing.T) {
	var out bytes.Buffer
	NewRunArtifacts(jsonBase(&out)).List([]v1.Artifact{
		{Seq: 1, Phase: v1.PhaseMain, Stage: "build", Step: "build", Attempt: 1, Name: "sbom.json", MediaType: "application/json", Size: 42, Time: t0},
		{Seq: 2, Phase: v1.PhaseMain, Stage: "ship", Step: "deploy", Instance: "eu", Name: "secret.bin", Size: 9, Time: t1, NotKept: "it holds a sensitive value"},
	}, map[uint64]string{1: "out/sbom.json"})
	checkGolden(t, "runs_artifacts", out.Bytes())
}

func TestGoldenInitJSON(t *testing.T) {
	var out bytes.Buffer
	v := NewInit(jsonBase(&out))
	v.Diagnostics(goldenDiags())
	v.Locked("helm", pluginhost.LockedPlugin{Version: "1.2.0", SHA256: "0123456789abcdef0123456789abcdef"}, nil)
	v.Locked("trivy", pluginhost.LockedPlugin{Version: "0.1.0"}, errors.New("not found in PATH"))
	v.Result(true)
	checkGolden(t, "init", out.Bytes())
}

func TestGoldenFmtJSON(t *testing.T) {
	var out bytes.Buffer
	v := NewFmt(jsonBase(&out), true)
	v.Unformatted("main.pipe.hcl", true, "--- a\n+++ b\n")
	v.Unformatted("other.pipe.hcl", false, "")
	v.Result(3, 2)
	checkGolden(t, "fmt", out.Bytes())
}

func TestGoldenPluginSchemaJSON(t *testing.T) {
	var out bytes.Buffer
	NewPluginSchema(jsonBase(&out)).Show(deploySchema, "")
	checkGolden(t, "plugins_show", out.Bytes())

	out.Reset()
	NewPluginSchema(jsonBase(&out)).Show(deploySchema, "deploy")
	checkGolden(t, "plugins_show_action", out.Bytes())
}
