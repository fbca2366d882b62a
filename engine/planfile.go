package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
)

// WritePlan saves a plan (JSON, with no sensitive value in it) for a later
// `pipectl apply FILE`.
func WritePlan(path string, p *Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// ReadPlan loads a saved plan.
func ReadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the plan: %w", err)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s is not a pipectl plan file: %v", path, err)
	}
	if p.FormatVersion != PlanFormatVersion {
		return nil, fmt.Errorf("%s was saved in plan format %d; this pipectl reads format %d: run `pipectl plan` again",
			path, p.FormatVersion, PlanFormatVersion)
	}
	return &p, nil
}

// Inputs gives back the choices a saved plan was made with; given adds the
// sensitive variables, which a plan never stores.
func (p *Plan) Inputs(given dsl.Inputs) dsl.Inputs {
	in := given
	in.Environment = p.Environment
	in.Vars = map[string]string{}
	for name, v := range p.Variables {
		if !v.Sensitive {
			in.Vars[name] = v.Value
		}
	}
	for name, raw := range given.Vars {
		if pv, ok := p.Variables[name]; !ok || pv.Sensitive {
			in.Vars[name] = raw
		}
	}
	return in
}

// CheckSaved refuses a saved plan that no longer describes what apply
// would do: the pipeline's files changed, a variable differs, or an
// action's Plan now observes a different world (its fingerprint differs).
// It returns the fresh plan to apply.
func (pl *Planner) CheckSaved(ctx context.Context, saved *Plan) (*Plan, hcl.Diagnostics) {
	return pl.replan(ctx, saved, true)
}

// CheckResume is CheckSaved for resuming a run: the steps that already ran
// changed the world on purpose, so fingerprints are not compared; the
// pipeline and its variables must still be the same.
func (pl *Planner) CheckResume(ctx context.Context, saved *Plan) (*Plan, hcl.Diagnostics) {
	return pl.replan(ctx, saved, false)
}

func (pl *Planner) replan(ctx context.Context, saved *Plan, fingerprints bool) (*Plan, hcl.Diagnostics) {
	if d := pl.Pipeline.ConfigDigest(); d != saved.ConfigDigest {
		return nil, stale("The pipeline's files changed since the plan was made.")
	}
	fresh, diags := pl.Plan(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	moved := changedVariables(saved, fresh)
	if fingerprints {
		moved = append(moved, changedSteps(saved, fresh)...)
	}
	if len(moved) > 0 {
		return nil, stale("What this plan depends on changed since it was made:\n  - " + strings.Join(moved, "\n  - "))
	}
	return fresh, diags
}

func changedVariables(saved, fresh *Plan) []string {
	var moved []string
	for _, name := range slices.Sorted(maps.Keys(fresh.Variables)) {
		v := fresh.Variables[name]
		if sv := saved.Variables[name]; sv != v && !v.Sensitive {
			moved = append(moved, fmt.Sprintf("variable %q is %q now, %q in the plan", name, v.Value, sv.Value))
		}
	}
	return moved
}

// changedSteps lists the step instances whose action observes something
// else than when the plan was made.
func changedSteps(saved, fresh *Plan) []string {
	var moved []string
	for _, fs := range fresh.Steps {
		ss := saved.Step(fs.Name)
		if ss == nil || len(ss.Instances) != len(fs.Instances) {
			moved = append(moved, fmt.Sprintf("step %q now has other instances", fs.Name))
			continue
		}
		for i, in := range fs.Instances {
			if old := ss.Instances[i]; old.Key != in.Key || old.Fingerprint != in.Fingerprint {
				moved = append(moved, fmt.Sprintf("step %s (%s) observes a change: %s", instanceID(fs.Name, in.Key), fs.Action, orNothing(in.Summary)))
			}
		}
	}
	return moved
}

func orNothing(s string) string {
	if s == "" {
		return "its state changed"
	}
	return s
}

func stale(detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Saved plan is stale",
		Detail:   detail + "\nApplying it would do something else than what was reviewed. Run `pipectl plan` again and review the new plan.",
	}}
}
