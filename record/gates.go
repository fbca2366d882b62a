package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pipectl/pipectl/engine"
)

// GateRecord is what happened at one gate of a run.
type GateRecord struct {
	Gate string `json:"gate"` // stage.NAME or step.NAME
	// Kind is what it waits (or waited) for last: "approval" or "window".
	Kind string `json:"kind"`
	// Status: "waiting", "passed", "rejected", "timed_out", "window_closed",
	// "stale" (what the steps behind it would do changed: Message says how);
	// "cancelled" or "abandoned" when the run ended while it waited.
	Status  string         `json:"status"`
	Message string         `json:"message,omitempty"`
	Since   time.Time      `json:"since"`
	Until   time.Time      `json:"until,omitzero"` // the approval's deadline, or when the window opens
	Answers []AnswerRecord `json:"answers,omitempty"`
}

// AnswerRecord is one answer at a gate, as the run took it.
type AnswerRecord struct {
	User string `json:"user"`
	// Decision: "approved", "rejected", "refused" (it did not count:
	// Message says why) or "window_overridden".
	Decision string    `json:"decision"`
	Reason   string    `json:"reason,omitempty"`
	Message  string    `json:"message,omitempty"`
	Time     time.Time `json:"time"`
}

// GateStatusWaiting is a gate the run waits at.
const GateStatusWaiting = "waiting"

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

// summarizeGate keeps the run's gate records current.
func (r *Recorder) summarizeGate(e engine.Event) {
	if e.Type == engine.RunFinished {
		r.closeWaitingGates(e.Status)
	}
	if e.Gate == "" {
		return
	}
	var g *GateRecord
	for i := range r.run.Gates {
		if r.run.Gates[i].Gate == e.Gate {
			g = &r.run.Gates[i]
		}
	}
	if g == nil {
		r.run.Gates = append(r.run.Gates, GateRecord{Gate: e.Gate, Kind: e.GateKind, Since: e.Time.UTC()})
		g = &r.run.Gates[len(r.run.Gates)-1]
	}
	if e.GateKind != "" {
		g.Kind = e.GateKind
	}
	answer := func(decision string) {
		g.Answers = append(g.Answers, AnswerRecord{User: e.User, Decision: decision, Reason: e.Reason, Message: e.Message, Time: e.Time.UTC()})
	}
	switch e.Type {
	case engine.GateWaiting:
		g.Status, g.Message, g.Until = GateStatusWaiting, e.Message, e.Until.UTC()
	case engine.GateApproved:
		answer("approved")
	case engine.GateRefused:
		answer("refused")
	case engine.GateWindowOverridden:
		answer("window_overridden")
	case engine.GateRejected:
		answer("rejected")
		g.Status, g.Message = "rejected", e.Message
	case engine.GateTimedOut:
		g.Status, g.Message = "timed_out", e.Message
	case engine.GateWindowClosed:
		g.Status, g.Message = "window_closed", e.Message
	case engine.GateStale:
		g.Status, g.Message = "stale", e.Message
	case engine.GatePassed:
		g.Status, g.Message = "passed", e.Message
	}
	if g.Status != GateStatusWaiting {
		g.Until = time.Time{}
	}
}

// closeWaitingGates: a run that ends while waiting at a gate (cancelled,
// or an earlier failure stopped it) did not pass it.
func (r *Recorder) closeWaitingGates(status engine.Status) {
	for i := range r.run.Gates {
		g := &r.run.Gates[i]
		if g.Status != GateStatusWaiting {
			continue
		}
		g.Status, g.Message, g.Until = "abandoned", "the run ended while it waited: an earlier step failed", time.Time{}
		if status == engine.StatusCancelled {
			g.Status, g.Message = "cancelled", "the run was cancelled while it waited"
		}
	}
}

// SetStartedBy records who started the run.
func (r *Recorder) SetStartedBy(user string) {
	r.mu.Lock()
	r.run.StartedBy = user
	r.mu.Unlock()
}

// Answers returns the answers given to a gate of the recorded run, oldest
// first (engine.GateAnswers), refused ones included: the engine refuses
// them again, and the run's gate record shows them.
func (r *Recorder) Answers(gate string) ([]engine.GateAnswer, error) {
	all, err := r.store.Answers(r.run.ID)
	var out []engine.GateAnswer
	for _, a := range all {
		if a.Gate == gate {
			out = append(out, a.GateAnswer)
		}
	}
	return out, err
}

