package dsl

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// StepMeta is a step's evaluated meta-arguments.
type StepMeta struct {
	// When is the condition: cty.True when absent, unknown when it depends on
	// outputs not known yet (at plan time). Use Runs.
	When cty.Value
	// ForEach maps each instance key to its each.value; nil when the step has
	// no for_each, or when ForEachUnknown.
	ForEach map[string]cty.Value
	// ForEachUnknown is true when for_each depends on values not known yet,
	// so the instances are decided at apply.
	ForEachUnknown bool
	// Timeout bounds one attempt of the action; 0 means no timeout.
	Timeout time.Duration
	// RetryAttempts is the total number of attempts, at least 1.
	RetryAttempts int
	// RetryBackoff is the wait between two attempts.
	RetryBackoff time.Duration
	// ContinueOnError lets the pipeline go on when the step fails.
	ContinueOnError bool
}

// Runs reports whether the step runs: known is false while the condition
// is unknown (plan time).
func (m *StepMeta) Runs() (run, known bool) {
	if !m.When.IsKnown() {
		return false, false
	}
	return m.When.True(), true
}

// InstanceKeys returns the for_each keys in order; nil without for_each.
func (m *StepMeta) InstanceKeys() []string {
	if m.ForEach == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(m.ForEach))
}

// EvalMeta evaluates a step's meta-arguments in ctx, normally
// Scope.StepEvalContext. when and for_each may be unknown (plan time);
// timeout, retry and continue_on_error must be known, since they decide how
// the step is run. Only when may use each.*: evaluated without an instance,
// such a condition is unknown; evaluate again with the instance's context
// to know whether that instance runs.
func (s *Step) EvalMeta(ctx *hcl.EvalContext) (*StepMeta, hcl.Diagnostics) {
	m := &StepMeta{When: cty.True, RetryAttempts: 1}
	var diags hcl.Diagnostics
	if s.When != nil {
		m.When, diags = EvalCondition(s.When, ctx)
	}
	if s.ForEach != nil {
		var d hcl.Diagnostics
		m.ForEach, m.ForEachUnknown, d = evalForEach(s.ForEach, ctx)
		diags = append(diags, d...)
	}
	if s.Timeout != nil {
		var d hcl.Diagnostics
		m.Timeout, d = evalDuration(s.Timeout, ctx, "timeout")
		diags = append(diags, d...)
	}
	if s.Retry != nil {
		var d hcl.Diagnostics
		if s.Retry.Attempts != nil { // missing: reported by Load
			m.RetryAttempts, d = evalAttempts(s.Retry.Attempts, ctx)
			diags = append(diags, d...)
		}
		if s.Retry.Backoff != nil {
			m.RetryBackoff, d = evalDuration(s.Retry.Backoff, ctx, "backoff")
			diags = append(diags, d...)
		}
	}
	if s.ContinueOnError != nil {
		val, d := evalKnown(s.ContinueOnError, ctx, cty.Bool, "continue_on_error", "true or false")
		diags = append(diags, d...)
		m.ContinueOnError = !d.HasErrors() && val.True()
	}
	sortDiagnostics(diags)
	return m, diags
}

// EvalCondition evaluates a `when` condition: a bool, unknown allowed, false
// after errors.
func EvalCondition(expr hcl.Expression, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.False, diags
	}
	val, _ = val.UnmarkDeep()
	val, err := convert.Convert(val, cty.Bool)
	if err != nil || val.IsNull() {
		return cty.False, metaError(expr, "Invalid when condition", "The when condition must be true or false%s.", because(err))
	}
	return val, nil
}

// EvalWhen evaluates the stage's condition; cty.True when it has none.
func (st *Stage) EvalWhen(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	if st.When == nil {
		return cty.True, nil
	}
	return EvalCondition(st.When, ctx)
}

