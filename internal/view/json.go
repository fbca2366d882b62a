package view

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/internal/version"
)

// The machine-readable contract of every -json output (validate, plan,
// apply, runs): JSON lines, the first a version message, each line one of
// the closed set of messages below. docs/json-events.md documents them and
// docs/json-events.schema.json is their JSON Schema. These types are the
// contract: v1.Event and the run record may change, these may only
// grow (a new optional field, a new message type keeps the major version;
// anything else is a new major version).

// JSONFormatVersion is the version of the -json format: major.minor.
const JSONFormatVersion = "1.5"

// Message types.
const (
	MsgVersion        = "version"
	MsgDiagnostic     = "diagnostic"
	MsgValidateResult = "validate_result"
	MsgStepPlanned    = "step_planned"
	MsgPlan           = "plan"
	MsgRun            = "run"      // a run record (pipectl runs)
	MsgArtifact       = "artifact" // a recorded artifact (pipectl runs artifacts)
	MsgGatePlanned    = "gate_planned"
	MsgPluginLocked   = "plugin_locked" // pipectl init
	MsgInitResult     = "init_result"
	MsgFileFormatted  = "file_formatted" // pipectl fmt
	MsgFmtResult      = "fmt_result"
)

// envelope is what every message has: its type and when it was written.
type envelope struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
}

// VersionMessage is the first line of every -json output.
type VersionMessage struct {
	envelope
	FormatVersion string `json:"format_version"`
	Pipectl       string `json:"pipectl"`
}

// DiagnosticMessage is one error or warning, with its source range and
// snippet when it has a place in the pipeline.
type DiagnosticMessage struct {
	envelope
	Diagnostic dsl.DiagnosticJSON `json:"diagnostic"`
}

// ValidateResultMessage closes `pipectl validate -json`.
type ValidateResultMessage struct {
	envelope
	Valid        bool `json:"valid"`
	ErrorCount   int  `json:"error_count"`
	WarningCount int  `json:"warning_count"`
}

// StepPlannedMessage is one step of a plan, with its instances.
type StepPlannedMessage struct {
	envelope
	Step            string                `json:"step"`
	Stage           string                `json:"stage,omitempty"`
	Phase           string                `json:"phase"`
	Action          string                `json:"action"`
	DependsOn       []string              `json:"depends_on,omitempty"`
	Run             string                `json:"run"`
	When            string                `json:"when,omitempty"` // its when condition as written
	Deferred        bool                  `json:"deferred,omitempty"`
	Timeout         string                `json:"timeout,omitempty"`
	Attempts        int                   `json:"attempts,omitempty"`
	ContinueOnError bool                  `json:"continue_on_error,omitempty"`
	Instances       []PlannedInstanceJSON `json:"instances"`
	// LeftOut says why a subset run (-target, -only) leaves the step out.
	LeftOut string `json:"left_out,omitempty"`
	// Restores: a failure handler's main steps whose target it changes too.
	Restores []string `json:"restores,omitempty"`
}

// PlannedInstanceJSON is one instance of a planned step.
type PlannedInstanceJSON struct {
	Key     string `json:"key,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Summary string `json:"summary,omitempty"`
	Change  string `json:"change,omitempty"`
	Config  any    `json:"config,omitempty"`
}

// PlanMessage closes a plan: its totals and the outputs as planned.
type PlanMessage struct {
	envelope
	Pipeline    string         `json:"pipeline"`
	Environment string         `json:"environment,omitempty"`
	HasChanges  bool           `json:"has_changes"`
	Summary     string         `json:"summary"`
	Outputs     map[string]any `json:"outputs,omitempty"`
	// OutputsLeftOut: the outputs a subset run gives no value, and why.
	OutputsLeftOut map[string]string `json:"outputs_left_out,omitempty"`
}

// StepMessage is every step_* message of a run: started, log, progress,
// artifact, retrying, finished. Fields that do not apply are left out.
type StepMessage struct {
	envelope
	Phase    string `json:"phase"`
	Stage    string `json:"stage,omitempty"`
	Step     string `json:"step"`
	Instance string `json:"instance,omitempty"`
	Action   string `json:"action"`
	Attempt  int    `json:"attempt,omitempty"`
	// step_log: the line and its stream; step_progress: the message and
	// the fraction done (0..1, or -1 when unknown); step_retrying and
	// step_finished: why.
	Stream   string   `json:"stream,omitempty"`
	Message  string   `json:"message,omitempty"`
	Fraction *float64 `json:"fraction,omitempty"`
	// step_artifact.
	Artifact  string `json:"artifact,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	Size      int    `json:"size,omitempty"`
	// step_finished.
	Status      v1.Status            `json:"status,omitempty"`
	DurationMS  *int64               `json:"duration_ms,omitempty"`
	Outputs     map[string]any       `json:"outputs,omitempty"`
	Diagnostics []dsl.DiagnosticJSON `json:"diagnostics,omitempty"`
}

