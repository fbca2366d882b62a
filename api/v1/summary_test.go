package v1

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The fold: a step's record follows its events (attempts, output size,
// outcome), Apply names the record it changed, failures are listed in
// the order they happened, and a gate left waiting is closed by the
// run's end. Expecting a number of instances (fewer, or more, than come)
// changes nothing of it.
func TestSummaryApply(t *testing.T) {
	for _, expect := range []int{0, 1, 100} {
		t.Run(fmt.Sprint("expect=", expect), func(t *testing.T) { testSummaryApply(t, expect) })
	}
}

func testSummaryApply(t *testing.T, expect int) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	s := NewSummary(Run{ID: "r", Status: StatusRunning})
	s.Expect(expect)
	s.Attempts = true
	changed := []int{}
	for i, e := range []Event{
		{Type: RunStarted},
		{Type: StepStarted, Step: "a", Attempt: 1, Time: t0},
		{Type: StepLog, Step: "a", Message: "12345"},
		{Type: StepRetrying, Step: "a", Attempt: 1},
		{Type: StepStarted, Step: "a", Attempt: 2, Time: t0.Add(time.Second)},
		{Type: StepLog, Step: "a", Message: "678"},
		{Type: StepStarted, Step: "d", Instance: "us", Attempt: 1, Time: t0},
		{Type: StepFinished, Step: "d", Instance: "us", Status: StatusFailed, Message: "no capacity", Attempt: 1, Time: t0.Add(time.Second)},
		{Type: StepFinished, Step: "a", Status: StatusSucceeded, Attempt: 2, Stage: "s", Duration: time.Second, Time: t0.Add(2 * time.Second)},
		{Type: GateWaiting, Gate: "stage.later", GateKind: GateApproval, Time: t0},
		{Type: GateRejected, Gate: "stage.gated", GateKind: GateApproval, User: "ann", Message: "not today"},
		{Type: RunFinished, Status: StatusFailed, Outcome: OutcomeUnchanged, Time: t0.Add(3 * time.Second)},
	} {
		if got := s.Apply(e); got >= 0 {
			changed = append(changed, i)
		}
	}
	if want := []int{1, 4, 6, 7, 8}; !slices.Equal(changed, want) {
		t.Errorf("Apply changed a record at events %v, want %v", changed, want)
	}
	r := s.Run
	if r.Status != StatusFailed || r.Outcome != OutcomeUnchanged || !r.Finished.Equal(t0.Add(3*time.Second)) || len(r.Steps) != 2 {
		t.Fatalf("run: %+v", r)
	}
	a := r.Steps[0]
	if a.Status != StatusSucceeded || a.Attempts != 2 || !a.Started.Equal(t0) || a.OutputBytes != 8 || a.OutputLines != 2 ||
		a.Stage != "s" || a.Duration != time.Second {
		t.Errorf("step a: %+v", a)
	}
	if st := s.Step("d"); st.Error != `d["us"]: no capacity` || !st.Started.Equal(t0) {
		t.Errorf("step d: %+v", st)
	}
	want := []FailedStep{{Address: `step.d["us"]`, Step: "d", Error: "no capacity"}, {Address: "stage.gated", Error: "not today"}}
	if got := s.Failed(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("failed: %+v, want %+v", got, want)
	}
	if len(r.Gates) != 2 || r.Gates[0].Status != GateStatusAbandoned || r.Gates[1].Status != GateStatusRejected ||
		len(r.Gates[1].Answers) != 1 || r.Gates[1].Answers[0].Decision != AnswerRejected || r.Gates[1].Answers[0].User != "ann" {
		t.Errorf("gates: %+v", r.Gates)
	}
}
