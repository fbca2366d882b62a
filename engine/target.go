package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

// Selection is a subset run: which main steps run, and why the others
// are left out. Failure handlers and finally steps are never left out.
type Selection struct {
	// Targets are the -target addresses (step.X, stage.X); Only is the
	// -only stage (stage.X). One or the other.
	Targets []string
	Only    string
	// From is the run -only reads the outputs of the earlier steps from,
	// and Values those outputs (main steps, by name).
	From   string
	Values map[string]cty.Value

	runs map[string]bool // main steps that run
}

// Runs tells whether a main step runs in this selection (nil: all do).
func (s *Selection) Runs(step string) bool { return s == nil || s.runs[step] }

// LeftOut says why a main step does not run, or "" when it does.
func (s *Selection) LeftOut(step string) string {
	if s.Runs(step) { // first: s may be nil
		return ""
	}
	_, fromRun := s.Values[step]
	switch {
	case s.Only != "" && fromRun:
		return fmt.Sprintf("not in %s (-only): its outputs come from run %s", s.Only, s.From)
	case s.Only != "":
		return fmt.Sprintf("not in %s (-only)", s.Only)
	}
	return "not targeted (-target " + strings.Join(s.Targets, ", -target ") + ")"
}

// SelectTargets is -target: the main steps and stages named, and
// everything they depend on.
func SelectTargets(p *Pipeline, targets []string) (*Selection, hcl.Diagnostics) {
	sel := &Selection{Targets: targets, runs: map[string]bool{}}
	var diags hcl.Diagnostics
	for _, t := range targets {
		addr, d := checkAddress(p, t, "-target")
		if d != nil {
			diags = append(diags, d)
			continue
		}
		for _, n := range append(p.Graph.Main.Ancestors(addr), addr) {
			if name, ok := n.Step(); ok {
				sel.runs[name] = true
			}
		}
		if name, ok := addr.Stage(); ok {
			for _, s := range p.Config.Stage(name).Steps {
				sel.runs[s.Name] = true
			}
		}
	}
	return sel, diags
}

// SelectOnly is -only stage.X: that stage's main steps, and none of what
// they depend on; Needs lists the steps outside the stage whose outputs
// its steps read (they must come from an earlier run).
func SelectOnly(p *Pipeline, only string) (*Selection, hcl.Diagnostics) {
	addr, d := checkAddress(p, only, "-only")
	if d != nil {
		return nil, hcl.Diagnostics{d}
	}
	name, isStage := addr.Stage()
	if !isStage {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid -only",
			Detail: fmt.Sprintf("-only takes a stage (stage.NAME), not %s: to run one step and what it depends on, use -target %s.", only, only)}}
	}
	sel := &Selection{Only: addr.String(), runs: map[string]bool{}}
	for _, s := range p.Config.Stage(name).Steps {
		sel.runs[s.Name] = true
	}
	return sel, nil
}