// RunMessage is a run's start, a handler phase starting, cancellation,
// outputs that failed, and the run's end.
type RunMessage struct {
	envelope
	Pipeline string `json:"pipeline,omitempty"` // run_started
	// run_started: the environment the run deploys to, when the pipeline
	// has environments (since 1.5).
	Environment string         `json:"environment,omitempty"`
	Phase       string         `json:"phase,omitempty"`   // phase_started
	Stage       string         `json:"stage,omitempty"`   // phase_started of a stage's on_failure
	Message     string         `json:"message,omitempty"` // run_cancelling, outputs_failed
	Status      v1.Status      `json:"status,omitempty"`  // run_finished
	Outcome     v1.Outcome     `json:"outcome,omitempty"` // run_finished of a run that did not succeed
	Outputs     map[string]any `json:"outputs,omitempty"` // run_finished
	Counts      map[string]int `json:"counts,omitempty"`  // run_finished: instances by status
	RunID       string         `json:"run_id,omitempty"`  // run_finished: the run record
	// run_finished: the gate that stopped the run (rejected, timed out,
	// outside its window), when one did.
	GateFailure *GateFailureJSON     `json:"gate_failure,omitempty"`
	Diagnostics []dsl.DiagnosticJSON `json:"diagnostics,omitempty"` // outputs_failed
}

// RunRecordMessage is a recorded run, as `pipectl runs` lists it.
type RunRecordMessage struct {
	envelope
	ID          string `json:"id"`
	Pipeline    string `json:"pipeline"`
	Environment string `json:"environment,omitempty"`
	Status      string `json:"status"`
	// Outcome of a run that did not succeed (unchanged, restored,
	// changed); none in records made before pipectl kept it.
	Outcome     string     `json:"outcome,omitempty"`
	Started     time.Time  `json:"started"`
	Finished    *time.Time `json:"finished,omitempty"`
	ResumedFrom string     `json:"resumed_from,omitempty"`
	// SavedPlan is the content hash of the saved plan the run applied.
	SavedPlan string `json:"saved_plan,omitempty"`
	// RecordFailed says why the record is incomplete (it is resumed from
	// the step outcomes kept beside it, or not at all).
	RecordFailed string           `json:"record_failed,omitempty"`
	Outputs      map[string]any   `json:"outputs,omitempty"`
	Steps        []StepRecordJSON `json:"steps"`
	// ForceUnlocked: the run's process died holding its environment's
	// lock, broken since with pipectl force-unlock.
	ForceUnlocked *ForceUnlockJSON `json:"force_unlocked,omitempty"`
	// StartedBy is who started the run; StartedByActor who the CI job
	// said triggered it (unverified); a resumed run keeps those of the
	// run it continues, and ResumedBy names who resumed it (since 1.5).
	// Gates is what happened at its gates.
	StartedBy      string           `json:"started_by,omitempty"`
	StartedByActor string           `json:"started_by_actor,omitempty"`
	ResumedBy      string           `json:"resumed_by,omitempty"`
	Gates          []GateRecordJSON `json:"gates,omitempty"`
	// TookOver is the lock the run took over as it started: a parked
	// (or killed) run's, resumed (since 1.5).
	TookOver *LockHolderJSON `json:"took_over,omitempty"`
}

// The messages' own copies of the vocabulary's gate and lock records:
// v1 may change with the run record's format, these only grow with the
// JSON format (its 1.4 added force_unlocked's reason).

// GateFailureJSON is the gate that stopped a run (run_finished).
type GateFailureJSON struct {
	Gate    string `json:"gate"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// ForceUnlockJSON is a broken lock of a run (run).
type ForceUnlockJSON struct {
	Holder LockHolderJSON `json:"holder"`
	By     string         `json:"by"`
	PID    int            `json:"pid"`
	At     time.Time      `json:"at"`
	Reason string         `json:"reason,omitempty"`
	// TakenOverBy is the run that took the lock over (apply -resume);
	// absent when force-unlock broke it (since 1.5).
	TakenOverBy string `json:"taken_over_by,omitempty"`
}

// LockHolderJSON is who held a lock: the run and its process.
type LockHolderJSON struct {
	Run         string    `json:"run"`
	User        string    `json:"user"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	Started     time.Time `json:"started"`
	Environment string    `json:"environment,omitempty"`
	// A parked run's lock: the gate it waits at and its deadline (1.5).
	ParkedAt    string     `json:"parked_at,omitempty"`
	ParkedUntil *time.Time `json:"parked_until,omitempty"`
}

