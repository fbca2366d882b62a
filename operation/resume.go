package operation

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// resumption is what `apply -resume` starts from: the run's plan and the
// values of the steps that succeeded in it.
type resumption struct {
	id     string
	plan   *engine.Plan
	values map[string]cty.Value
	ran    map[string]bool // main steps that ran in it, succeeded or not
}

// loadResumption applies the resume rules: a run whose record is complete,
// that did not succeed, is not running and was not resumed already.
func loadResumption(store *record.Store, id string) (*resumption, error) {
	run, planJSON, err := store.Show(id, nil)
	if err != nil {
		return nil, err
	}
	if run.RecordFailed != "" {
		return nil, fmt.Errorf("run %s cannot be resumed: its record is incomplete (%s), so which steps succeeded is not known. "+
			"Check what it did, then plan and apply afresh", id, run.RecordFailed)
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
	for _, later := range all {
		if later.ResumedFrom == id {
			return nil, fmt.Errorf("run %s was already resumed by run %s: resume that one if it did not succeed", id, later.ID)
		}
	}
	plan, err := record.DecodePlan(id, planJSON)
	if err != nil {
		return nil, err
	}
	values, err := store.Values(id)
	if err != nil {
		return nil, err
	}
	ran := map[string]bool{}
	for _, s := range run.Steps {
		if s.Phase == engine.PhaseMain && s.Status.Ran() {
			ran[s.Step] = true
		}
	}
	return &resumption{id: id, plan: plan, values: values, ran: ran}, nil
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