// PutAnswer records an answer given by the process that runs the apply
// (apply -approve ahead, the terminal's question), which knows the gate
// without reading the record; the engine still refuses what does not count.
func (r *Recorder) PutAnswer(a engine.GateAnswer) error {
	_, err := r.store.AppendAnswer(r.run.ID, answerFrom(a), nil)
	return err
}

// answerFrom is an answer given by this process, now.
func answerFrom(a engine.GateAnswer) Answer {
	if a.Time.IsZero() {
		a.Time = time.Now().UTC()
	}
	return Answer{GateAnswer: a, Host: hostname(), PID: os.Getpid()}
}

// approvedBy is who approved a gate so far, as the run counts them: the
// answers recorded, in order, that the rule does not refuse.
func approvedBy(prior []Answer, gate string, rule engine.ApprovalRule, startedBy string) map[string]bool {
	by := map[string]bool{}
	for _, a := range prior {
		if a.Gate == gate && a.Approve && rule.Refusal(a.GateAnswer, startedBy, by) == "" {
			by[a.User] = true
		}
	}
	return by
}

// ErrNotWaiting: the run does not wait at the gate (or at any).
var ErrNotWaiting = errors.New("not waiting for approval")

// Answer gives an answer to a gate of a running run, from any process.
// The gate is stage.NAME, step.NAME or a stage's name; "" picks the one
// approval the run waits for. An answer the gate would refuse (not an
// approver, a self-approval where forbidden, a second approval by the same
// person) is recorded as refused, with why, and refused here. It returns
// the gate answered.
func (s *Store) Answer(id string, given engine.GateAnswer) (string, error) {
	run, planJSON, err := s.Show(id, nil)
	if err != nil {
		return "", err
	}
	if run.Status != StatusRunning {
		return "", fmt.Errorf("run %s is %s: only a running run waits for approval", id, run.Status)
	}
	gate, err := waitingGate(run, given.Gate)
	if err != nil {
		return "", err
	}
	given.Gate = gate
	var check func([]Answer) string
	var plan engine.Plan
	if json.Unmarshal(planJSON, &plan) == nil {
		if pg := plan.Gate(gate); pg != nil && pg.Approval != nil {
			rule := engine.ApprovalRule{Approvers: pg.Approval.Approvers, AllowSelfApproval: pg.Approval.AllowSelfApproval}
			// Counted against the answers before it, atomically: of two
			// approvals by the same person at once, the second sees the first.
			check = func(prior []Answer) string {
				return rule.Refusal(given, run.StartedBy, approvedBy(prior, gate, rule, run.StartedBy))
			}
		}
	}
	a, err := s.AppendAnswer(id, answerFrom(given), check)
	if err == nil && a.Refused != "" {
		err = fmt.Errorf("%w: %s (recorded as refused)", ErrRefused, a.Refused)
	}
	return gate, err
}

// ErrRefused: the gate does not count the answer; the error says why.
var ErrRefused = errors.New("refused")

// waitingGate resolves the gate an answer is for among those the run
// waits at for approval.
func waitingGate(run *Run, name string) (string, error) {
	var waiting []string
	for _, g := range run.Waiting() {
		if g.Kind == "approval" {
			waiting = append(waiting, g.Gate)
		}
	}
	if name != "" && !strings.Contains(name, ".") {
		name = "stage." + name
	}
	switch {
	case len(waiting) == 0:
		return "", fmt.Errorf("run %s is %w (it may not have reached its gate yet: `pipectl runs show %s`)", run.ID, ErrNotWaiting, run.ID)
	case name == "" && len(waiting) == 1:
		return waiting[0], nil
	case name == "":
		return "", fmt.Errorf("run %s waits for approval at %s: say which with -stage", run.ID, strings.Join(waiting, " and "))
	case !slices.Contains(waiting, name):
		return "", fmt.Errorf("run %s is %w at %s; it waits at %s", run.ID, ErrNotWaiting, name, strings.Join(waiting, ", "))
	}
	return name, nil
}
