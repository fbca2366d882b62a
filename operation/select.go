package operation

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// Subset is a subset run as asked for: -target addresses (steps and
// stages, with what they depend on) or one -only stage (with the outputs
// of the steps before it from the last successful run).
type Subset struct {
	Targets []string
	Only    string
	// From is the run -only reads outputs from; "" finds the last
	// successful run of the pipeline and environment.
	From string
	// Backend is where -only finds that run (-backend-config).
	Backend BackendConfig
}

func (s Subset) empty() bool { return len(s.Targets) == 0 && s.Only == "" }

// subsetOf is the subset a saved or resumed plan was made with.
func subsetOf(p *engine.Plan) Subset {
	return Subset{Targets: p.Targets, Only: p.Only, From: p.OnlyFrom}
}

// selectSteps gives the session's planner the subset to plan and run.
func selectSteps(s *Session, dir string, sub Subset) hcl.Diagnostics {
	if sub.empty() {
		return nil
	}
	if len(sub.Targets) > 0 && sub.Only != "" {
		return refusal("-target and -only together", "-only runs one stage alone; -target runs steps and stages with what they depend on. Give one or the other.")
	}
	if len(sub.Targets) > 0 {
		sel, diags := engine.SelectTargets(s.Pipeline, sub.Targets)
		s.Planner.Selection = sel
		return diags
	}
	sel, diags := engine.SelectOnly(s.Pipeline, sub.Only)
	if diags.HasErrors() {
		return diags
	}
	if diags := fillFromLastRun(s, dir, sel, sub); diags.HasErrors() {
		return diags
	}
	s.Planner.Selection = sel
	return nil
}

// fillFromLastRun gives an -only selection the outputs of the steps
// before its stage, from the last successful run of the same pipeline and
// environment (or from the run named), refusing when there is none, when
// the pipeline or its variables changed since, or when an output needed
// was not kept.
func fillFromLastRun(s *Session, dir string, sel *engine.Selection, sub Subset) hcl.Diagnostics {
	from := sub.From
	p := s.Pipeline
	summary := "Cannot run " + sel.Only + " alone (-only)"
	store, err := openRecords(dir, p.Scope.Environment, sub.Backend)
	if err != nil {
		return refusal(summary, err.Error())
	}
	if from == "" {
		if from, err = lastSucceeded(store, p); err != nil {
			return refusal(summary, err.Error())
		}
		if from == "" {
			return refusal(summary, fmt.Sprintf("-only reads the outputs of the steps before %s from the last successful run of pipeline %q%s, and there is none. "+
				"Apply the whole pipeline first, or use -target %s, which runs what it depends on too.", sel.Only, p.Config.Pipeline.Name, inEnv(p), sel.Only))
		}
	}
	applied, err := store.Plan(from)
	if err != nil {
		return refusal(summary, err.Error())
	}
	if changes := s.Planner.ChangesSince(applied); len(changes) > 0 {
		return refusal(summary, fmt.Sprintf("the outputs of run %s, the last successful run%s, were made by another pipeline than this one: %s since. "+
			"Apply the whole pipeline, or use -target %s, which runs what it depends on too.", from, inEnv(p), strings.Join(changes, "; "), sel.Only))
	}
	values, err := store.Values(from)
	if err != nil {
		return refusal(summary, err.Error())
	}
	sel.From, sel.Values = from, values
	upstream := sel.Upstream(p)
	for name := range values {
		if !upstream[name] {
			delete(values, name) // the stage's own steps run again; those after it are left out
		}
	}
	var missing []string
	for _, need := range sel.Needs(p) {
		if _, ok := values[need]; !ok {
			missing = append(missing, "step."+need)
		}
	}
	if len(missing) > 0 {
		return refusal(summary, fmt.Sprintf("its steps read the outputs of %s, which run %s did not keep (they hold a secret, or the step did not run in it). "+
			"Use -target %s, which runs them too.", strings.Join(missing, ", "), from, sel.Only))
	}
	return nil
}

// lastSucceeded is the newest succeeded run of the pipeline in its
// environment, or "".
func lastSucceeded(store *record.Store, p *engine.Pipeline) (string, error) {
	list, err := store.List() // newest first
	if err != nil {
		return "", err
	}
	for _, r := range list {
		if r.Status == engine.StatusSucceeded && r.Pipeline == p.Config.Pipeline.Name && r.Environment == p.Scope.Environment {
			return r.ID, nil
		}
	}
	return "", nil
}

func inEnv(p *engine.Pipeline) string {
	if p.Scope.Environment == "" {
		return ""
	}
	return fmt.Sprintf(" in environment %q", p.Scope.Environment)
}

func refusal(summary, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}}
}
