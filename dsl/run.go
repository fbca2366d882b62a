package dsl

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// run.* tells a step how the run goes: its id everywhere, and in failure
// handlers and finally steps what has happened so far — in the manner of
// GitHub Actions' job.status and Argo's workflow.status and
// workflow.failures.
//
// How each step went is under run.steps.NAME, not step.NAME: step.NAME is
// the step's outputs, and an action may name an output anything, status
// included (helm.upgrade does), so nothing else can live there.
//
//	run.id            string  the run's id (pipectl runs)
//	run.status        string  "running" in the main steps; in handlers and
//	                          finally "succeeded", "failed" or "cancelled"
//	run.failed_steps  list(object({address, step, error}))  every failed
//	                          step instance so far, its error redacted
//	run.steps.NAME    object({status, error, duration})
var (
	// RunStepType is run.steps.NAME: status is "pending" until the step
	// has finished; error is null unless it failed; duration (seconds) is
	// null unless it ran.
	RunStepType = cty.Object(map[string]cty.Type{"status": cty.String, "error": cty.String, "duration": cty.Number})
	// FailedStepType is an element of run.failed_steps.
	FailedStepType = cty.Object(map[string]cty.Type{"address": cty.String, "step": cty.String, "error": cty.String})
)

// Run attribute names, for validation and suggestions.
var (
	runAttrs     = []string{"id", "status", "failed_steps", "steps"}
	runStepAttrs = []string{"status", "error", "duration"}
)

// StatusPending is run.steps.NAME.status of a step that has not finished.
const StatusPending = "pending"

// RunType is the type of run.* for this pipeline: run.steps has one
// attribute per declared step.
func (c *Config) RunType() cty.Type {
	steps := make(map[string]cty.Type, len(c.steps))
	for _, s := range c.steps {
		steps[s.Name] = RunStepType
	}
	return cty.Object(map[string]cty.Type{
		"id": cty.String, "status": cty.String, "failed_steps": cty.List(FailedStepType), "steps": cty.Object(steps),
	})
}

// RunState is what the engine knows of a run, for run.*.
type RunState struct {
	ID     string
	Status string
	Failed []FailedStep
	Steps  map[string]StepState // finished steps; the others are pending
}

// FailedStep is one failed step instance: address is step.NAME or
// step.NAME["key"]; the error is already redacted.
type FailedStep = v1.FailedStep

// StepState is how a step went.
type StepState struct {
	Status   string
	Error    string         // "" reads as null
	Duration *time.Duration // nil: it did not run
}

// RunValue is run.* for a run in this state.
func (c *Config) RunValue(st RunState) cty.Value {
	steps := make(map[string]cty.Value, len(c.steps))
	for _, s := range c.steps {
		ss, ok := st.Steps[s.Name]
		if !ok {
			ss = StepState{Status: StatusPending}
		}
		errVal, dur := cty.NullVal(cty.String), cty.NullVal(cty.Number)
		if ss.Error != "" {
			errVal = cty.StringVal(ss.Error)
		}
		if ss.Duration != nil {
			dur = cty.NumberFloatVal(ss.Duration.Seconds())
		}
		steps[s.Name] = cty.ObjectVal(map[string]cty.Value{"status": cty.StringVal(ss.Status), "error": errVal, "duration": dur})
	}
	failed := make([]cty.Value, 0, len(st.Failed))
	for _, f := range st.Failed {
		failed = append(failed, cty.ObjectVal(map[string]cty.Value{
			"address": cty.StringVal(f.Address), "step": cty.StringVal(f.Step), "error": cty.StringVal(f.Error)}))
	}
	failedList := cty.ListValEmpty(FailedStepType)
	if len(failed) > 0 {
		failedList = cty.ListVal(failed)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal(st.ID), "status": cty.StringVal(st.Status), "failed_steps": failedList, "steps": cty.ObjectVal(steps),
	})
}

// WithRun makes run.* visible to an evaluation context (one of Scope's:
// each has variables of its own).
func WithRun(ctx *hcl.EvalContext, run cty.Value) *hcl.EvalContext {
	ctx.Variables["run"] = run
	return ctx
}

// checkRunRef checks a run.* reference in a step: run.id anywhere, the
// rest only where it can be known — in on_failure and finally steps,
// which run once the main steps are over; not in main steps nor in
// on_waiting steps, which run while they do.
func (l *loader) checkRunRef(t hcl.Traversal, step *Step) {
	name, hasName := traversalName(t)
	where, why := runRefPlace(step)
	if len(t) == 1 {
		if where != "" {
			l.errorf(t.SourceRange(), "Invalid reference", "Only run.id can be used in %s: %s", where, why)
		}
		return
	}
	if !hasName || !contains(runAttrs, name) {
		l.errorf(t.SourceRange(), "Unsupported attribute", "run has no attribute %q.%s Available: run.id, run.status, run.failed_steps, run.steps.",
			name, suggest(name, runAttrs, "run."))
		return
	}
	if name != "id" && where != "" {
		l.errorf(t.SourceRange(), "Invalid reference", "run.%s cannot be used in %s: %s", name, where, why)
		return
	}
	if name == "steps" && len(t) > 2 {
		l.checkRunStep(t[2:], t.SourceRange())
	}
}

// runRefPlace names the steps that may read only run.id, and why; ""
// where the rest of run.* is known.
func runRefPlace(step *Step) (where, why string) {
	switch {
	case step == nil:
		return "", ""
	case step.Kind == Main:
		return "a stage's steps", runWhy
	case step.Kind == OnWaiting:
		return "on_waiting steps", runWaitingWhy
	}
	return "", ""
}

const runWaitingWhy = "on_waiting steps run while the main steps do, when a gate starts waiting, so how the run went " +
	"(run.status, run.failed_steps, run.steps) would depend on timing. Tell what waits with gate.* (gate.plan_summary says what the run changes)."

const runWhy = "how the run went (run.status, run.failed_steps, run.steps) is known in on_failure and finally steps, " +
	"which run once the main steps are over; in the main steps it would depend on timing. " +
	"Move the step into an on_failure or finally block, or refer to the outputs of the steps it depends on."

// checkRunStep checks the NAME.ATTR part of run.steps.NAME.ATTR.
func (l *loader) checkRunStep(rest hcl.Traversal, rng hcl.Range) {
	name, ok := attrName(rest[0])
	if !ok {
		return // an index expression: checked at evaluation
	}
	if l.cfg.stepIndex[name] == nil {
		l.errorf(rng, "Reference to undeclared step", "No step named %q is declared.%s", name, suggest(name, stepNames(l.cfg), "run.steps."))
		return
	}
	if len(rest) < 2 {
		return
	}
	if attr, ok := attrName(rest[1]); ok && !contains(runStepAttrs, attr) {
		l.errorf(rng, "Unsupported attribute", "run.steps.%s has no attribute %q.%s Available: status, error, duration. "+
			"The step's outputs are step.%s.%s.", name, attr, suggest(attr, runStepAttrs, ""), name, attr)
	}
}

func attrName(t hcl.Traverser) (string, bool) {
	switch s := t.(type) {
	case hcl.TraverseAttr:
		return s.Name, true
	case hcl.TraverseIndex:
		if k := s.Key; !k.IsNull() && k.IsKnown() && k.Type() == cty.String {
			return k.AsString(), true
		}
	}
	return "", false
}

func stepNames(c *Config) []string {
	names := make([]string, 0, len(c.steps))
	for _, s := range c.steps {
		names = append(names, s.Name)
	}
	return names
}
