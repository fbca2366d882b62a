package dsl

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/pipectl/pipectl/dsl/funcs"
)

// Scope holds the values of one run that do not depend on steps: variables,
// the selected environment and locals. It builds the evaluation contexts for
// every expression of the pipeline.
type Scope struct {
	Config      *Config
	Environment string               // the selected environment, "" when the pipeline has none
	Vars        map[string]cty.Value // sensitive variables carry SensitiveMark
	Env         cty.Value            // object of the selected environment's attributes
	Locals      map[string]cty.Value
	Functions   map[string]function.Function
	// Reads are the files the file functions read (see engine.Sources).
	Reads *funcs.Reads
	// RawSecrets are the values given to sensitive variables, as given,
	// even those that failed to convert to their type: no message may
	// quote them (see engine.Pipeline.LearnSecrets).
	RawSecrets []cty.Value

	base       *hcl.EvalContext
	allowUnset bool
}

// Each is the current instance of a for_each step.
type Each struct{ Key, Value cty.Value }

// EvalContext is the context for a step's, a stage's or an output's
// expressions. steps maps a step name to its value: an object of its
// outputs, or for a for_each step a map of instance key to such object. A
// declared step absent from the map is unknown (cty.DynamicVal), which is
// what plan-time evaluation needs. each is nil outside a for_each step.
//
// It costs time proportional to the number of steps; to evaluate one step's
// expressions, StepEvalContext is cheaper.
func (s *Scope) EvalContext(steps map[string]cty.Value, each *Each) *hcl.EvalContext {
	all := make(map[string]cty.Value, len(s.Config.steps))
	for _, st := range s.Config.steps {
		all[st.Name] = stepValue(steps, st.Name)
	}
	return s.child(all, each)
}

// StepEvalContext is EvalContext restricted to the steps that st refers to,
// which is all its expressions can see. For a for_each step, each is the
// instance to evaluate; when nil, each.key and each.value are unknown, which
// type-checks the configuration for every instance at once.
func (s *Scope) StepEvalContext(st *Step, steps map[string]cty.Value, each *Each) *hcl.EvalContext {
	refs := make(map[string]cty.Value, len(st.refs))
	for _, r := range st.refs {
		refs[r.Name] = stepValue(steps, r.Name)
	}
	if each == nil && st.ForEach != nil {
		each = &Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}
	}
	return s.child(refs, each)
}

func stepValue(steps map[string]cty.Value, name string) cty.Value {
	if v, ok := steps[name]; ok && v != cty.NilVal {
		return v
	}
	return cty.DynamicVal
}

func (s *Scope) child(steps map[string]cty.Value, each *Each) *hcl.EvalContext {
	ctx := s.base.NewChild()
	ctx.Functions = s.Functions // where hcl looks for "did you mean" suggestions
	ctx.Variables = map[string]cty.Value{"step": cty.ObjectVal(steps)}
	if each != nil {
		ctx.Variables["each"] = cty.ObjectVal(map[string]cty.Value{"key": each.Key, "value": each.Value})
	}
	return ctx
}

// PathRoot is path.root: ".", the pipeline directory as seen from itself.
// pipectl runs a pipeline in its directory (as terraform -chdir does), so a
// path built on path.root means the same wherever pipectl was started, on
// whichever machine, at plan and at apply: a saved plan's steps evaluate
// the same in another checkout.
const PathRoot = "."

// baseContext holds what every expression may see: var, env, local, path,
// pipeline and the functions. Before locals are bound it omits them.
func (s *Scope) baseContext(withLocals bool) *hcl.EvalContext {
	pipeline := map[string]cty.Value{"name": cty.StringVal(""), "environment": cty.StringVal(s.Environment)}
	if s.Config.Pipeline != nil {
		pipeline["name"] = cty.StringVal(s.Config.Pipeline.Name)
	}
	if s.Environment == "" && len(s.Config.Environments) > 0 {
		pipeline["environment"] = cty.UnknownVal(cty.String) // none selected: an error already
	}
	vars := map[string]cty.Value{
		"var":      cty.ObjectVal(s.Vars),
		"env":      s.Env,
		"path":     cty.ObjectVal(map[string]cty.Value{"root": cty.StringVal(PathRoot)}),
		"pipeline": cty.ObjectVal(pipeline),
		// Known only while a run goes on: the engine sets it (WithRun).
		"run": cty.UnknownVal(s.Config.RunType()),
		// Known only in on_waiting steps, as a gate starts waiting (WithGate).
		"gate": cty.UnknownVal(GateType),
	}
	if withLocals {
		vars["local"] = cty.ObjectVal(s.Locals)
	}
	return &hcl.EvalContext{Variables: vars, Functions: s.Functions}
}

