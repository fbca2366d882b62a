package view

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/engine"
)

// The live panel's rows go away as steps finish; what stays is one line
// per finished step (no outputs, no log lines), a failure's diagnostic and
// last output, and the summary table. A success says what its action did,
// not what its plan guessed.
func TestLiveApplyCollapsesFinishedStepsAndClosesThePanel(t *testing.T) {
	var out bytes.Buffer
	plan := &engine.Plan{Steps: []*engine.PlannedStep{
		{Name: "release", Stage: "deploy", Phase: "main", Instances: []*engine.PlannedInstance{{Summary: "upgrade alpha-members to revision 6"}}},
		{Name: "smoke", Stage: "deploy", Phase: "main", Instances: []*engine.PlannedInstance{{}}},
	}}
	v := NewLiveApply(Base{Streams: Streams{Out: &out, Err: &out, Width: 80}, Redactor: engine.NewRedactor()}, plan)
	step := func(name string, e engine.Event) {
		e.Step, e.Action, e.Stage, e.Phase = name, "helm.upgrade", "deploy", "main"
		v.Event(e)
	}
	step("release", engine.Event{Type: engine.StepStarted, Attempt: 1})
	step("smoke", engine.Event{Type: engine.StepStarted, Attempt: 1})
	step("release", engine.Event{Type: engine.StepProgress, Fraction: 0.5, Message: "waiting for pods"})
	step("release", engine.Event{Type: engine.StepLog, Message: "deployment ready"})
	step("smoke", engine.Event{Type: engine.StepLog, Message: "GET /healthz 503"})
	step("release", engine.Event{Type: engine.StepFinished, Status: engine.StatusSucceeded, Duration: time.Second,
		Message: "upgraded alpha-members from revision 6 to revision 7", Outputs: map[string]any{"stdout": "scanning layer 1 scanning layer 2"}})
	step("smoke", engine.Event{Type: engine.StepFinished, Status: engine.StatusFailed, Duration: 2 * time.Second,
		Message: "HTTP 503", Diagnostics: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Health check failed", Detail: "HTTP 503 from /healthz"}}})
	v.Result(&engine.Result{Status: engine.StatusFailed,
		Instances: map[string]engine.Status{"release": engine.StatusSucceeded, "smoke": engine.StatusFailed}}, "20261129T000000Z-abcd")
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
	plan := &engine.Plan{Steps: []*engine.PlannedStep{{Name: "a", Instances: []*engine.PlannedInstance{{Summary: "do it"}}}}}
	o := newOutcomes(plan)
	if got := o.done(engine.Event{Step: "a", Status: engine.StatusSucceeded}); got != "planned: do it" {
		t.Errorf("without a summary: %q", got)
	}
	if got := o.done(engine.Event{Step: "a", Status: engine.StatusSucceeded, Message: "did it\nand more"}); got != "did it" {
		t.Errorf("with one: %q", got)
	}
}
