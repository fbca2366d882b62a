package engine

import (
	"slices"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk"
)

// target is what a step instance changes, as far as pipectl can tell from
// outside the action: the step, and the release and namespace it names.
type target struct {
	step               string
	release, namespace string
}

// targetOf reads the release and namespace of an instance's config
// (JSON-shaped, as plans and events hold it); unknown or sensitive values
// name nothing.
func targetOf(step string, config any) target {
	m, _ := config.(map[string]any)
	str := func(k string) string {
		s, _ := m[k].(string)
		if s == Unknown || s == Redacted {
			return ""
		}
		return s
	}
	return target{step: step, release: str("release"), namespace: str("namespace")}
}

// restores reports whether handler h, applied with config ht, changes the
// same target as the main step instance that changed c: it refers to that
// step, or names the same release (in the same namespace, when both name
// one), or — for a step with no release — the same namespace.
func restores(h *dsl.Step, ht target, c target) bool {
	if slices.ContainsFunc(h.References(), func(r dsl.Ref) bool { return r.Kind == "step" && r.Name == c.step }) {
		return true
	}
	if c.release != "" {
		return ht.release == c.release && (ht.namespace == "" || c.namespace == "" || ht.namespace == c.namespace)
	}
	return c.namespace != "" && ht.namespace == c.namespace
}

// changes reports whether an instance planned as kind changes the target:
// "change", or not planned at all (a for_each decided at apply), which
// counts as a change rather than claim nothing was deployed.
func changes(kind string) bool { return kind == sdk.PlanChange.String() || kind == "" }

// markRestores notes, on every failure handler of the plan, the main steps
// it would restore if the run failed after changing them.
func markRestores(plan *Plan, cfg *dsl.Config) {
	var changing []target
	for _, s := range plan.Steps {
		if s.Phase != PhaseMain || s.LeftOut != "" || s.Run == DecisionSkip {
			continue
		}
		for _, in := range s.Instances {
			if !in.Skipped && in.Kind == sdk.PlanChange.String() {
				changing = append(changing, targetOf(s.Name, in.Config))
			}
		}
	}
	for _, h := range plan.Steps {
		hs := cfg.Step(h.Name)
		if !h.Phase.FailureHandler() || hs == nil {
			continue
		}
		for _, in := range h.Instances {
			if in.Skipped || in.Kind != sdk.PlanChange.String() {
				continue
			}
			for _, c := range changing {
				if restores(hs, targetOf(h.Name, in.Config), c) && !slices.Contains(h.Restores, c.step) {
					h.Restores = append(h.Restores, c.step)
				}
			}
		}
	}
}

// outcomes is what a run learns, as it goes, about what it changed and
// what restored it.
type outcomes struct {
	changed   []target
	restorers []restorer
}

type restorer struct {
	step *dsl.Step
	target
}

// applied notes an instance the run applied (its action was called), with
// the config it was applied with and what its plan said it would do; it
// counts once the instance ended with status st.
func (o *outcomes) applied(s *dsl.Step, phase Phase, kind string, config cty.Value, st Status) {
	t := targetOf(s.Name, dsl.JSONValue(config))
	switch {
	case phase == PhaseMain && changes(kind):
		o.changed = append(o.changed, t)
	case phase.FailureHandler() && kind == sdk.PlanChange.String() && st == StatusSucceeded:
		o.restorers = append(o.restorers, restorer{step: s, target: t})
	}
}

// outcome is what the run left its target as.
func (o *outcomes) outcome() Outcome {
	if len(o.changed) == 0 {
		return OutcomeUnchanged
	}
	for _, c := range o.changed {
		if !slices.ContainsFunc(o.restorers, func(r restorer) bool { return restores(r.step, r.target, c) }) {
			return OutcomeChanged
		}
	}
	return OutcomeRestored
}