func evalForEach(expr hcl.Expression, ctx *hcl.EvalContext) (map[string]cty.Value, bool, hcl.Diagnostics) {
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return nil, false, diags
	}
	const summary = "Invalid for_each argument"
	if val.IsMarked() {
		return nil, false, metaError(expr, summary,
			"for_each cannot be sensitive: its keys name the step's instances in plans and logs. Use nonsensitive() on the keys if they are not secret.")
	}
	ty := val.Type()
	switch {
	case val.IsNull():
		return nil, false, metaError(expr, summary, "for_each must be a map, an object or a set of strings, not null.")
	case !val.IsKnown():
		return nil, true, nil
	case ty.IsMapType() || ty.IsObjectType():
		instances := map[string]cty.Value{}
		for it := val.ElementIterator(); it.Next(); {
			k, v := it.Element()
			instances[k.AsString()] = v
		}
		return instances, false, nil
	case ty.IsSetType() && (ty.ElementType() == cty.String || ty.ElementType() == cty.DynamicPseudoType):
		if !val.IsWhollyKnown() {
			return nil, true, nil
		}
		instances := map[string]cty.Value{}
		for it := val.ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.IsNull() || v.Type() != cty.String {
				return nil, false, metaError(expr, summary, "for_each set elements must be strings.")
			}
			instances[v.AsString()] = v
		}
		return instances, false, nil
	case ty.IsListType() || ty.IsTupleType():
		return nil, false, metaError(expr, summary,
			"for_each must be a map, an object or a set of strings, not a list. Convert a list of strings with toset(...).")
	case ty.IsSetType():
		return nil, false, metaError(expr, summary, "for_each must be a map, an object or a set of strings, not a %s.", ty.FriendlyName())
	}
	return nil, false, metaError(expr, summary, "for_each must be a map, an object or a set of strings, not a %s.", ty.FriendlyName())
}

func evalDuration(expr hcl.Expression, ctx *hcl.EvalContext, what string) (time.Duration, hcl.Diagnostics) {
	val, diags := evalKnown(expr, ctx, cty.String, what, `a duration like "90s" or "10m"`)
	if diags.HasErrors() {
		return 0, diags
	}
	d, err := time.ParseDuration(val.AsString())
	if err != nil || d <= 0 {
		return 0, metaError(expr, "Invalid "+what,
			`%q is not a positive duration. Write a number and a unit (ms, s, m, h), like "90s" or "1h30m".`, val.AsString())
	}
	return d, nil
}

func evalAttempts(expr hcl.Expression, ctx *hcl.EvalContext) (int, hcl.Diagnostics) {
	val, diags := evalKnown(expr, ctx, cty.Number, "attempts", "a whole number")
	if diags.HasErrors() {
		return 1, diags
	}
	n, acc := val.AsBigFloat().Int64()
	if acc != big.Exact || n < 1 || n > 100 {
		return 1, metaError(expr, "Invalid attempts",
			"attempts is the total number of tries, a whole number from 1 to 100, not %s.", val.AsBigFloat().Text('g', -1))
	}
	return int(n), nil
}

// evalKnown evaluates a meta-argument that must be known before the step
// runs, converted to ty.
func evalKnown(expr hcl.Expression, ctx *hcl.EvalContext, ty cty.Type, what, want string) (cty.Value, hcl.Diagnostics) {
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NullVal(ty), diags
	}
	val, _ = val.UnmarkDeep()
	val, err := convert.Convert(val, ty)
	switch {
	case err != nil || val.IsNull():
		return cty.NullVal(ty), metaError(expr, "Invalid "+what, "%s must be %s%s.", what, want, because(err))
	case !val.IsWhollyKnown():
		return cty.NullVal(ty), metaError(expr, "Invalid "+what,
			"%s must be known before the step runs, so it cannot depend on other steps' outputs.", what)
	}
	return val, nil
}

func metaError(expr hcl.Expression, summary, format string, args ...any) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  expr.Range().Ptr(),
	}}
}

func because(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}
