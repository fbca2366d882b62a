package engine

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

// What counts as restoring a change: the handler refers to the step, or
// names the same release (in the same namespace when both name one), or,
// for a step without a release, the same namespace. A handler that does
// not change anything, or did not succeed, restores nothing.
func TestOutcome(t *testing.T) {
	cfg, diags := dsl.LoadSource("p.hcl", []byte(`
pipeline "p" {}
stage "s" {
  step "deploy" {
    action = x.upgrade
  }
  on_failure {
    step "undo" {
      action = x.rollback
      of     = step.deploy.name
    }
    step "other" {
      action = x.rollback
    }
  }
}`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	obj := func(release, ns string) cty.Value {
		m := map[string]cty.Value{}
		if release != "" {
			m["release"] = cty.StringVal(release)
		}
		if ns != "" {
			m["namespace"] = cty.StringVal(ns)
		}
		return cty.ObjectVal(m)
	}
	deploy, undo, other := cfg.Step("deploy"), cfg.Step("undo"), cfg.Step("other")
	cases := []struct {
		name string
		run  func(o *outcomes)
		want Outcome
	}{
		{"nothing applied", func(o *outcomes) {}, OutcomeUnchanged},
		{"only a check ran", func(o *outcomes) { o.applied(deploy, PhaseMain, "run", obj("web", "a"), StatusFailed) }, OutcomeUnchanged},
		{"a change, no handler", func(o *outcomes) { o.applied(deploy, PhaseMain, "change", obj("web", "a"), StatusFailed) }, OutcomeChanged},
		{"not planned counts as a change", func(o *outcomes) { o.applied(deploy, PhaseMain, "", obj("web", "a"), StatusSucceeded) }, OutcomeChanged},
		{"restored by a handler referring to it", func(o *outcomes) {
			o.applied(deploy, PhaseMain, "change", obj("web", "a"), StatusFailed)
			o.applied(undo, PhaseStageOnFailure, "change", obj("", ""), StatusSucceeded)
		}, OutcomeRestored},
		{"restored by the same release", func(o *outcomes) {
			o.applied(deploy, PhaseMain, "change", obj("web", "a"), StatusFailed)
			o.applied(other, PhaseOnFailure, "change", obj("web", ""), StatusSucceeded)
		}, OutcomeRestored},
		{"the same release in another namespace", func(o *outcomes) {
			o.applied(deploy, PhaseMain, "change", obj("web", "a"), StatusFailed)
			o.applied(other, PhaseOnFailure, "change", obj("web", "b"), StatusSucceeded)
		}, OutcomeChanged},
		{"the same namespace, no release", func(o *outcomes) {
			o.applied(deploy, PhaseMain, "change", obj("", "a"), StatusFailed)
			o.applied(other, PhaseOnFailure, "change", obj("", "a"), StatusSucceeded)
		}, OutcomeRestored},
		{"a handler that only runs (a notification)", func(o *outcomes) {
			o.applied(deploy, PhaseMain, "change", obj("web", "a"), StatusFailed)
			o.applied(undo, PhaseStageOnFailure, "run", obj("web", "a"), StatusSucceeded)
		}, OutcomeChanged},
		{"a handler that failed", func(o *outcomes) {
			o.applied(deploy, PhaseMain, "change", obj("web", "a"), StatusFailed)
			o.applied(undo, PhaseStageOnFailure, "change", obj("web", "a"), StatusFailed)
		}, OutcomeChanged},
		{"a finally step is no failure handler", func(o *outcomes) {
			o.applied(deploy, PhaseMain, "change", obj("web", "a"), StatusFailed)
			o.applied(other, PhaseFinally, "change", obj("web", "a"), StatusSucceeded)
		}, OutcomeChanged},
		{"one of two changes restored", func(o *outcomes) {
			o.applied(deploy, PhaseMain, "change", obj("web", "a"), StatusSucceeded)
			o.applied(deploy, PhaseMain, "change", obj("api", "a"), StatusFailed)
			o.applied(other, PhaseOnFailure, "change", obj("api", "a"), StatusSucceeded)
		}, OutcomeChanged},
	}
	for _, c := range cases {
		var o outcomes
		c.run(&o)
		if got := o.outcome(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
