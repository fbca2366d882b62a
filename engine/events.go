package engine

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
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

// Status is the outcome of a step instance or a run.
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
)

// Event is one thing that happened in a run. Every text in it has been
// through the run's Redactor.
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
	Data        []byte         `json:"-"`                  // step_artifact: its content, redacted (ArtifactData); nil when Withheld
	Size        int            `json:"size,omitempty"`     // step_artifact: its size as the plugin sent it
	Withheld    bool           `json:"withheld,omitempty"` // step_artifact: it held a secret that could not be redacted
	Outputs     map[string]any `json:"outputs,omitempty"`
	// Outcome (run_finished of a run that did not succeed): what it left
	// its target as — unchanged, restored or changed (outcome.go).
	Outcome Outcome `json:"outcome,omitempty"`
	// Diagnostics of a failed step, on its source like plan-time ones;
	// views render them (the JSON view with ranges and snippets).
	Diagnostics hcl.Diagnostics `json:"-"`
	// RecordedDiagnostics are Diagnostics as records keep them: ranges
	// and snippets (secrets masked), rendered later without the files.
	RecordedDiagnostics []dsl.DiagnosticJSON `json:"diagnostics,omitempty"`
	Duration            time.Duration        `json:"duration_ns,omitempty"`
	// Gate events (gate.go): which gate, waiting for what, who answered.
	Gate     string    `json:"gate,omitempty"`      // stage.NAME or step.NAME
	GateKind string    `json:"gate_kind,omitempty"` // "approval" or "window"
	User     string    `json:"user,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Until    time.Time `json:"until,omitzero"` // gate_waiting: the approval's deadline, when the window opens
}

// EventSink receives the events of a run, one at a time, in order.
type EventSink interface {
	Event(Event)
}

// EventFunc adapts a function to an EventSink.
type EventFunc func(Event)

// Event calls f.
func (f EventFunc) Event(e Event) { f(e) }
