package v1

import (
	"fmt"
	"time"
)

// RecordFormatVersion is the layout of a run record (Run, its steps,
// gates and events). A record without one (0) is of the layout before
// records were versioned, which is format 1's: it reads the same.
const RecordFormatVersion = 1

// Run is the record of one run: its summary, its step and gate records.
type Run struct {
	// FormatVersion of the record (RecordFormatVersion); 0 in records
	// made before it was written.
	FormatVersion int       `json:"format_version,omitempty"`
	ID            string    `json:"id"`
	Pipeline      string    `json:"pipeline"`
	Environment   string    `json:"environment,omitempty"`
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished,omitzero"`
	Status        Status    `json:"status"` // "running" until it finishes
	// Outcome of a run that did not succeed: what it left its target as.
	// Records made before pipectl said so have none.
	Outcome     Outcome        `json:"outcome,omitempty"`
	Steps       []StepRecord   `json:"steps"`
	Outputs     map[string]any `json:"outputs,omitempty"`
	ResumedFrom string         `json:"resumed_from,omitempty"`
	// SavedPlan is the content hash of the saved plan the run applied: a
	// saved plan is applied once.
	SavedPlan string `json:"saved_plan,omitempty"`
	// RecordFailed says why the record is incomplete: a write to the
	// database failed during the run. Such a run is resumed from the step
	// outcomes kept beside its record, or not at all.
	RecordFailed string `json:"record_failed,omitempty"`
	// ForceUnlocked: the run's process died holding its environment's
	// lock, which was broken with pipectl force-unlock.
	ForceUnlocked *ForceUnlock `json:"force_unlocked,omitempty"`
	// StartedBy is the user who started the run: on the kubernetes
	// backend the cluster's authenticated identity of the runner; on the
	// local one PIPECTL_USER, or the OS user. StartedByActor is who the
	// CI job says triggered it (GITHUB_ACTOR, GITLAB_USER_LOGIN...), as
	// the job asserts it: unverified. A run that resumes another keeps
	// that one's: four eyes refuses them in every run of the chain.
	// ResumedBy is who resumed it (apply -resume), as StartedBy is
	// decided. Gates is what happened at its approvals and windows.
	StartedBy      string       `json:"started_by,omitempty"`
	StartedByActor string       `json:"started_by_actor,omitempty"`
	ResumedBy      string       `json:"resumed_by,omitempty"`
	Gates          []GateRecord `json:"gates,omitempty"`
	// TookOver is the lock this run took over as it started: the holder
	// of a parked run (or of one whose process died) it resumes.
	TookOver *LockHolder `json:"took_over,omitempty"`
	// StepCount is how many step records a run read without them has
	// (Steps nil): a list of runs reads each run's head, its summary
	// without the step records. Not stored: the records' own count.
	StepCount int `json:"-"`
}

// StepTotal is how many step records the run has, read or not.
func (r *Run) StepTotal() int {
	if r.Steps != nil {
		return len(r.Steps)
	}
	return r.StepCount
}

// Active tells whether the run goes on, or waits at a gate (parked: it
// can still be answered and resumed); retention keeps such a run.
func (r *Run) Active() bool {
	return r.Status == StatusRunning || len(r.Waiting()) > 0
}

// Waiting returns the gates the run waits at now.
func (r *Run) Waiting() []GateRecord {
	var out []GateRecord
	for _, g := range r.Gates {
		if g.Status == GateStatusWaiting {
			out = append(out, g)
		}
	}
	return out
}

