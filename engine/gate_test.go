package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

// These tests drive gates with a fake clock (a wait advances it at once)
// and answers given in-process; cmd/pipectl's e2e tests answer gates from
// another pipectl process through the run record, with the real clock.

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// scripted gives one more answer at each poll.
type scripted struct {
	mu      sync.Mutex
	answers []engine.GateAnswer
	polls   int
}

func (s *scripted) Answers(gate string) ([]engine.GateAnswer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls++
	var out []engine.GateAnswer
	for _, a := range s.answers[:min(s.polls-1, len(s.answers))] {
		if a.Gate == gate {
			out = append(out, a)
		}
	}
	return out, nil
}

const gated = `
pipeline "p" {}
stage "build" {
  step "compile" { action = std.noop }
}
stage "deploy" {
  depends_on = [stage.build]
  approval {
    message             = "Ship it?"
    timeout             = "1h"
    min_approvals       = %d
    allow_self_approval = false
  }
  step "release" { action = std.noop }
  on_failure {
    step "rollback" { action = std.noop }
  }
}
on_failure {
  step "notify" {
    action = std.noop
    inputs = join("; ", [for f in run.failed_steps : "${f.address}: ${f.error}"])
  }
}
`

func (f *fixture) applyGated(opts engine.GateOptions) *engine.Result {
	r := &engine.Runner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor, Gates: opts,
		Events: engine.EventFunc(func(e engine.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		})}
	return r.Apply(context.Background(), context.Background())
}

func (f *fixture) gateEvents(typ engine.EventType) []engine.Event {
	var out []engine.Event
	for _, e := range f.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestApprovalCountsOthersAndRefusesSelfApproval(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "2", 1), dsl.Inputs{})
	answers := &scripted{answers: []engine.GateAnswer{
		{Gate: "stage.deploy", Approve: true, User: "alice"}, // started the run: refused
		{Gate: "stage.deploy", Approve: true, User: "bob", Reason: "looks good"},
		{Gate: "stage.deploy", Approve: true, User: "bob"}, // twice: refused
		{Gate: "stage.deploy", Approve: true, User: "carol"},
	}}
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	res := f.applyGated(engine.GateOptions{Answers: answers, StartedBy: "alice", Clock: &fakeClock{now: start}})
	if res.Status != engine.StatusSucceeded || res.GateFailure != nil {
		t.Fatalf("status %s, gate failure %+v", res.Status, res.GateFailure)
	}
	// Which answers count is the gate's rule (package gate); the loop
	// says so for each answer, in order.
	refused := f.gateEvents(engine.GateRefused)
	if len(refused) != 2 || refused[0].User != "alice" || refused[0].Message == "" || refused[1].User != "bob" {
		t.Fatalf("refusals: %+v", refused)
	}
	approved := f.gateEvents(engine.GateApproved)
	if len(approved) != 2 || approved[0].User != "bob" || approved[0].Reason != "looks good" || approved[1].User != "carol" ||
		approved[1].Message != "stage.deploy approved by carol (2 of 2)" {
		t.Fatalf("approvals: %+v", approved)
	}
	// The stage started only once approved; the one before it did not wait.
	waiting := f.gateEvents(engine.GateWaiting)
	if len(waiting) != 1 || waiting[0].Message != "Ship it?" || !waiting[0].Until.Equal(start.Add(time.Hour)) {
		t.Fatalf("waiting: %+v", waiting)
	}
	if !f.finished("compile").Time.Before(waiting[0].Time) || f.started("release").Time.Before(approved[1].Time) {
		t.Fatal("the gate did not hold deploy back until approved, or held build back")
	}
}

func TestRejectedGateFailsTheRunAndRunsThePipelineHandlers(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "1", 1), dsl.Inputs{})
	answers := &scripted{answers: []engine.GateAnswer{{Gate: "stage.deploy", Approve: false, User: "bob", Reason: "not on a Friday"}}}
	res := f.applyGated(engine.GateOptions{Answers: answers, StartedBy: "alice", Clock: &fakeClock{now: time.Now()}})
	if res.Status != engine.StatusFailed || res.GateFailure == nil || res.GateFailure.Reason != "rejected" {
		t.Fatalf("status %s, gate failure %+v", res.Status, res.GateFailure)
	}
	if e := f.finished("release"); e.Status != engine.StatusNotRun || !strings.Contains(e.Message, "rejected by bob: not on a Friday") {
		t.Fatalf("release: %+v", e)
	}
	// Nothing of the stage ran, so there is nothing to roll back; the
	// pipeline's handlers hear of the failure.
	if got := f.finished("notify").Outputs["inputs"]; got != "stage.deploy: stage.deploy was rejected by bob: not on a Friday" {
		t.Errorf("run.failed_steps in the handler: %v", f.finished("notify").Outputs)
	}
	if f.finished("notify").Status != engine.StatusSucceeded || f.count(engine.StepStarted, "rollback") != 0 {
		t.Fatalf("handlers: notify %+v, rollback started %d times", f.finished("notify"), f.count(engine.StepStarted, "rollback"))
	}
	if !res.HandlersRan || res.HandlersFailed {
		t.Fatalf("handlers ran %v, failed %v", res.HandlersRan, res.HandlersFailed)
	}
}