// Needs lists the steps left out whose outputs the selected steps (or
// their stages' conditions) read, by name, sorted.
func (s *Selection) Needs(p *Pipeline) []string {
	need := map[string]bool{}
	for _, st := range p.Config.Stages {
		for _, step := range st.Steps {
			if !s.Runs(step.Name) {
				continue
			}
			for _, r := range append(step.References(), stageConditionRefs(st)...) {
				if target := p.Config.Step(r.Name); target != nil && target.Kind == dsl.Main && !s.Runs(r.Name) {
					need[r.Name] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(need))
}

// checkAddress checks a -target or -only address: step.NAME of a main
// step or stage.NAME, with a suggestion for a misspelled one.
func checkAddress(p *Pipeline, addr, flag string) (Addr, *hcl.Diagnostic) {
	bad := func(detail string, args ...any) (Addr, *hcl.Diagnostic) {
		return "", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + flag + " " + addr, Detail: fmt.Sprintf(detail, args...)}
	}
	kind, name, ok := strings.Cut(addr, ".")
	if !ok || (kind != "step" && kind != "stage") || name == "" {
		takes := "step.NAME or stage.NAME"
		if flag == "-only" {
			takes = "stage.NAME"
		}
		return bad("%s takes %s.%s", flag, takes, addressOf(p, addr))
	}
	if kind == "stage" {
		if p.Config.Stage(name) == nil {
			return bad("No stage named %q.%s", name, dsl.Suggest(name, stageNames(p.Config), "stage."))
		}
		return Addr(addr), nil
	}
	s := p.Config.Step(name)
	switch {
	case s == nil:
		return bad("No step named %q.%s", name, dsl.Suggest(name, mainStepNames(p.Config), "step."))
	case s.Kind != dsl.Main:
		return bad("Step %q is a %s step: it runs after a failure or at the end of every run, never on its own. Target the stages' steps.", name, s.Kind)
	}
	return Addr(addr), nil
}

// addressOf is " Did you mean step.NAME?" for a bare name that is a
// main step's or a stage's (-target deploy), or "".
func addressOf(p *Pipeline, name string) string {
	var addrs []string
	if s := p.Config.Step(name); s != nil && s.Kind == dsl.Main {
		addrs = append(addrs, "step."+name)
	}
	if p.Config.Stage(name) != nil {
		addrs = append(addrs, "stage."+name)
	}
	if len(addrs) == 0 {
		return ""
	}
	return " Did you mean " + strings.Join(addrs, " or ") + "?"
}

func stageNames(c *dsl.Config) []string {
	var out []string
	for _, st := range c.Stages {
		out = append(out, st.Name)
	}
	return out
}

func mainStepNames(c *dsl.Config) []string {
	var out []string
	for _, s := range c.Steps() {
		if s.Kind == dsl.Main {
			out = append(out, s.Name)
		}
	}
	return out
}

// leftOut is the plan of a step a subset run does not run.
func (pl *Planner) leftOut(s *dsl.Step, phase PhaseGraph, why string) *PlannedStep {
	return &PlannedStep{Name: s.Name, Stage: s.Stage, Phase: phase.Name, Action: s.Action.String(),
		DependsOn: DirectSteps(phase.Graph, StepAddr(s.Name)), Run: DecisionSkip, LeftOut: why}
}

// value is what a left-out step reads as: its outputs from the -only
// run, else null (as a step that did not run).
func (s *Selection) value(step string) cty.Value {
	if v, ok := s.Values[step]; ok {
		return v
	}
	return cty.NullVal(cty.DynamicPseudoType)
}

// unread reports whether a step is left out of the plan with nothing to
// read (not from an -only run): the outputs that read it have no value.
func unreadSteps(p *Plan, values map[string]cty.Value) func(step string) bool {
	return func(step string) bool {
		ps := p.Step(step)
		v, ok := values[step]
		return ps != nil && ps.LeftOut != "" && (!ok || v.IsNull())
	}
}

// outputsLeftOut says, for each output reading an unread step, why it has
// no value.
func outputsLeftOut(p *Plan, cfg *dsl.Config, unread func(string) bool) map[string]string {
	var why map[string]string
	for name, o := range cfg.Outputs {
		if i := slices.IndexFunc(o.Steps(), unread); i >= 0 {
			if why == nil {
				why = map[string]string{}
			}
			step := o.Steps()[i]
			why[name] = fmt.Sprintf("reads step %s, left out: %s", step, p.Step(step).LeftOut)
		}
	}
	return why
}

// ChangesSince says how the pipeline differs from the plan a run
// applied: its files, or its variables. -only refuses to read the outputs
// of a run of another pipeline than this one.
func (pl *Planner) ChangesSince(applied *Plan) []string {
	if pl.Pipeline.ConfigDigest() != applied.ConfigDigest {
		return []string{"the pipeline's files changed"}
	}
	return pl.changedVariables(applied, &Plan{Variables: plannedVariables(pl.Pipeline, applied.Salt)})
}

// leaveOut marks the main steps the plan left out (-target, -only) as
// skipped, saying why, before anything starts; those -only reads the
// outputs of were marked done by reuse.
func (p *phaseRun) leaveOut() {
	if p.Plan == nil {
		return
	}
	for _, ps := range p.Plan.Steps {
		if ps.LeftOut == "" || ps.Phase != PhaseMain || p.started(StepAddr(ps.Name)) {
			continue
		}
		s := p.Pipeline.Config.Step(ps.Name)
		if s == nil {
			continue
		}
		p.settle(StepAddr(s.Name), StatusSkipped)
		p.finish(s, StatusSkipped, cty.NullVal(cty.DynamicPseudoType))
		p.emit(Event{Type: StepFinished, Phase: p.ph.Name, Stage: s.Stage, Step: s.Name, Action: s.Action.String(),
			Status: StatusSkipped, Message: "left out: " + ps.LeftOut})
	}
}

// Upstream lists the main steps left out that the selected ones wait
// for, directly or not: what -only takes from an earlier run. The steps
// after the selection are not upstream: they are simply left out.
func (s *Selection) Upstream(p *Pipeline) map[string]bool {
	up := map[string]bool{}
	for name := range s.runs {
		for _, n := range p.Graph.Main.Ancestors(StepAddr(name)) {
			if dep, ok := n.Step(); ok && !s.Runs(dep) {
				up[dep] = true
			}
		}
	}
	return up
}