// bindLocals evaluates the locals in dependency order. A cycle is an error
// on each local of it; locals in a cycle, or depending on a failed one, are
// unknown so that errors do not cascade.
func (s *Scope) bindLocals() hcl.Diagnostics {
	locals := s.Config.Locals
	ctx := s.baseContext(false)
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var diags hcl.Diagnostics
	var visit func(name string, path []string)
	visit = func(name string, path []string) {
		switch state[name] {
		case done:
			return
		case visiting:
			cycle := append(path[indexOf(path, name):], name)
			l := locals[name]
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cycle in local values",
				Detail:   fmt.Sprintf("Local values refer to each other in a loop: %s. Break the loop.", "local."+strings.Join(cycle, " → local.")),
				Subject:  l.DeclRange.Ptr(),
			})
			for _, n := range cycle {
				s.Locals[n] = cty.DynamicVal
			}
			return
		}
		state[name] = visiting
		deps := localDeps(locals[name])
		for _, dep := range deps {
			if locals[dep] != nil {
				visit(dep, append(path, name))
			}
		}
		state[name] = done
		if _, failed := s.Locals[name]; failed {
			return // part of a cycle
		}
		s.Locals[name] = s.evalLocal(locals[name], deps, ctx, &diags)
	}
	for _, name := range slices.Sorted(maps.Keys(locals)) {
		visit(name, nil)
	}
	return diags
}

func (s *Scope) evalLocal(l *Local, deps []string, parent *hcl.EvalContext, diags *hcl.Diagnostics) cty.Value {
	visible := make(map[string]cty.Value, len(deps))
	for _, dep := range deps {
		if v, ok := s.Locals[dep]; ok {
			visible[dep] = v
		} else {
			visible[dep] = cty.DynamicVal
		}
	}
	ctx := parent.NewChild()
	ctx.Functions = s.Functions
	ctx.Variables = map[string]cty.Value{"local": cty.ObjectVal(visible)}
	val, d := l.Expr.Value(ctx)
	*diags = append(*diags, d...)
	if d.HasErrors() {
		return cty.DynamicVal
	}
	return val
}

// localDeps returns the names of the locals an expression refers to.
func localDeps(l *Local) []string {
	var deps []string
	for _, t := range l.Expr.Variables() {
		if t.RootName() != "local" {
			continue
		}
		if name, ok := traversalName(t); ok && !contains(deps, name) {
			deps = append(deps, name)
		}
	}
	return deps
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

// Outputs evaluates the pipeline's outputs with the given step values (see
// EvalContext). Sensitive outputs carry SensitiveMark.
func (s *Scope) Outputs(steps map[string]cty.Value) (map[string]cty.Value, hcl.Diagnostics) {
	return s.OutputsExcept(steps, nil)
}

// OutputsExcept is Outputs without those reading a step for which
// leftOut is true (a step left out of a subset run, -target or -only):
// such an output has no value, rather than an error.
func (s *Scope) OutputsExcept(steps map[string]cty.Value, leftOut func(step string) bool) (map[string]cty.Value, hcl.Diagnostics) {
	ctx := s.EvalContext(steps, nil)
	out := make(map[string]cty.Value, len(s.Config.Outputs))
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(s.Config.Outputs)) {
		o := s.Config.Outputs[name]
		if o.Value == nil || leftOut != nil && slices.ContainsFunc(o.Steps(), leftOut) {
			continue
		}
		val, d := o.Value.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			val = cty.DynamicVal
		}
		if o.Sensitive {
			val = val.Mark(SensitiveMark)
		}
		out[name] = val
	}
	return out, diags
}
