package engine

import (
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk"
)

// ResolvedStep is a step resolved against the values known at one moment
// (none at validate, planned ones at plan, real ones at apply): its
// action's schema, its meta-arguments, whether it runs and why, and its
// instances, each with the context its configuration decodes in.
type ResolvedStep struct {
	Step     *dsl.Step
	Action   *sdk.ActionSchema
	Schema   *dsl.BlockSchema // the action's config schema in the language's terms
	Meta     *dsl.StepMeta    // nil when the action is unknown
	Decision Decision
	Reason   Reason // why it does not run ("" when it does)
	// Instances: one unnamed instance, one per for_each key, or one
	// placeholder "*" with each.* unknown while for_each is not known.
	Instances []*ResolvedInstance
	// Diagnostics: an unknown action, meta-arguments or a when condition
	// that cannot be evaluated. Errors mean the step cannot run.
	Diagnostics hcl.Diagnostics
}

// ResolvedInstance is one instance of a resolved step.
type ResolvedInstance struct {
	Key         string
	Skipped     bool            // its when, which reads each.*, is false
	Problem     hcl.Diagnostics // its when could not be evaluated
	EvalContext *hcl.EvalContext
}

// Decode decodes an instance's configuration against the action's schema.
// A name the schema does not know that looks like a misspelled
// meta-argument says so ("did you mean the meta-argument depends_on?").
func (r *ResolvedStep) Decode(in *ResolvedInstance) (cty.Value, hcl.Diagnostics) {
	return r.Step.DecodeConfig(r.Schema, in.EvalContext)
}

// Value is what step.NAME evaluates to, given its instances' outputs: the
// outputs object, or for a for_each step an object of key to outputs.
func (r *ResolvedStep) Value(outputs map[string]cty.Value) cty.Value {
	switch r.Decision {
	case DecisionSkip, DecisionNotRun:
		return cty.NullVal(cty.DynamicPseudoType)
	case DecisionUnknown:
		return cty.DynamicVal
	}
	return stepValue(r.Meta, outputs)
}

// stepResolver resolves steps for one validate, plan or apply. It converts
// each action's schema to the language's once, not on every decode.
type stepResolver struct {
	pipeline *Pipeline
	mu       sync.Mutex
	schemas  map[string]*dsl.BlockSchema // by "plugin.action"
}

func newStepResolver(p *Pipeline) *stepResolver {
	return &stepResolver{pipeline: p, schemas: map[string]*dsl.BlockSchema{}}
}

// resolve decides about step s with its plugin's schema and the values
// of the steps known so far (unknown where missing). run is what run.*
// evaluates to while a run goes on (cty.NilVal at validate and plan,
// where the scope leaves it unknown); gate is gate.* in an on_waiting step
// (cty.NilVal: unknown).
func (r *stepResolver) resolve(s *dsl.Step, schema *sdk.Schema, values map[string]cty.Value, run, gate cty.Value) *ResolvedStep {
	rs := &ResolvedStep{Step: s, Decision: DecisionRun}
	as, diags := actionSchema(s, schema)
	if diags.HasErrors() {
		rs.Diagnostics = diags
		return rs
	}
	rs.Action, rs.Schema = as, r.blockSchema(s, as)
	scope := r.pipeline.Scope
	evalContext := func(each *dsl.Each) *hcl.EvalContext {
		ctx := scope.StepEvalContext(s, values, each)
		if run != cty.NilVal {
			ctx = dsl.WithRun(ctx, run)
		}
		if gate != cty.NilVal {
			ctx = dsl.WithGate(ctx, gate)
		}
		return ctx
	}
	stageWhen, d := r.stageCondition(s, values)
	rs.Diagnostics = append(rs.Diagnostics, d...)
	metaContext := evalContext(nil)
	rs.Meta, d = s.EvalMeta(metaContext)
	rs.Diagnostics = append(rs.Diagnostics, d...)
	rs.Decision, rs.Reason = decide(s, rs.Meta, stageWhen)
	keys, eachOf := instanceKeys(rs.Meta)
	for _, key := range keys {
		ctx := metaContext // a step without for_each: its one instance sees what its meta-arguments saw
		if each := eachOf(key); each != nil {
			ctx = evalContext(each)
		}
		in := &ResolvedInstance{Key: key, EvalContext: ctx}
		in.Skipped, in.Problem = instanceSkipped(s, in.EvalContext)
		rs.Instances = append(rs.Instances, in)
	}
	return rs
}

