package operation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/gate"
	"github.com/pipectl/pipectl/record"
)

// resumption is what `apply -resume` starts from: the run's plan and the
// values of the steps that succeeded in it.
type resumption struct {
	id     string
	plan   *engine.Plan
	values map[string]cty.Value
	ran    map[string]bool // main steps that ran in it, succeeded or not
	// parked: the run was parked (apply -park) at these gates, with
	// their deadlines (zero: none). answered are the parked runs whose
	// answers carry over (carried).
	parked   map[string]time.Time
	answered []string
	// startedBy and actor started the run (or the first of the runs it
	// resumes): four eyes refuses them in the resuming run too.
	startedBy, actor string
}

// loadResumption applies the resume rules: a run that did not succeed, is
// not running and was not resumed already, and whose step outcomes are
// known: its record is complete, or the outcomes kept beside it (a full
// disk stops the record's writes, not theirs) are.
func loadResumption(store *record.Store, id string) (*resumption, error) {
	run, planJSON, err := store.Show(id, nil)
	if err != nil {
		return nil, err
	}
	plan, err := record.DecodePlan(id, planJSON)
	if err != nil {
		return nil, err
	}
	kept, err := store.KeptOutcomes(id)
	if err != nil {
		return nil, fmt.Errorf("run %s cannot be resumed: %w", id, err)
	}
	if run.RecordFailed != "" && (kept == nil || kept.Failed != "") {
		why := "no step outcomes were kept beside it"
		if kept != nil {
			why = "keeping its step outcomes failed too: " + kept.Failed
		}
		return nil, fmt.Errorf("run %s cannot be resumed: its record is incomplete (%s) and %s, so which steps succeeded is not known. "+
			"Steps that may have run: %s. Check what they did, then plan and apply afresh", id, run.RecordFailed, why, mayHaveRun(run, plan))
	}
	if run.Status == record.StatusRunning {
		return nil, fmt.Errorf("run %s is still running", id)
	}
	if run.Status == engine.StatusSucceeded {
		return nil, fmt.Errorf("run %s succeeded: there is nothing to resume", id)
	}
	all, err := store.List()
	if err != nil {
		return nil, err
	}
	if later := resumedBy(all, id); later != "" {
		return nil, fmt.Errorf("run %s was already resumed by run %s: resume that one if it did not succeed", id, later)
	}
	values, err := store.Values(id)
	if err != nil {
		return nil, err
	}
	if err := addKept(id, run, plan, values, kept); err != nil {
		return nil, err
	}
	ran := map[string]bool{}
	for _, s := range run.Steps {
		if s.Phase == engine.PhaseMain && s.Status.Ran() {
			ran[s.Step] = true
		}
	}
	r := &resumption{id: id, plan: plan, values: values, ran: ran, startedBy: run.StartedBy, actor: run.StartedByActor}
	if run.Status == engine.StatusParked {
		r.parked = map[string]time.Time{}
		for _, g := range run.Waiting() {
			if g.Kind == gate.KindApproval { // a window's Until is when it opens, no deadline
				r.parked[g.Gate] = g.Until
			}
		}
		if r.answered, err = carried(run, listed(all)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// resumedBy is the run that resumed run id ("": none).
func resumedBy(all []*record.Run, id string) string {
	for _, later := range all {
		if later.ResumedFrom == id {
			return later.ID
		}
	}
	return ""
}

// listed reads runs from a list of them.
func listed(all []*record.Run) func(id string) (*record.Run, error) {
	return func(id string) (*record.Run, error) {
		for _, r := range all {
			if r.ID == id {
				return r, nil
			}
		}
		return nil, fmt.Errorf("run %s is not in the record", id)
	}
}

// carried are the parked runs whose answers carry over to a run that
// resumes run: run itself when parked, and the parked runs it continues
// (apply -resume -park parked it again), oldest first. get reads a run.
func carried(run *record.Run, get func(id string) (*record.Run, error)) ([]string, error) {
	var out []string
	for r := run; r.Status == engine.StatusParked; {
		out = append(out, r.ID)
		if r.ResumedFrom == "" || len(out) > 1000 {
			break
		}
		from, err := get(r.ResumedFrom)
		if err != nil {
			return nil, fmt.Errorf("run %s resumes run %s, whose gates' answers carry over to it, and cannot read it: %w", r.ID, r.ResumedFrom, err)
		}
		r = from
	}
	slices.Reverse(out)
	return out, nil
}

// resumedAnswers are the answers a run resuming a parked one reads at a
// gate: those given to the parked runs it continues (from), then its own
// (own). Each source's answers are added as they come, after those read
// before, whatever source they came to: the engine reads the list by
// position, so none is read twice or skipped.
type resumedAnswers struct {
	own  engine.GateAnswers
	from []string
	read func(id string) ([]record.Answer, error)

	mu    sync.Mutex
	gates map[string]*readAnswers
}

// readAnswers are the answers to one gate read so far, and how many
// came from each source ("": own).
type readAnswers struct {
	list []engine.GateAnswer
	n    map[string]int
}

func newResumedAnswers(own engine.GateAnswers, store *record.Store, from []string) *resumedAnswers {
	return &resumedAnswers{own: own, from: from, read: store.Answers, gates: map[string]*readAnswers{}}
}

func (r *resumedAnswers) Answers(gate string) ([]engine.GateAnswer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.gates[gate]
	if g == nil {
		g = &readAnswers{n: map[string]int{}}
		r.gates[gate] = g
	}
	add := func(source string, answers []engine.GateAnswer) {
		if len(answers) > g.n[source] {
			g.list = append(g.list, answers[g.n[source]:]...)
			g.n[source] = len(answers)
		}
	}
	var errs []error
	for _, id := range r.from {
		all, err := r.read(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var answers []engine.GateAnswer
		for _, a := range all {
			if a.Gate == gate {
				answers = append(answers, a.Taken())
			}
		}
		add(id, answers)
	}
	own, err := r.own.Answers(gate)
	if err != nil {
		errs = append(errs, err)
	}
	add("", own)
	return slices.Clone(g.list), errors.Join(errs...)
}

// addKept adds the values of the steps that succeeded after the record's
// last write, from the outcomes kept beside it. A step that succeeded
// whose value was kept nowhere would run again: the resume is refused.
func addKept(id string, run *record.Run, plan *engine.Plan, values map[string]cty.Value, kept *record.Outcomes) error {
	if kept == nil {
		return nil
	}
	more, lost, err := kept.Values()
	if err != nil {
		return fmt.Errorf("run %s cannot be resumed: %w", id, err)
	}
	for step, v := range more {
		if _, ok := values[step]; !ok {
			values[step] = v
		}
	}
	lost = slices.DeleteFunc(lost, func(step string) bool { _, ok := values[step]; return ok })
	if len(lost) > 0 {
		return fmt.Errorf("run %s cannot be resumed: step %s succeeded in it but what it evaluated to was not kept (its record is incomplete, "+
			"and the value did not fit beside it), so a resume would run it again. Steps that may have run: %s. "+
			"Check what they did, then plan and apply afresh", id, strings.Join(lost, ", "), mayHaveRun(run, plan))
	}
	return nil
}

// mayHaveRun lists, in plan order, the main steps a run whose record is
// incomplete may have run: those recorded as started, and those not
// recorded at all (they may have started after its last write).
func mayHaveRun(run *record.Run, plan *engine.Plan) string {
	status := map[string]engine.Status{}
	for _, s := range run.Steps {
		if s.Phase == engine.PhaseMain && (status[s.Step] == "" || s.Status.Ran()) {
			status[s.Step] = s.Status
		}
	}
	var out []string
	for _, s := range plan.Steps {
		st, recorded := status[s.Name]
		switch {
		case s.Phase != engine.PhaseMain || s.Run == engine.DecisionSkip:
		case !recorded:
			out = append(out, s.Name+" (not recorded)")
		case st.Ran() || st == record.StatusInterrupted || st == record.StatusRunning:
			out = append(out, fmt.Sprintf("%s (%s)", s.Name, st))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// check is the plan check of a resume: the steps not run yet must still
// do what was approved (engine.Planner.CheckResume).
func (r *resumption) check(pl *engine.Planner, ctx context.Context, saved *engine.Plan) (*engine.Plan, hcl.Diagnostics) {
	return pl.CheckResume(ctx, saved, r.done(pl.Pipeline), r.ran)
}

// done keeps the values of main steps that still exist; the others run.
func (r *resumption) done(p *engine.Pipeline) map[string]cty.Value {
	out := map[string]cty.Value{}
	for name, v := range r.values {
		if s := p.Config.Step(name); s != nil && s.Kind == dsl.Main {
			out[name] = v
		}
	}
	return out
}
