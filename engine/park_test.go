package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

// Parked at a gate that waits: the steps before it ran, nothing behind it
// started, no handler ran (the run is not over), and the result names the
// gate with its deadline.
func TestParkStopsAtTheWaitingGate(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "1", 1)+`
finally {
  step "always" { action = std.noop }
}
`, dsl.Inputs{})
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	res := f.applyGated(engine.GateOptions{Answers: &scripted{}, StartedBy: "alice", Clock: &fakeClock{now: start}, Park: true})
	if res.Status != engine.StatusParked || res.GateFailure != nil || len(res.Parked) != 1 ||
		res.Parked[0].Gate != "stage.deploy" || !res.Parked[0].Until.Equal(start.Add(time.Hour)) {
		t.Fatalf("status %s, gate failure %+v, parked %+v", res.Status, res.GateFailure, res.Parked)
	}
	if f.finished("compile").Status != engine.StatusSucceeded || f.finished("release").Status != engine.StatusNotRun {
		t.Fatalf("compile %+v, release %+v", f.finished("compile"), f.finished("release"))
	}
	for _, h := range []string{"notify", "rollback", "always"} {
		if n := f.count(engine.StepStarted, h); n != 0 {
			t.Errorf("%s ran in a parked run", h)
		}
	}
}

// A gate approved ahead does not park: the run goes on.
func TestParkDoesNotStopAtAnApprovedGate(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "1", 1), dsl.Inputs{})
	answers := allAtOnce{{Gate: "stage.deploy", Approve: true, User: "bob"}}
	res := f.applyGated(engine.GateOptions{Answers: answers, StartedBy: "alice", Clock: &fakeClock{now: time.Now()}, Park: true})
	if res.Status != engine.StatusSucceeded || len(res.Parked) != 0 {
		t.Fatalf("status %s, parked %+v", res.Status, res.Parked)
	}
}

// The run resuming a parked one keeps the gate's deadline: past it, the
// gate times out at once, saying it passed while the run was parked.
func TestResumedParkedGateKeepsItsDeadline(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "1", 1), dsl.Inputs{})
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	r := &engine.Runner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor, Resumed: "parked-run",
		Gates:  engine.GateOptions{Answers: &scripted{}, Clock: &fakeClock{now: now}, Deadlines: map[string]time.Time{"stage.deploy": now.Add(-time.Minute)}},
		Events: engine.EventFunc(func(e engine.Event) { f.mu.Lock(); f.events = append(f.events, e); f.mu.Unlock() })}
	res := r.Apply(t.Context(), t.Context())
	if res.GateFailure == nil || res.GateFailure.Reason != "timed_out" || !strings.Contains(res.GateFailure.Message, "passed while run parked-run was parked there") {
		t.Fatalf("gate failure %+v", res.GateFailure)
	}
}

// on_waiting runs once the gate waits, with gate.* describing it, and
// before the run parks.
func TestOnWaitingSeesTheGate(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "1", 1)+`
on_waiting {
  step "tell" {
    action = std.noop
    inputs = "${gate.address} ${gate.approve_command} ${gate.parked} ${gate.until}"
  }
}
`, dsl.Inputs{})
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	res := f.applyGated(engine.GateOptions{Answers: &scripted{}, Clock: &fakeClock{now: start}, Park: true})
	if res.Status != engine.StatusParked {
		t.Fatalf("status %s", res.Status)
	}
	tell := f.finished("tell")
	if want := "stage.deploy pipectl approve  true 2026-11-30T11:00:00Z"; tell.Status != engine.StatusSucceeded || tell.Outputs["inputs"] != want {
		t.Fatalf("tell: %s %v, want inputs %q", tell.Status, tell.Outputs, want)
	}
}
