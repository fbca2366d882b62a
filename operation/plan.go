package operation

import (
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

// Plan asks every step's action what it would do against the live world.
type Plan struct {
	cfg    *Configuration
	Inputs dsl.Inputs
	// Out, when set, is where the plan is saved for a later apply.
	Out string
	// Subset plans part of the pipeline (-target, -only).
	Subset Subset
}

// NewPlan is a Plan on cfg.
func NewPlan(cfg *Configuration) *Plan { return &Plan{cfg: cfg} }

// Planned is a plan and the pipeline it was made from (never nil, for the
// diagnostics' files).
type Planned struct {
	Pipeline *engine.Pipeline
	Plan     *engine.Plan // nil when the diagnostics have errors
}

// Files are the pipeline's source files, for the diagnostics.
func (p *Planned) Files() map[string]*hcl.File { return sourceFiles(p.Pipeline) }

// Run plans the pipeline at path (and saves the plan to Out). An error is
// one of writing the plan; the pipeline's problems are diagnostics.
func (o *Plan) Run(ctx context.Context, path string) (*Planned, hcl.Diagnostics, error) {
	s, p, diags := o.cfg.Open(path, o.Inputs)
	out := &Planned{Pipeline: p}
	if s == nil {
		return out, diags, nil
	}
	defer s.Close()
	if more := selectSteps(s, PipelineDir(path), o.Subset); more.HasErrors() {
		return out, append(diags, more...), nil
	}
	plan, more := s.Planner.Plan(ctx)
	s.Release()
	diags = append(diags, more...)
	if diags.HasErrors() {
		return out, diags, nil
	}
	out.Plan = plan
	if o.Out != "" {
		if err := engine.WritePlan(o.Out, plan); err != nil {
			return out, diags, err
		}
	}
	return out, diags, nil
}