// StepRecord is the outcome of one step instance.
type StepRecord struct {
	Step     string    `json:"step"`
	Instance string    `json:"instance,omitempty"`
	Phase    Phase     `json:"phase"`
	Action   string    `json:"action"`
	Status   Status    `json:"status"`
	Attempts int       `json:"attempts,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Message  string    `json:"message,omitempty"`
	// Outputs of an instance that succeeded, redacted.
	Outputs map[string]any `json:"outputs,omitempty"`
	// Diagnostics of a failure, with ranges and snippets, as apply showed them.
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
	// What the step printed in all; the record keeps its head and tail.
	OutputBytes int64 `json:"output_bytes,omitempty"`
	OutputLines int64 `json:"output_lines,omitempty"`

	// What views and the report show and records do not keep (events
	// tell it): the stage, how long the last attempt took, each attempt.
	Stage    string        `json:"-"`
	Duration time.Duration `json:"-"`
	Tries    []Attempt     `json:"-"`
}

// Attempt is one call of a step instance's action.
type Attempt struct {
	N          int
	Start, End time.Time // End is zero while it runs
	// Status is how it ended: the instance's status for its last attempt,
	// StatusFailed for one retried; "" while it runs.
	Status  Status
	Message string // why it ended so
	Retried bool   // it failed and the step was tried again
}

// Addr is the address of the step instance.
func (s *StepRecord) Addr() InstanceAddr { return StepAddr(s.Step).Instance(s.Instance) }

// GateRecord is what happened at one gate of a run.
type GateRecord struct {
	Gate string `json:"gate"` // stage.NAME or step.NAME
	// Kind is what it waits (or waited) for last.
	Kind    GateKind       `json:"kind"`
	Status  GateStatus     `json:"status"`
	Message string         `json:"message,omitempty"`
	Since   time.Time      `json:"since"`
	Until   time.Time      `json:"until,omitzero"` // the approval's deadline, or when the window opens
	Answers []AnswerRecord `json:"answers,omitempty"`
}

// AnswerRecord is one answer at a gate, as the run took it.
type AnswerRecord struct {
	User     string         `json:"user"`
	Decision AnswerDecision `json:"decision"`
	Reason   string         `json:"reason,omitempty"`
	Message  string         `json:"message,omitempty"`
	Time     time.Time      `json:"time"`
}

// ForceUnlock is a broken lock, as recorded in the run that held it and
// in the backend's log of force-unlocks.
type ForceUnlock struct {
	Holder LockHolder `json:"holder"` // who held it
	By     string     `json:"by"`     // user@host that broke it
	PID    int        `json:"pid"`
	At     time.Time  `json:"at"`
	Reason string     `json:"reason,omitempty"` // why, as given to force-unlock -reason
	// TakenOverBy is the run that took the lock over (apply -resume of
	// a parked run, or of one whose process died); "" when force-unlock
	// broke it.
	TakenOverBy string `json:"taken_over_by,omitempty"`
}

// LockHolder is who holds an environment's lock: the run and its process.
type LockHolder struct {
	// Run is the id of the run the apply records; it is decided when the
	// lock is taken, before planning, so even an apply killed while it
	// plans is named.
	Run         string    `json:"run"`
	User        string    `json:"user"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	Started     time.Time `json:"started"`
	Environment string    `json:"environment,omitempty"`
	// ParkedAt is the gate a parked run waits at (apply -park): the lock
	// is held by the run, not by a process (PID is the one that parked
	// it). ParkedUntil is the gate's deadline (zero: it has none); the
	// lock expires a margin after it. Older lock files have neither.
	ParkedAt    string    `json:"parked_at,omitempty"`
	ParkedUntil time.Time `json:"parked_until,omitzero"`
}

// Parked tells whether the holder is a parked run.
func (h LockHolder) Parked() bool { return h.ParkedAt != "" }

// String is the holder as messages name it.
func (h LockHolder) String() string {
	if h.Run == "" && h.PID == 0 {
		return "an unknown holder"
	}
	if h.Parked() {
		until := "with no deadline"
		if !h.ParkedUntil.IsZero() {
			until = "until " + h.ParkedUntil.Local().Format("2006-01-02 15:04:05 MST")
		}
		return fmt.Sprintf("run %s (user %s, parked at %s %s by host %s)", h.Run, orUnknown(h.User), h.ParkedAt, until, orUnknown(h.Host))
	}
	return fmt.Sprintf("run %s (user %s, host %s, pid %d, started %s)", h.Run, orUnknown(h.User), orUnknown(h.Host), h.PID,
		h.Started.Local().Format("2006-01-02 15:04:05 MST"))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// ParkedCommands are the commands that answer a run waiting at a gate
// and continue it, as on_waiting's gate.*, apply, runs show and a parked
// lock's error name them: one place, so that they cannot disagree.
type ParkedCommands struct{ Approve, Reject, Resume string }

// CommandsFor are the ParkedCommands of run id.
func CommandsFor(id string) ParkedCommands {
	return ParkedCommands{Approve: "pipectl approve " + id, Reject: "pipectl reject " + id + ` -reason "..."`, Resume: "pipectl apply -resume " + id}
}