// GateRecordJSON is what happened at one gate of a run (run).
type GateRecordJSON struct {
	Gate    string             `json:"gate"`
	Kind    string             `json:"kind"`
	Status  string             `json:"status"`
	Message string             `json:"message,omitempty"`
	Since   time.Time          `json:"since"`
	Until   time.Time          `json:"until,omitzero"`
	Answers []AnswerRecordJSON `json:"answers,omitempty"`
}

// AnswerRecordJSON is one answer at a gate.
type AnswerRecordJSON struct {
	User     string    `json:"user"`
	Decision string    `json:"decision"`
	Reason   string    `json:"reason,omitempty"`
	Message  string    `json:"message,omitempty"`
	Time     time.Time `json:"time"`
}

func gateFailureJSON(f *v1.GateFailure) *GateFailureJSON {
	if f == nil {
		return nil
	}
	return &GateFailureJSON{Gate: f.Gate, Reason: string(f.Reason), Message: f.Message}
}

func forceUnlockJSON(u *v1.ForceUnlock) *ForceUnlockJSON {
	if u == nil {
		return nil
	}
	return &ForceUnlockJSON{By: u.By, PID: u.PID, At: u.At, Reason: u.Reason, TakenOverBy: u.TakenOverBy, Holder: *lockHolderJSON(&u.Holder)}
}

func lockHolderJSON(h *v1.LockHolder) *LockHolderJSON {
	if h == nil {
		return nil
	}
	return &LockHolderJSON{Run: h.Run, User: h.User, Host: h.Host, PID: h.PID, Started: h.Started, Environment: h.Environment,
		ParkedAt: h.ParkedAt, ParkedUntil: timePtr(h.ParkedUntil)}
}

func gateRecordsJSON(gates []v1.GateRecord) []GateRecordJSON {
	var out []GateRecordJSON
	for _, g := range gates {
		m := GateRecordJSON{Gate: g.Gate, Kind: string(g.Kind), Status: string(g.Status), Message: g.Message, Since: g.Since, Until: g.Until}
		for _, a := range g.Answers {
			m.Answers = append(m.Answers, AnswerRecordJSON{User: a.User, Decision: string(a.Decision), Reason: a.Reason, Message: a.Message, Time: a.Time})
		}
		out = append(out, m)
	}
	return out
}

// StepRecordJSON is one step instance of a recorded run.
type StepRecordJSON struct {
	Step     string         `json:"step"`
	Instance string         `json:"instance,omitempty"`
	Phase    string         `json:"phase"`
	Action   string         `json:"action"`
	Status   string         `json:"status"`
	Attempts int            `json:"attempts,omitempty"`
	Started  *time.Time     `json:"started,omitempty"`
	Finished *time.Time     `json:"finished,omitempty"`
	Message  string         `json:"message,omitempty"`
	Outputs  map[string]any `json:"outputs,omitempty"`
	// Diagnostics of a failure, with ranges and snippets.
	Diagnostics []dsl.DiagnosticJSON `json:"diagnostics,omitempty"`
	// What the step printed in all; the record keeps its head and tail.
	OutputBytes int64 `json:"output_bytes,omitempty"`
	OutputLines int64 `json:"output_lines,omitempty"`
}

// ArtifactMessage is an artifact a step attached, as the run record keeps
// it (pipectl runs artifacts).
type ArtifactMessage struct {
	envelope
	Phase     string `json:"phase"`
	Stage     string `json:"stage,omitempty"`
	Step      string `json:"step"`
	Instance  string `json:"instance,omitempty"`
	Attempt   int    `json:"attempt,omitempty"`
	Name      string `json:"name"`
	MediaType string `json:"media_type,omitempty"`
	Size      int    `json:"size"`
	// Kept: the record holds its content; else NotKept says why.
	Kept    bool   `json:"kept"`
	NotKept string `json:"not_kept,omitempty"`
	// File is where -o wrote it.
	File string `json:"file,omitempty"`
}

// JSONStream writes the messages of one command: the version line first,
// then one message per line. Views of one command share it.
type JSONStream struct {
	mu      sync.Mutex
	w       io.Writer
	errs    io.Writer
	started bool
	now     func() time.Time
}

// NewJSONStream writes to w; encoding problems go to errs.
func NewJSONStream(w, errs io.Writer) *JSONStream {
	return &JSONStream{w: w, errs: errs, now: time.Now}
}

