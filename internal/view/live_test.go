package view

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
)

// The live panel's rows go away as steps finish; what stays is one line
// per finished step (no outputs, no log lines), a failure's diagnostic and
// last output, and the summary table. A success says what its action did,
// not what its plan guessed.
func TestApplyLiveCollapsesFinishedStepsAndClosesThePanel(t *testing.T) {
	var out bytes.Buffer
	plan := &v1.Plan{Steps: []*v1.PlannedStep{
		{Name: "release", Stage: "deploy", Phase: "main", Instances: []*v1.PlannedInstance{{Summary: "upgrade alpha-members to revision 6"}}},
		{Name: "smoke", Stage: "deploy", Phase: "main", Instances: []*v1.PlannedInstance{{}}},
	}}
	v := NewApplyLive(Base{Streams: Streams{Out: &out, Err: &out, Width: 80}, Redactor: engine.NewRedactor()}, plan)
	step := func(name string, e v1.Event) {
		e.Step, e.Action, e.Stage, e.Phase = name, "helm.upgrade", "deploy", "main"
		v.Event(e)
	}
	step("release", v1.Event{Type: v1.StepStarted, Attempt: 1})
	step("smoke", v1.Event{Type: v1.StepStarted, Attempt: 1})
	step("release", v1.Event{Type: v1.StepProgress, Fraction: 0.5, Message: "waiting for pods"})
	step("release", v1.Event{Type: v1.StepLog, Message: "deployment ready"})
	step("smoke", v1.Event{Type: v1.StepLog, Message: "GET /healthz 503"})
	step("release", v1.Event{Type: v1.StepFinished, Status: v1.StatusSucceeded, Duration: time.Second,
		Message: "upgraded alpha-members from revision 6 to revision 7", Outputs: map[string]any{"stdout": "scanning layer 1 scanning layer 2"}})
	step("smoke", v1.Event{Type: v1.StepFinished, Status: v1.StatusFailed, Duration: 2 * time.Second,
		Message: "HTTP 503", Diagnostics: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Health check failed", Detail: "HTTP 503 from /healthz"}}})
	v.Result(&v1.Result{Status: v1.StatusFailed,
		Instances: map[string]v1.Status{"release": v1.StatusSucceeded, "smoke": v1.StatusFailed}}, "20261129T000000Z-abcd")
	text := out.String()
	for _, want := range []string{
		"✓ release 1s       upgraded alpha-members from revision 6 to revision 7", "✗ smoke   2s       failed: Health check failed",
		"deploy  succeeded  1s        upgraded alpha-members from revision 6 to revision 7",
		"HTTP 503 from /healthz", "last output of smoke:", "│ GET /healthz 503",
		"STEP", "Run failed. 1 succeeded, 1 failed", "Recorded as run 20261129T000000Z-abcd",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"scanning layer", "release │", "release: ", "to revision 6"} { // panel frames aside (no terminal here)
		if strings.Contains(text, unwanted) {
			t.Errorf("output has %q (outputs or log lines echoed):\n%s", unwanted, text)
		}
	}
	if len(v.rows) != 0 {
		t.Errorf("%d rows left open", len(v.rows))
	}
}

func TestLiveRowIsCutToTheTerminalWidth(t *testing.T) {
	r := &liveRow{name: "release", action: "helm.upgrade", state: "running", started: time.Now(),
		latest: strings.Repeat("a very long log line ", 20)}
	if got := []rune(r.line(10, 60)); len(got) > 59 {
		t.Errorf("row is %d runes wide on a 60-column terminal: %q", len(got), string(got))
	}
}

// A plugin that does not say what its apply did gets its plan's summary,
// marked as the forecast it was.
func TestSuccessWithoutSummaryShowsThePlanAsPlanned(t *testing.T) {
	plan := &v1.Plan{Steps: []*v1.PlannedStep{{Name: "a", Instances: []*v1.PlannedInstance{{Summary: "do it"}}}}}
	o := newOutcomes(plan)
	if got := o.done("a", "", ""); got != "planned: do it" {
		t.Errorf("without a summary: %q", got)
	}
	if got := o.done("a", "", "did it\nand more"); got != "did it" {
		t.Errorf("with one: %q", got)
	}
}