// stageCondition is the step's stage's when (true when it has none, and
// for failure handlers and finally steps, which their stage's when does
// not govern).
func (r *stepResolver) stageCondition(s *dsl.Step, values map[string]cty.Value) (cty.Value, hcl.Diagnostics) {
	st := r.pipeline.Config.Stage(s.Stage)
	if st == nil || st.When == nil || s.Kind != dsl.Main {
		return cty.True, nil
	}
	return st.EvalWhen(r.pipeline.Scope.EvalContext(values, nil))
}

// decide combines the stage's when and the step's own. A step-level when
// that reads each.* is decided per instance; with for_each unknown too,
// the whole step is unknown until apply.
func decide(s *dsl.Step, meta *dsl.StepMeta, stageWhen cty.Value) (Decision, Reason) {
	runs, known := meta.Runs()
	if !known && s.ForEach != nil && meta.ForEach != nil {
		runs, known = true, true // when reads each.*: decided per instance
	}
	switch {
	case stageWhen.IsKnown() && !stageWhen.IsNull() && stageWhen.False():
		return DecisionSkip, ReasonStageWhenFalse
	case !stageWhen.IsKnown() && (runs || !known):
		return DecisionUnknown, ReasonUnknownUntilApply
	case !known:
		return DecisionUnknown, ReasonUnknownUntilApply
	case !runs:
		return DecisionSkip, ReasonWhenFalse
	}
	return DecisionRun, ""
}

// blockSchema is the action's config schema converted once.
func (r *stepResolver) blockSchema(s *dsl.Step, as *sdk.ActionSchema) *dsl.BlockSchema {
	key := s.PluginConfigKey() + "." + s.Action.Name
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.schemas[key]; ok {
		return b
	}
	b := blockSchema(&as.Block).Ready() // every step of the action decodes against it
	r.schemas[key] = b
	return b
}

// instanceKeys lists the instances a step has: one unnamed instance, one
// per for_each key, or (for_each unknown) one placeholder whose each.* is
// unknown, so its config is still checked.
func instanceKeys(meta *dsl.StepMeta) ([]string, func(string) *dsl.Each) {
	switch {
	case meta.ForEachUnknown:
		return []string{"*"}, func(string) *dsl.Each { return &dsl.Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal} }
	case meta.ForEach != nil:
		return meta.InstanceKeys(), func(k string) *dsl.Each { return &dsl.Each{Key: cty.StringVal(k), Value: meta.ForEach[k]} }
	}
	return []string{""}, func(string) *dsl.Each { return nil }
}

// instanceSkipped evaluates, for one for_each instance, a when condition
// that reads each.*: a step-level when cannot decide for every instance.
func instanceSkipped(s *dsl.Step, ectx *hcl.EvalContext) (bool, hcl.Diagnostics) {
	if s.When == nil || s.ForEach == nil {
		return false, nil
	}
	when, diags := dsl.EvalCondition(s.When, ectx)
	switch {
	case diags.HasErrors():
		return false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid when condition", Detail: diags.Error(), Subject: s.When.Range().Ptr()}}
	case !when.IsKnown():
		return false, nil
	}
	return when.False(), nil
}

// stepValue is what step.NAME evaluates to: the outputs object, or for a
// for_each step an object of instance key to outputs.
func stepValue(meta *dsl.StepMeta, outputs map[string]cty.Value) cty.Value {
	switch {
	case meta.ForEachUnknown:
		return cty.DynamicVal
	case meta.ForEach != nil:
		return cty.ObjectVal(outputs)
	}
	if v, ok := outputs[""]; ok && v != cty.NilVal {
		return v
	}
	return cty.DynamicVal
}

// instanceID names an instance: step, or step["key"].
func instanceID(step, key string) string {
	if key == "" {
		return step // most steps: no address to build
	}
	return StepAddr(step).Instance(key).Name()
}
