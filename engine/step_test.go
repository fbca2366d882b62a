package engine

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk"
)

// These test the resolver's logic with a schema as a plugin publishes it;
// plan and apply exercise it end to end against the real std plugin
// (engine_test.go, cmd/pipectl).

var noopSchema = &sdk.Schema{Name: "std", Version: "test", Actions: map[string]*sdk.ActionSchema{
	"noop": {Block: sdk.Block{Attributes: map[string]*sdk.Attribute{"inputs": {Type: cty.DynamicPseudoType}}}},
}}

func resolverFor(t *testing.T, src string) (*stepResolver, *Pipeline) {
	t.Helper()
	cfg, diags := dsl.LoadSource("pipeline.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	p := &Pipeline{Config: cfg}
	p.Scope, diags = cfg.Bind(dsl.Inputs{})
	if diags.HasErrors() {
		t.Fatalf("bind: %s", diags.Error())
	}
	return newStepResolver(p), p
}

const decisions = `
pipeline "p" {}
stage "first" {
  step "check" {
    action = std.noop
  }
}
stage "gated" {
  when = step.check.inputs == "go"
  step "inside" {
    action = std.noop
  }
}
stage "open" {
  step "own" {
    action = std.noop
    when   = step.check.inputs == "go"
  }
  step "each" {
    action   = std.noop
    for_each = toset(["a", "b"])
    when     = each.key == "a"
    inputs   = each.key
  }
  step "later" {
    action   = std.noop
    for_each = toset(step.check.inputs)
    when     = each.key == step.check.inputs
  }
}`

// The same step resolves to the same decision whoever asks: unknown while
// the value it reads is (plan), decided once it is known (apply).
func TestResolverDecidesOnceForPlanAndApply(t *testing.T) {
	r, p := resolverFor(t, decisions)
	planned := map[string]cty.Value{"check": cty.DynamicVal}
	goes := map[string]cty.Value{"check": cty.ObjectVal(map[string]cty.Value{"inputs": cty.StringVal("go")})}
	stops := map[string]cty.Value{"check": cty.ObjectVal(map[string]cty.Value{"inputs": cty.StringVal("stop")})}
	for _, c := range []struct {
		step   string
		values map[string]cty.Value
		want   Decision
		reason Reason
	}{
		{"check", nil, DecisionRun, ""},
		{"inside", planned, DecisionUnknown, ReasonUnknownUntilApply},
		{"inside", goes, DecisionRun, ""},
		{"inside", stops, DecisionSkip, ReasonStageWhenFalse},
		{"own", planned, DecisionUnknown, ReasonUnknownUntilApply},
		{"own", goes, DecisionRun, ""},
		{"own", stops, DecisionSkip, ReasonWhenFalse},
		{"each", nil, DecisionRun, ""}, // decided per instance
		{"later", planned, DecisionUnknown, ReasonUnknownUntilApply},
	} {
		rs := r.resolve(p.Config.Step(c.step), noopSchema, c.values, cty.NilVal, cty.NilVal)
		if rs.Diagnostics.HasErrors() {
			t.Errorf("%s: %s", c.step, rs.Diagnostics.Error())
		}
		if rs.Decision != c.want || rs.Reason != c.reason {
			t.Errorf("%s with %v: %s (%q), want %s (%q)", c.step, c.values, rs.Decision, rs.Reason, c.want, c.reason)
		}
	}
}

func TestResolverInstances(t *testing.T) {
	r, p := resolverFor(t, decisions)
	rs := r.resolve(p.Config.Step("each"), noopSchema, nil, cty.NilVal, cty.NilVal)
	var got []string
	for _, in := range rs.Instances {
		config, diags := rs.Decode(in)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		got = append(got, in.Key+"="+config.GetAttr("inputs").AsString()+map[bool]string{true: " skipped"}[in.Skipped])
	}
	if strings.Join(got, ",") != "a=a,b=b skipped" {
		t.Errorf("instances: %v", got)
	}
	rs = r.resolve(p.Config.Step("later"), noopSchema, map[string]cty.Value{"check": cty.DynamicVal}, cty.NilVal, cty.NilVal)
	if len(rs.Instances) != 1 || rs.Instances[0].Key != "*" || !rs.Meta.ForEachUnknown {
		t.Errorf("for_each unknown: want one placeholder instance, got %+v", rs.Instances)
	}
	if v := rs.Value(nil); v.IsKnown() {
		t.Errorf("an undecided step's value is %#v, want unknown", v)
	}
	if v := r.resolve(p.Config.Step("own"), noopSchema, map[string]cty.Value{
		"check": cty.ObjectVal(map[string]cty.Value{"inputs": cty.StringVal("stop")}),
	}, cty.NilVal, cty.NilVal).Value(nil); !v.IsNull() {
		t.Errorf("a skipped step's value is %#v, want null", v)
	}
}

func TestResolverConvertsAnActionSchemaOnce(t *testing.T) {
	r, p := resolverFor(t, decisions)
	a := r.resolve(p.Config.Step("check"), noopSchema, nil, cty.NilVal, cty.NilVal)
	b := r.resolve(p.Config.Step("own"), noopSchema, nil, cty.NilVal, cty.NilVal)
	if a.Schema == nil || a.Schema != b.Schema {
		t.Errorf("two steps of std.noop got schemas %p and %p, want the same one", a.Schema, b.Schema)
	}
}

func TestResolverUnknownActionIsADiagnostic(t *testing.T) {
	r, p := resolverFor(t, `
pipeline "p" {}
stage "s" {
  step "x" {
    action = std.nope
  }
}`)
	rs := r.resolve(p.Config.Step("x"), noopSchema, nil, cty.NilVal, cty.NilVal)
	if rs.Action != nil || !strings.Contains(rs.Diagnostics.Error(), `has no action "nope"`) {
		t.Errorf("unknown action: %v", rs.Diagnostics)
	}
}

// A misspelled meta-argument left in the action's body says which one was
// meant, at validate, plan and apply alike (all decode through Decode).
func TestResolverDecodeHintsAtMetaArguments(t *testing.T) {
	r, p := resolverFor(t, `
pipeline "p" {}
stage "s" {
  step "x" {
    action    = std.noop
    depend_on = []
  }
}`)
	rs := r.resolve(p.Config.Step("x"), noopSchema, nil, cty.NilVal, cty.NilVal)
	_, diags := rs.Decode(rs.Instances[0])
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "Did you mean the meta-argument \"depends_on\"?") {
		t.Errorf("depend_on: %v", diags)
	}
}
