package v1

// Status is the state of a step instance or a run: one closed set, every
// value pipectl writes to a record, an event or a view.
type Status string

const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	// StatusFailedContinued is a failed step with continue_on_error: the run goes on.
	StatusFailedContinued Status = "failed_continued"
	StatusSkipped         Status = "skipped"   // its when condition was false
	StatusCancelled       Status = "cancelled" // stopped by Ctrl-C
	StatusNotRun          Status = "not_run"   // never started: an earlier failure stopped the run
	// StatusUnchanged: its plan said "no change" for the very config it has
	// at apply, so it was not applied; its outputs are the planned ones.
	StatusUnchanged Status = "unchanged"
	// StatusRunning: a run or step instance not finished yet (as recorded).
	StatusRunning Status = "running"
	// StatusInterrupted: recorded running, but its process died (the
	// environment's lock is free); records say so when read, never write it.
	StatusInterrupted Status = "interrupted"
	// StatusGateBlocked is what the scheduler sees of a step its gate
	// stopped: the run fails, its record says not_run. Never recorded.
	StatusGateBlocked Status = "gate_blocked"
	// StatusParked: a run of apply -park that stopped at a gate waiting
	// for approval. It keeps its environment's lock (the lock names the
	// run, no process) until apply -resume continues it on any runner.
	StatusParked Status = "parked"
)

// Statuses is the closed set, in the order above.
var Statuses = []Status{StatusSucceeded, StatusFailed, StatusFailedContinued, StatusSkipped, StatusCancelled,
	StatusNotRun, StatusUnchanged, StatusRunning, StatusInterrupted, StatusGateBlocked, StatusParked}

// Failed: a failure, whether or not the run went on.
func (s Status) Failed() bool { return s == StatusFailed || s == StatusFailedContinued }

// Outcome is what a run that did not succeed left its target as, so that
// CI can tell "blocked before deploy" from "deployed, then rolled back"
// (docs/cli.md, Exit statuses).
type Outcome string

const (
	// OutcomeUnchanged: no step that changes the target ran (its plan
	// said it would change something): nothing was deployed.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomeRestored: every step that changed the target has a failure
	// handler that changes the same target, and that handler succeeded.
	OutcomeRestored Outcome = "restored"
	// OutcomeChanged: a step changed the target and nothing restored it.
	OutcomeChanged Outcome = "changed"
)

// Phase is a part of a run: the main steps, then the handlers.
type Phase string

const (
	PhaseMain           Phase = "main"
	PhaseStageOnFailure Phase = "stage_on_failure"
	PhaseOnFailure      Phase = "on_failure"
	PhaseFinally        Phase = "finally"
	// PhaseOnWaiting: the on_waiting steps, run each time an approval
	// gate starts waiting (to tell its approvers).
	PhaseOnWaiting Phase = "on_waiting"
)

// FailureHandler: the phases that run only when the run failed.
func (p Phase) FailureHandler() bool { return p == PhaseStageOnFailure || p == PhaseOnFailure }

// Decision is whether a step runs, as validate, plan and apply all see it.
// Its values are the plan's "run" field.
type Decision string

const (
	// DecisionRun: the step runs (some for_each instances may still be
	// skipped by a when that reads each.*).
	DecisionRun Decision = "yes"
	// DecisionSkip: its when, or its stage's, is false.
	DecisionSkip Decision = "no"
	// DecisionUnknown: its when depends on outputs known only at apply.
	DecisionUnknown Decision = "unknown"
	// DecisionNotRun: it never started, because a step it depends on
	// failed or the run was cancelled (apply only).
	DecisionNotRun Decision = "not_run"
)

// Reason says why a step (or an instance) does not run, as the run's
// events and records say it.
type Reason string

const (
	ReasonWhenFalse         Reason = "when condition is false"
	ReasonStageWhenFalse    Reason = "stage condition is false"
	ReasonNotStarted        Reason = "not started: an earlier step failed or the run was cancelled"
	ReasonInstanceWhenFalse Reason = "when condition is false for this instance"
	ReasonUnknownUntilApply Reason = "when condition is not known until apply"
)

// GateKind is what a gate waits for.
type GateKind string

const (
	GateApproval GateKind = "approval"
	GateWindow   GateKind = "window"
)

// GateStatus is what happened at a gate, as its record says.
type GateStatus string

const (
	GateStatusWaiting      GateStatus = "waiting"
	GateStatusPassed       GateStatus = "passed"
	GateStatusRejected     GateStatus = "rejected"
	GateStatusTimedOut     GateStatus = "timed_out"
	GateStatusWindowClosed GateStatus = "window_closed"
	// GateStatusStale: what the steps behind it would do changed since
	// they were approved.
	GateStatusStale GateStatus = "stale"
	// The run ended while it waited: cancelled, or an earlier step failed.
	GateStatusCancelled GateStatus = "cancelled"
	GateStatusAbandoned GateStatus = "abandoned"
)

// AnswerDecision is one answer at a gate, as the run took it.
type AnswerDecision string

const (
	AnswerApproved         AnswerDecision = "approved"
	AnswerRejected         AnswerDecision = "rejected"
	AnswerRefused          AnswerDecision = "refused" // it did not count: the answer's message says why
	AnswerWindowOverridden AnswerDecision = "window_overridden"
)

// Values marked so in plans and records.
const (
	Unknown  = "(known after apply)" // known only after apply
	Redacted = "(sensitive value)"   // a sensitive value, never shown (sdk/redact.Mask)
)

// Ran reports whether a step that finished so may have changed the world.
func (s Status) Ran() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusFailedContinued, StatusCancelled:
		return true
	}
	return false
}
