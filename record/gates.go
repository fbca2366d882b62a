package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
)

// The answers to a run's gates live in its record: `pipectl approve` and
// `reject` write them from any process (the database is opened per
// write), the waiting apply reads them (Recorder.Answers).
var answersBucket = []byte("answers")

// A run's gate records, and the answers it took (api/v1).
type (
	GateRecord   = v1.GateRecord
	AnswerRecord = v1.AnswerRecord
)

// GateStatusWaiting is a gate the run waits at.
const GateStatusWaiting = v1.GateStatusWaiting

// SetStartedBy records who started the run.
func (r *Recorder) SetStartedBy(user string) {
	r.mu.Lock()
	r.run.StartedBy = user
	r.mu.Unlock()
}

// Answers returns the answers given to a gate of the recorded run, oldest
// first (engine.GateAnswers).
func (r *Recorder) Answers(gate string) ([]engine.GateAnswer, error) {
	var out []engine.GateAnswer
	err := r.store.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(r.run.ID))
		if b == nil || b.Bucket(answersBucket) == nil {
			return nil
		}
		return b.Bucket(answersBucket).ForEach(func(_, v []byte) error {
			var a engine.GateAnswer
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			if a.Gate == gate {
				out = append(out, a)
			}
			return nil
		})
	})
	return out, err
}

// PutAnswer records an answer given by the process that runs the apply
// (apply -approve ahead, the terminal's question), which knows the gate
// without reading the record; the engine still refuses what does not count.
func (r *Recorder) PutAnswer(a engine.GateAnswer) error {
	if a.Time.IsZero() {
		a.Time = time.Now().UTC()
	}
	return r.store.putAnswer(r.run.ID, a)
}

func (s *Store) putAnswer(id string, a engine.GateAnswer) error {
	return s.update(func(tx *bolt.Tx) error {
		ab, err := answersOf(tx, id)
		if err != nil {
			return err
		}
		return putAnswerTx(ab, a)
	})
}

// answersOf is the answers bucket of a run, created when missing.
func answersOf(tx *bolt.Tx, id string) (*bolt.Bucket, error) {
	b := tx.Bucket(runsBucket).Bucket([]byte(id))
	if b == nil {
		return nil, fmt.Errorf("no run %q: `pipectl runs` lists them", id)
	}
	return b.CreateBucketIfNotExists(answersBucket)
}

func putAnswerTx(ab *bolt.Bucket, a engine.GateAnswer) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	n, err := ab.NextSequence()
	if err != nil {
		return err
	}
	return ab.Put(seqKey(n), v)
}

// approvedBy is who approved a gate so far, as the run counts them: the
// answers stored, in order, that the rule does not refuse.
func approvedBy(ab *bolt.Bucket, gate string, rule engine.ApprovalRule, startedBy string) (map[string]bool, error) {
	by := map[string]bool{}
	err := ab.ForEach(func(_, v []byte) error {
		var a engine.GateAnswer
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		if a.Gate == gate && a.Approve && rule.Refusal(a, startedBy, by) == "" {
			by[a.User] = true
		}
		return nil
	})
	return by, err
}

// ErrNotWaiting: the run does not wait at the gate (or at any).
var ErrNotWaiting = errors.New("not waiting for approval")

// Answer gives an answer to a gate of a running run, from any process.
// The gate is stage.NAME, step.NAME or a stage's name; "" picks the one
// approval the run waits for. An answer the gate would refuse (not an
// approver, a self-approval where forbidden) is refused here, with why.
// It returns the gate answered.
func (s *Store) Answer(id string, a engine.GateAnswer) (string, error) {
	run, planJSON, err := s.Show(id, nil)
	if err != nil {
		return "", err
	}
	if run.Status != StatusRunning {
		return "", fmt.Errorf("run %s is %s: only a running run waits for approval", id, run.Status)
	}
	gate, err := waitingGate(run, a.Gate)
	if err != nil {
		return "", err
	}
	a.Gate = gate
	var rule *engine.ApprovalRule
	var plan engine.Plan
	if json.Unmarshal(planJSON, &plan) == nil {
		if pg := plan.Gate(gate); pg != nil && pg.Approval != nil {
			rule = &engine.ApprovalRule{Approvers: pg.Approval.Approvers, AllowSelfApproval: pg.Approval.AllowSelfApproval}
			if why := rule.Refusal(a, run.StartedBy, nil); why != "" {
				return "", fmt.Errorf("%w: %s", ErrRefused, why)
			}
		}
	}
	if a.Time.IsZero() {
		a.Time = time.Now().UTC()
	}
	// One transaction: of two approvals by the same person at once, the
	// second sees the first.
	var refusal string
	err = s.update(func(tx *bolt.Tx) error {
		ab, err := answersOf(tx, id)
		if err != nil {
			return err
		}
		if rule != nil {
			by, err := approvedBy(ab, gate, *rule, run.StartedBy)
			if err != nil {
				return err
			}
			refusal = rule.Refusal(a, run.StartedBy, by)
		}
		// Stored even when refused: the run records it as refused.
		return putAnswerTx(ab, a)
	})
	if err == nil && refusal != "" {
		err = fmt.Errorf("%w: %s (recorded as refused)", ErrRefused, refusal)
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
