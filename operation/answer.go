package operation

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/gate"
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
	if err := notResumed(store, run); err != nil { // before the review: nothing there is to approve
		return nil, err
	}
	// A run that waits at nothing has nothing to review: Answer says why.
	if o.Review != nil && waits(run) && len(run.Waiting()) > 0 {
		plan, err := record.DecodePlan(o.ID, planJSON)
		if err != nil {
			return nil, err
		}
		if err := o.Review(plan, run.ID, waitingAt(run, o.Gate)); err != nil {
			return nil, err
		}
	}
	return answer(store, o.ID, gate.Answer{Gate: o.Gate, Approve: true, Reason: o.Reason})
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
	return answer(store, o.ID, gate.Answer{Gate: o.Gate, Reason: o.Reason})
}

// answer records an answer to a gate of run id as who runs pipectl. On
// a backend that authenticates (kubernetes) the answer names the
// cluster's identity, or what PIPECTL_USER claims: the API server admits
// the vote only when that is who writes it. Elsewhere it is Who().
func answer(store *record.Store, id string, a gate.Answer) (*Answered, error) {
	who, authenticated, err := identity(store)
	if err != nil {
		return nil, err
	}
	a.User, a.Groups = who.User, who.Groups
	if claim := strings.TrimSpace(os.Getenv("PIPECTL_USER")); authenticated && claim != "" {
		a.User = claim
	}
	at, err := answerWaiting(store, id, a)
	if err != nil {
		return nil, err
	}
	return &Answered{Gate: at, Run: id, User: a.User}, nil
}

// ErrNotWaiting: the run does not wait at the gate (or at any).
var ErrNotWaiting = errors.New("not waiting for approval")

// ErrRefused: the gate does not count the answer; the error says why.
var ErrRefused = errors.New("refused")

// answerWaiting records an answer to a gate a running run waits at, from
// any process. The gate is stage.NAME, step.NAME or a stage's name; ""
// picks the one approval the run waits for. An answer the gate's rule
// refuses (gate.Rule: not an approver, a self-approval where forbidden, a
// second approval by the same person) is recorded as refused, with why,
// and refused here. It returns the gate answered.
func answerWaiting(store *record.Store, id string, given gate.Answer) (string, error) {
	run, planJSON, err := store.Show(id, nil)
	if err != nil {
		return "", err
	}
	if !waits(run) {
		return "", fmt.Errorf("run %s is %s: only a running or parked run waits for approval", id, run.Status)
	}
	if err := notResumed(store, run); err != nil {
		return "", err
	}
	at, err := waitingGate(run, given.Gate)
	if err != nil {
		return "", err
	}
	if err := parkedInTime(run, at); err != nil {
		return "", err
	}
	given.Gate = at
	before, err := carriedAnswers(store, run)
	if err != nil {
		return "", err
	}
	var check func([]record.Answer) string
	var plan engine.Plan
	if json.Unmarshal(planJSON, &plan) == nil {
		if pg := plan.Gate(at); pg != nil && pg.Approval != nil {
			rule := gate.Rule{Approvers: pg.Approval.Approvers, MinApprovals: pg.Approval.MinApprovals, AllowSelfApproval: pg.Approval.AllowSelfApproval}
			check = func(prior []record.Answer) string { return refusedBy(rule, run, slices.Concat(before, prior), given) }
		}
	}
	a, err := store.AppendAnswer(id, record.NewAnswer(given), check)
	if err == nil && a.Refused != "" {
		err = fmt.Errorf("%w: %s (recorded as refused)", ErrRefused, a.Refused)
	}
	return at, err
}

// notResumed refuses an answer to a parked run another run resumed: that
// one goes on for it, and reads the answers given to it.
func notResumed(store *record.Store, run *record.Run) error {
	if run.Status != engine.StatusParked {
		return nil
	}
	all, err := store.List()
	if err != nil {
		return err
	}
	last := run.ID
	for i := 0; i < len(all); i++ {
		next := resumedBy(all, last)
		if next == "" {
			break
		}
		last = next
	}
	if last == run.ID {
		return nil
	}
	return fmt.Errorf("run %s was resumed by run %s, which goes on for it: answer that one (%s; `pipectl runs show %s` says where it is)",
		run.ID, last, v1.CommandsFor(last).Approve, last)
}

// carriedAnswers are the answers a resumed run carries from the parked
// runs it continues, oldest first: its gates count them before its own.
func carriedAnswers(store *record.Store, run *record.Run) ([]record.Answer, error) {
	if run.ResumedFrom == "" {
		return nil, nil
	}
	get := func(id string) (*record.Run, error) {
		r, _, err := store.Show(id, nil)
		return r, err
	}
	from, err := get(run.ResumedFrom)
	if err != nil {
		return nil, fmt.Errorf("run %s resumes run %s, and cannot read it: %w", run.ID, run.ResumedFrom, err)
	}
	ids, err := carried(from, get)
	if err != nil {
		return nil, err
	}
	var out []record.Answer
	for _, id := range ids {
		answers, err := store.Answers(id)
		if err != nil {
			return nil, err
		}
		out = append(out, answers...)
	}
	return out, nil
}

// waits: a running run, or a parked one, may wait at a gate.
func waits(run *record.Run) bool {
	return run.Status == record.StatusRunning || run.Status == engine.StatusParked
}

// parkedInTime refuses an answer to a parked run's gate past its deadline:
// the gate timed out while no process watched it, and the resume says so.
func parkedInTime(run *record.Run, gate string) error {
	if run.Status != engine.StatusParked {
		return nil
	}
	for _, g := range run.Waiting() {
		if g.Gate == gate && !g.Until.IsZero() && time.Now().After(g.Until) {
			return fmt.Errorf("run %s is parked at %s, whose deadline passed at %s: the gate timed out, nothing was recorded. "+
				"pipectl apply -resume %s ends the run (it fails at the gate); then plan and apply afresh",
				run.ID, gate, g.Until.Local().Format("2006-01-02 15:04:05 MST"), run.ID)
		}
	}
	return nil
}

// refusedBy says why the rule refuses given after the approvals recorded
// before it, or "": counted atomically with the write (AppendAnswer), so
// of two approvals by the same person at once, the second sees the first.
func refusedBy(rule gate.Rule, run *record.Run, prior []record.Answer, given gate.Answer) string {
	tally := &gate.Tally{Rule: rule, StartedBy: run.StartedBy, Actor: run.StartedByActor}
	for _, a := range prior {
		if a.Gate == given.Gate && a.Approve {
			tally.Take(a.Taken())
		}
	}
	if r := tally.Check(given); r != nil {
		return r.Message
	}
	return ""
}

// waitingGate resolves the gate an answer is for among those the run
// waits at for approval.
func waitingGate(run *record.Run, name string) (string, error) {
	var waiting []string
	for _, g := range run.Waiting() {
		if g.Kind == gate.KindApproval {
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