func TestGateTimesOutOnTheClock(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "1", 1), dsl.Inputs{})
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	res := f.applyGated(engine.GateOptions{Answers: &scripted{}, StartedBy: "alice", Clock: clock})
	if res.GateFailure == nil || res.GateFailure.Reason != "timed_out" || !strings.Contains(res.GateFailure.Message, "within 1h0m0s") {
		t.Fatalf("gate failure %+v", res.GateFailure)
	}
	if got := clock.Now().Sub(start); got != time.Hour {
		t.Fatalf("timed out after %s of clock time, want 1h", got)
	}
	if len(f.gateEvents(engine.GateTimedOut)) != 1 || f.finished("notify").Status != engine.StatusSucceeded {
		t.Fatal("no gate_timed_out event, or the pipeline's on_failure did not run")
	}
}

func TestCancelWhileWaitingForApproval(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "1", 1), dsl.Inputs{})
	ctx, cancel := context.WithCancel(context.Background())
	r := &engine.Runner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor,
		Gates: engine.GateOptions{Answers: &scripted{}, PollEvery: 10 * time.Millisecond},
		Events: engine.EventFunc(func(e engine.Event) {
			if e.Type == engine.GateWaiting {
				cancel()
			}
		})}
	res := r.Apply(ctx, context.Background())
	if res.Status != engine.StatusCancelled || res.Steps["release"] != engine.StatusCancelled {
		t.Fatalf("status %s, release %s", res.Status, res.Steps["release"])
	}
}

const windowed = `
pipeline "p" {}
stage "deploy" {
  window {
    days      = ["mon-fri"]
    hours     = "09:00-17:00"
    time_zone = "Europe/Berlin"
  }
  freeze {
    from      = "2026-12-24"
    to        = "2026-12-26"
    reason    = "Christmas"
    time_zone = "Europe/Berlin"
  }
  outside_window = "%s"
  step "release" { action = std.noop }
}
`

func TestWindowWaitsForTheNextOpening(t *testing.T) {
	f := load(t, strings.Replace(windowed, "%s", "wait", 1), dsl.Inputs{})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2026, 12, 23, 18, 30, 0, 0, berlin) // Wednesday evening, before the freeze
	clock := &fakeClock{now: start}
	res := f.applyGated(engine.GateOptions{Clock: clock})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s", res.Status)
	}
	// When the window opens is the gate's arithmetic (package gate: the
	// freeze, then the weekend); the loop says when and sleeps until then.
	waiting := f.gateEvents(engine.GateWaiting)
	if len(waiting) != 1 || !waiting[0].Until.After(start) || waiting[0].GateKind != "window" {
		t.Fatalf("waiting: %+v", waiting)
	}
	if want := waiting[0].Until; !clock.Now().Equal(want) || !f.started("release").Time.After(waiting[0].Time) {
		t.Fatalf("started at %s, want %s", clock.Now(), want)
	}
}

func TestWindowFailsOrIsOverridden(t *testing.T) {
	saturday := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f := load(t, strings.Replace(windowed, "%s", "fail", 1), dsl.Inputs{})
	res := f.applyGated(engine.GateOptions{Clock: &fakeClock{now: saturday}})
	if res.GateFailure == nil || res.GateFailure.Reason != "window_closed" || !strings.Contains(res.GateFailure.Message, `stage.deploy may not start now: it is outside the deploy windows`) ||
		!strings.HasSuffix(res.GateFailure.Message, `(outside_window = "fail")`) {
		t.Fatalf("gate failure %+v", res.GateFailure)
	}
	if f.finished("release").Status != engine.StatusNotRun {
		t.Fatalf("release: %+v", f.finished("release"))
	}

	f = load(t, strings.Replace(windowed, "%s", "fail", 1), dsl.Inputs{})
	res = f.applyGated(engine.GateOptions{Clock: &fakeClock{now: saturday}, User: "oncall", OverrideWindow: "hotfix for INC-42"})
	over := f.gateEvents(engine.GateWindowOverridden)
	if res.Status != engine.StatusSucceeded || len(over) != 1 || over[0].User != "oncall" || over[0].Reason != "hotfix for INC-42" {
		t.Fatalf("status %s, overrides %+v", res.Status, over)
	}
}

