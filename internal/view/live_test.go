package view

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
)

func TestLiveApplyPrintsEventLinesAndClosesThePanel(t *testing.T) {
	var out bytes.Buffer
	v := NewLiveApply(Base{Streams: Streams{Out: &out, Err: &out}})
	base := engine.Event{Step: "release", Action: "helm.upgrade", Time: time.Now()}
	for _, e := range []engine.Event{
		{Type: engine.StepStarted, Attempt: 1},
		{Type: engine.StepProgress, Fraction: 0.5, Message: "waiting for pods"},
		{Type: engine.StepLog, Message: "deployment ready"},
		{Type: engine.StepFinished, Status: engine.StatusSucceeded, Duration: time.Second},
	} {
		e.Step, e.Action = base.Step, base.Action
		v.Event(e)
	}
	v.Result(&engine.Result{Status: engine.StatusSucceeded, Steps: map[string]engine.Status{"release": engine.StatusSucceeded},
		Instances: map[string]engine.Status{"release": engine.StatusSucceeded}}, "")
	text := out.String()
	for _, want := range []string{"release: helm.upgrade started", "release │ deployment ready", "release: succeeded in 1s", "Run succeeded. 1 succeeded"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%q", want, text)
		}
	}
	if len(v.bars) != 0 {
		t.Errorf("%d bars left open", len(v.bars))
	}
}
