package v1

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// EventType names what happened in a run.
type EventType string

const (
	RunStarted    EventType = "run_started"
	PhaseStarted  EventType = "phase_started" // handlers begin: stage_on_failure, on_failure, finally
	StepStarted   EventType = "step_started"  // one attempt of one instance
	StepLog       EventType = "step_log"
	StepProgress  EventType = "step_progress"
	StepArtifact  EventType = "step_artifact"
	StepRetrying  EventType = "step_retrying"
	StepFinished  EventType = "step_finished" // one instance, after its last attempt
	RunFinished   EventType = "run_finished"
	RunCancelling EventType = "run_cancelling"
	// OutputsFailed: every step finished as the run's status says, but the
	// pipeline's outputs could not be evaluated (Diagnostics say why).
	OutputsFailed EventType = "outputs_failed"
)

// Gate events: a stage (or step) with an approval block or deploy windows
// waits before it starts.
const (
	// GateWaiting: the gate holds the stage back; GateKind says for what
	// ("approval" or "window"), Until until when (the approval's deadline,
	// or when the next window opens).
	GateWaiting  EventType = "gate_waiting"
	GateApproved EventType = "gate_approved" // one approval counted (User, Reason)
	// GateRefused: an answer that does not count (a self-approval where the
	// gate forbids it, someone not among the approvers, a second approval
	// by the same person); Message says why.
	GateRefused  EventType = "gate_refused"
	GateRejected EventType = "gate_rejected" // the run fails (User, Reason)
	GateTimedOut EventType = "gate_timed_out"
	// GateWindowClosed: outside the windows with outside_window = "fail":
	// the run fails.
	GateWindowClosed EventType = "gate_window_closed"
	// GateWindowOverridden: outside the windows, let through by
	// apply -override-window (User, Reason).
	GateWindowOverridden EventType = "gate_window_overridden"
	GatePassed           EventType = "gate_passed" // the stage may start
	// GateStale: as the gate opened, the steps behind it were planned
	// again and would not do what was approved (Message says how, or why
	// it could not be told): the run fails, nothing behind it runs.
	GateStale EventType = "gate_stale"
	// GateAbandoned: the gate stopped waiting because the run parked at
	// another one (apply -park): nothing behind it started, and it waits
	// again when the run is resumed.
	GateAbandoned EventType = "gate_abandoned"
)

// Event is one thing that happened in a run. Every text in it has been
// through the run's redactor. Records keep events as this JSON.
type Event struct {
	Type        EventType      `json:"type"`
	Time        time.Time      `json:"time"`
	Environment string         `json:"environment,omitempty"` // run_started
	Phase       Phase          `json:"phase,omitempty"`
	Stage       string         `json:"stage,omitempty"`
	Step        string         `json:"step,omitempty"`
	Instance    string         `json:"instance,omitempty"` // the for_each key
	Action      string         `json:"action,omitempty"`
	Attempt     int            `json:"attempt,omitempty"`
	Status      Status         `json:"status,omitempty"`
	Stream      string         `json:"stream,omitempty"`
	Message     string         `json:"message,omitempty"`
	Fraction    float64        `json:"fraction,omitempty"`
	Artifact    string         `json:"artifact,omitempty"`
	Data        []byte         `json:"-"`                  // step_artifact: its content, redacted; nil when Withheld
	Size        int            `json:"size,omitempty"`     // step_artifact: its size as the plugin sent it
	Withheld    bool           `json:"withheld,omitempty"` // step_artifact: it held a secret that could not be redacted
	Outputs     map[string]any `json:"outputs,omitempty"`
	// Outcome (run_finished of a run that did not succeed): what it left
	// its target as — unchanged, restored or changed.
	Outcome Outcome `json:"outcome,omitempty"`
	// Diagnostics of a failed step, on its source like plan-time ones;
	// views render them (the JSON view with ranges and snippets).
	Diagnostics hcl.Diagnostics `json:"-"`
	// RecordedDiagnostics are Diagnostics as records keep them: ranges
	// and snippets (secrets masked), rendered later without the files.
	RecordedDiagnostics []Diagnostic  `json:"diagnostics,omitempty"`
	Duration            time.Duration `json:"duration_ns,omitempty"`
	// Gate events: which gate, waiting for what, who answered.
	Gate     string    `json:"gate,omitempty"` // stage.NAME or step.NAME
	GateKind GateKind  `json:"gate_kind,omitempty"`
	User     string    `json:"user,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Until    time.Time `json:"until,omitzero"` // gate_waiting: the approval's deadline, when the window opens
}

// InstanceAddr is the address of the step instance the event is about.
func (e *Event) InstanceAddr() InstanceAddr {
	return InstanceAddr{Step: StepAddr(e.Step), Key: e.Instance}
}

// EventSink receives the events of a run, one at a time, in order.
type EventSink interface {
	Event(Event)
}

// EventFunc adapts a function to an EventSink.
type EventFunc func(Event)

// Event calls f.
func (f EventFunc) Event(e Event) { f(e) }
