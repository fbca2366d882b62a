package operation

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// Approve approves the gate a running apply waits at, as Who(): the gate
// may refuse (not an approver, or self-approval where it is forbidden),
// and the answer, taken or refused, is recorded.
type Approve struct {
	Dir string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// ID is the id of the run that waits.
	ID string
	// Gate is a stage name or step.NAME; "" is the one the run waits at.
	Gate   string
	Reason string
	// Review, when the run waits, is shown the plan it applies (what is
	// being approved) and where it waits, before anything is recorded; an
	// error refuses the approval (ErrNotApproved: the user said no).
	Review func(plan *engine.Plan, runID, waitingAt string) error
}

// ErrNotApproved: the user did not confirm the approval.
var ErrNotApproved = errors.New("not approved: nothing was recorded")

// Answered is a gate answer as recorded.
type Answered struct {
	Gate, Run, User string
}

// Run approves.
func (o *Approve) Run() (*Answered, error) {
	store, err := openRecords(o.Dir, "", o.Backend)
	if err != nil {
		return nil, err
	}
	run, planJSON, err := store.Show(o.ID, nil)
	if err != nil {
		return nil, err
	}
	// A run that waits at nothing has nothing to review: Answer says why.
	if o.Review != nil && run.Status == record.StatusRunning && len(run.Waiting()) > 0 {
		plan, err := record.DecodePlan(o.ID, planJSON)
		if err != nil {
			return nil, err
		}
		if err := o.Review(plan, run.ID, waitingAt(run, o.Gate)); err != nil {
			return nil, err
		}
	}
	return answer(store, o.ID, engine.GateAnswer{Gate: o.Gate, Approve: true, Reason: o.Reason})
}

// Reject rejects the gate a running apply waits at, as Who(): the stage
// does not start and the run fails.
type Reject struct {
	Dir, ID, Gate string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// Reason is why (required): it is recorded and shown to whoever
	// started the run.
	Reason string
}

// Run rejects.
func (o *Reject) Run() (*Answered, error) {
	if strings.TrimSpace(o.Reason) == "" {
		return nil, fmt.Errorf("say why with -reason: it is recorded and shown to whoever started the run")
	}
	store, err := openRecords(o.Dir, "", o.Backend)
	if err != nil {
		return nil, err
	}
	return answer(store, o.ID, engine.GateAnswer{Gate: o.Gate, Reason: o.Reason})
}

// answer records an answer to a gate of run id as Who()'s.
func answer(store *record.Store, id string, a engine.GateAnswer) (*Answered, error) {
	who, err := Who()
	if err != nil {
		return nil, err
	}
	a.User = who
	gate, err := store.Answer(id, a)
	if err != nil {
		return nil, err
	}
	return &Answered{Gate: gate, Run: id, User: who}, nil
}

// waitingAt names the gate being approved, for the question.
func waitingAt(run *record.Run, gate string) string {
	if gate != "" {
		return gate
	}
	var at []string
	for _, g := range run.Waiting() {
		at = append(at, g.Gate)
	}
	if len(at) == 0 {
		return "its gate"
	}
	return strings.Join(at, " and ")
}
