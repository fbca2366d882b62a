package operation

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// incompleteRun records a run of steps a, b, c whose record failed after
// a started, with the outcomes kept beside it as keep writes them.
func incompleteRun(t *testing.T, keep func(record.OutcomeLog)) *record.Store {
	t.Helper()
	local := record.NewLocal(t.TempDir())
	if err := local.Init(); err != nil {
		t.Fatal(err)
	}
	log, err := local.KeepOutcomes("r1", 3)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := json.Marshal(&engine.Plan{Pipeline: "p", Steps: []*engine.PlannedStep{
		{Name: "a", Phase: engine.PhaseMain, Run: engine.DecisionRun},
		{Name: "b", Phase: engine.PhaseMain, Run: engine.DecisionRun},
		{Name: "c", Phase: engine.PhaseMain, Run: engine.DecisionRun},
	}})
	run := &record.Run{ID: "r1", Pipeline: "p", Started: time.Now(), Status: record.StatusRunning,
		Steps: []record.StepRecord{{Step: "a", Phase: engine.PhaseMain, Status: record.StatusRunning}}}
	if err := local.CreateRun(0, run, plan); err != nil {
		t.Fatal(err)
	}
	keep(log)
	_ = log.Close()
	if err := local.MarkIncomplete("r1", true); err != nil {
		t.Fatal(err)
	}
	return &record.Store{Backend: local}
}

// When keeping the outcomes failed too (the file filled up), the resume
// is refused and names the steps that may have run.
func TestResumeRefusedWhenKeepingOutcomesFailed(t *testing.T) {
	store := incompleteRun(t, func(log record.OutcomeLog) {
		for {
			if err := log.Append(record.Outcome{Step: "b", Phase: engine.PhaseMain, Status: record.StatusRunning}); err != nil {
				return
			}
		}
	})
	_, err := loadResumption(store, "r1")
	if err == nil || !strings.Contains(err.Error(), "keeping its step outcomes failed too") ||
		!strings.Contains(err.Error(), "Steps that may have run: a (interrupted), b (interrupted), c (not recorded)") {
		t.Errorf("resume: %v", err)
	}
}

// A step that succeeded whose value was kept nowhere would run again: the
// resume is refused, naming it.
func TestResumeRefusedWhenAValueWasNotKept(t *testing.T) {
	store := incompleteRun(t, func(log record.OutcomeLog) {
		_ = log.Append(record.Outcome{Step: "a", Phase: engine.PhaseMain, Status: engine.StatusSucceeded})
		_ = log.Append(record.Outcome{Step: "a", Phase: engine.PhaseMain, Status: engine.StatusSucceeded, Done: true, ValueNotKept: true})
	})
	_, err := loadResumption(store, "r1")
	if err == nil || !strings.Contains(err.Error(), "step a succeeded in it but what it evaluated to was not kept") ||
		!strings.Contains(err.Error(), "a (succeeded), b (not recorded), c (not recorded)") {
		t.Errorf("resume: %v", err)
	}
}