func TestPlanShowsGates(t *testing.T) {
	f := load(t, strings.Replace(windowed, "%s", "wait", 1)+`
stage "verify" {
  depends_on = [stage.deploy]
  step "check" {
    action = std.noop
    approval {
      approvers = ["bob", "carol"]
    }
  }
}`, dsl.Inputs{})
	plan := f.plan()
	if len(plan.Gates) != 2 {
		t.Fatalf("gates %+v", plan.Gates)
	}
	d, c := plan.Gate("stage.deploy"), plan.Gate("step.check")
	if d.Approval != nil || d.Windows[0] != "mon-fri 09:00-17:00 Europe/Berlin" || d.OutsideWindow != "wait" || d.OpenAt == nil ||
		!strings.Contains(d.Freezes[0], "(Christmas)") {
		t.Fatalf("deploy gate %+v", d)
	}
	if c.Approval == nil || c.Approval.Message != "Approve step check?" || c.Approval.MinApprovals != 1 || len(c.Approval.Approvers) != 2 || c.Windows != nil {
		t.Fatalf("check gate %+v", c.Approval)
	}
}

func TestStepApprovalHoldsOnlyThatStep(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "check" { action = std.noop }
  step "migrate" {
    action = std.noop
    approval {
      approvers = ["dba"]
    }
  }
  step "skipped" {
    action = std.noop
    when   = false
    approval {}
  }
}`, dsl.Inputs{})
	answers := &scripted{answers: []engine.GateAnswer{
		{Gate: "step.migrate", Approve: true, User: "dev"}, // not an approver
		{Gate: "step.migrate", Approve: true, User: "dba"},
	}}
	res := f.applyGated(engine.GateOptions{Answers: answers, StartedBy: "dev", Clock: &fakeClock{now: time.Now()}})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s", res.Status)
	}
	refused, approved := f.gateEvents(engine.GateRefused), f.gateEvents(engine.GateApproved)
	if len(refused) != 1 || refused[0].User != "dev" || len(approved) != 1 || approved[0].Gate != "step.migrate" {
		t.Fatalf("refused %+v, approved %+v", refused, approved)
	}
	// Only migrate waits: a skipped step does not ask.
	if w := f.gateEvents(engine.GateWaiting); len(w) != 1 || w[0].Gate != "step.migrate" || f.started("migrate").Time.Before(approved[0].Time) {
		t.Fatalf("waiting: %+v", w)
	}
	if f.finished("skipped").Status != engine.StatusSkipped {
		t.Fatalf("skipped: %+v", f.finished("skipped"))
	}
}

// With fail_fast (the default), a failure elsewhere stops the wait at a
// gate: the gated stage cannot start anyway.
func TestFailureElsewhereEndsTheWaitAtAGate(t *testing.T) {
	gateWaits := filepath.Join(t.TempDir(), "gate-waits")
	f := load(t, fmt.Sprintf(`
pipeline "p" {}
stage "deploy" {
  approval {}
  step "release" { action = std.noop }
}
stage "checks" {
  step "lint" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "while [ ! -e %s ]; do sleep 0.05; done; exit 1"]
  }
}`, gateWaits), dsl.Inputs{})
	// lint fails once the gate waits (the file), not after some time.
	r := &engine.Runner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor, Gates: engine.GateOptions{Answers: &scripted{}, PollEvery: 10 * time.Millisecond},
		Events: engine.EventFunc(func(e engine.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
			if e.Type == engine.GateWaiting {
				_ = os.WriteFile(gateWaits, nil, 0o644)
			}
		})}
	done := make(chan *engine.Result)
	go func() { done <- r.Apply(context.Background(), context.Background()) }()
	select {
	case res := <-done:
		if len(f.gateEvents(engine.GateWaiting)) != 1 {
			t.Fatal("the gate was not waiting when lint failed: the test proves nothing")
		}
		if res.Status != engine.StatusFailed || res.GateFailure != nil || res.Steps["release"] != engine.StatusNotRun {
			t.Fatalf("status %s, gate failure %+v, release %s", res.Status, res.GateFailure, res.Steps["release"])
		}
	case <-time.After(time.Minute): // a hang bound
		t.Fatal("the run still waits at the gate after lint failed")
	}
}

// allAtOnce gives every answer at the first poll: answers given at the
// same moment.
type allAtOnce []engine.GateAnswer

func (a allAtOnce) Answers(string) ([]engine.GateAnswer, error) { return a, nil }

// Answers read with those that passed the gate, but after them, are
// recorded as refused, not lost (issue 30 item 3).
func TestAnswersAfterThePassAreRefusedNotLost(t *testing.T) {
	f := load(t, strings.Replace(gated, "%d", "1", 1), dsl.Inputs{})
	answers := allAtOnce{
		{Gate: "stage.deploy", Approve: true, User: "bob"},
		{Gate: "stage.deploy", Approve: true, User: "bob"},
		{Gate: "stage.deploy", Approve: false, User: "carol", Reason: "wait"},
	}
	res := f.applyGated(engine.GateOptions{Answers: answers, StartedBy: "alice", Clock: &fakeClock{now: time.Now()}})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s, gate failure %+v", res.Status, res.GateFailure)
	}
	refused := f.gateEvents(engine.GateRefused)
	if len(refused) != 2 || refused[0].User != "bob" || refused[1].User != "carol" || refused[1].Reason != "wait" ||
		!strings.Contains(refused[0].Message, "stage.deploy had already passed") {
		t.Fatalf("refusals: %+v", refused)
	}
}