// Write writes a message of the given type; msg is one of the message
// types above, its envelope filled here.
func (s *JSONStream) Write(typ string, msg any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.encode(&VersionMessage{envelope: envelope{Type: MsgVersion, Time: s.now()}, FormatVersion: JSONFormatVersion, Pipectl: version.Version})
	}
	if e := envelopeOf(msg); e != nil {
		e.Type = typ
		if e.Time.IsZero() {
			e.Time = s.now()
		}
	}
	s.encode(msg)
}

// Batch runs fn with the stream's messages buffered, written at the end:
// for a command that prints a stored run (runs show -json), not for a live
// one, whose consumers read each message as it happens. At 10,000 steps a
// write call per message was a tenth of runs show -json's CPU.
func (s *JSONStream) Batch(fn func() error) error {
	s.mu.Lock()
	w := s.w
	buf := bufio.NewWriterSize(w, 64<<10)
	s.w = buf
	s.mu.Unlock()
	err := fn()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
	if ferr := buf.Flush(); err == nil {
		err = ferr
	}
	return err
}

func (s *JSONStream) encode(v any) {
	enc := json.NewEncoder(s.w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(s.errs, "pipectl: cannot encode JSON output: %v\n", err)
	}
}

func envelopeOf(msg any) *envelope {
	switch m := msg.(type) {
	case *DiagnosticMessage:
		return &m.envelope
	case *ValidateResultMessage:
		return &m.envelope
	case *StepPlannedMessage:
		return &m.envelope
	case *PlanMessage:
		return &m.envelope
	case *StepMessage:
		return &m.envelope
	case *RunMessage:
		return &m.envelope
	case *RunRecordMessage:
		return &m.envelope
	case *ArtifactMessage:
		return &m.envelope
	case *GateMessage:
		return &m.envelope
	case *GatePlannedMessage:
		return &m.envelope
	case *PluginLockedMessage:
		return &m.envelope
	case *InitResultMessage:
		return &m.envelope
	case *FileFormattedMessage:
		return &m.envelope
	case *FmtResultMessage:
		return &m.envelope
	}
	return nil
}

// eventMessage converts an engine event to its public message; Time is
// the event's own. diags renders diagnostics with ranges and snippets.
func eventMessage(e v1.Event, diags func(v1.Event) []dsl.DiagnosticJSON) (string, any) {
	env := envelope{Time: e.Time}
	switch e.Type {
	case v1.RunStarted:
		return string(e.Type), &RunMessage{envelope: env, Pipeline: e.Message, Environment: e.Environment}
	case v1.PhaseStarted:
		return string(e.Type), &RunMessage{envelope: env, Phase: string(e.Phase), Stage: e.Stage}
	case v1.RunCancelling:
		return string(e.Type), &RunMessage{envelope: env, Message: e.Message}
	case v1.OutputsFailed:
		return string(e.Type), &RunMessage{envelope: env, Message: e.Message, Diagnostics: diags(e)}
	case v1.RunFinished:
		return string(e.Type), &RunMessage{envelope: env, Status: e.Status, Outputs: e.Outputs}
	}
	if isGateEvent(e.Type) {
		return string(e.Type), gateMessage(e)
	}
	m := &StepMessage{envelope: env, Phase: string(e.Phase), Stage: e.Stage, Step: e.Step, Instance: e.Instance, Action: e.Action, Attempt: e.Attempt}
	switch e.Type {
	case v1.StepLog:
		m.Stream, m.Message = e.Stream, e.Message
	case v1.StepProgress:
		f := e.Fraction
		m.Fraction, m.Message = &f, e.Message
	case v1.StepArtifact:
		m.Artifact, m.MediaType, m.Size = e.Artifact, e.Message, e.Size
	case v1.StepRetrying:
		m.Message = e.Message
	case v1.StepFinished:
		ms := e.Duration.Milliseconds()
		m.Status, m.DurationMS, m.Message, m.Outputs, m.Diagnostics = e.Status, &ms, e.Message, e.Outputs, diags(e)
	}
	return string(e.Type), m
}

func stepPlannedMessage(s *v1.PlannedStep) *StepPlannedMessage {
	m := &StepPlannedMessage{Step: s.Name, Stage: s.Stage, Phase: string(s.Phase), Action: s.Action, DependsOn: s.DependsOn,
		Run: string(s.Run), When: s.When, Deferred: s.Deferred, Timeout: s.Timeout, Attempts: s.Attempts, ContinueOnError: s.ContinueOnError,
		Instances: []PlannedInstanceJSON{}, LeftOut: s.LeftOut, Restores: s.Restores}
	for _, in := range s.Instances {
		m.Instances = append(m.Instances, PlannedInstanceJSON{Key: in.Key, Skipped: in.Skipped, Kind: in.Kind,
			Summary: in.Summary, Change: in.Change, Config: in.Config})
	}
	return m
}
