package dsl

import (
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

const stepsPipeline = `
pipeline "p" {}
variable "regions" { default = ["eu", "us"] }
stage "build" {
  step "image" {
    action = std.exec
  }
}
stage "deploy" {
  depends_on = [stage.build]
  step "release" {
    action   = helm.upgrade
    image    = "app@${step.image.digest}"
    for_each = { eu = "eu-west-1", us = "us-east-1" }
    region   = each.value
    name     = "app-${each.key}"
  }
  step "check" {
    action   = std.http_check
    for_each = toset(var.regions)
    url      = step.release[each.key].url
    when     = step.image.digest != ""
    timeout  = "90s"
    retry {
      attempts = 3
      backoff  = "2s"
    }
    continue_on_error = true
    depends_on        = [step.image]
  }
  step "fanout" {
    action   = std.exec
    for_each = step.image.targets
  }
}
output "urls" {
  value     = { for k, r in step.release : k => r.url }
  sensitive = true
}
`

var anyAttrs = &BlockSchema{Attributes: map[string]*AttributeSchema{
	"image": {Type: cty.String}, "region": {Type: cty.String}, "name": {Type: cty.String}, "url": {Type: cty.String},
}}

// At plan time step outputs are unknown: configurations decode with unknown
// values instead of failing, and when/for_each may be unknown too.
func TestUnknownStepOutputsAtPlan(t *testing.T) {
	cfg := mustLoad(t, stepsPipeline)
	scope, diags := cfg.Bind(Inputs{Getenv: noEnv})
	requireNoDiags(t, cfg, diags)

	release := cfg.Step("release")
	meta, diags := release.EvalMeta(scope.StepEvalContext(release, nil, nil))
	requireNoDiags(t, cfg, diags)
	if got := strings.Join(meta.InstanceKeys(), ","); got != "eu,us" {
		t.Fatalf("release instances = %s", got)
	}
	each := &Each{Key: cty.StringVal("us"), Value: meta.ForEach["us"]}
	val, diags := DecodeBody(release.Config, anyAttrs, scope.StepEvalContext(release, nil, each))
	requireNoDiags(t, cfg, diags)
	if val.GetAttr("image").IsKnown() {
		t.Errorf("image should be unknown at plan, got %#v", val.GetAttr("image"))
	}
	if got := val.GetAttr("region").AsString() + " " + val.GetAttr("name").AsString(); got != "us-east-1 app-us" {
		t.Errorf("region, name = %s", got)
	}

	check := cfg.Step("check")
	meta, diags = check.EvalMeta(scope.StepEvalContext(check, nil, nil))
	requireNoDiags(t, cfg, diags)
	if run, known := meta.Runs(); known || run {
		t.Errorf("when should be unknown at plan: run=%v known=%v", run, known)
	}
	fanout := cfg.Step("fanout")
	meta, diags = fanout.EvalMeta(scope.StepEvalContext(fanout, nil, nil))
	requireNoDiags(t, cfg, diags)
	if !meta.ForEachUnknown || meta.ForEach != nil {
		t.Errorf("for_each on unknown outputs: %+v", meta)
	}
}

// After apply, step values are known: for_each steps are maps of instances.
func TestKnownStepOutputs(t *testing.T) {
	cfg := mustLoad(t, stepsPipeline)
	scope, diags := cfg.Bind(Inputs{Getenv: noEnv})
	requireNoDiags(t, cfg, diags)
	steps := map[string]cty.Value{
		"image": cty.ObjectVal(map[string]cty.Value{"digest": cty.StringVal("sha256:abc"), "targets": cty.MapValEmpty(cty.String)}),
		"release": cty.MapVal(map[string]cty.Value{
			"eu": cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("https://eu")}),
			"us": cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("https://us")}),
		}),
	}
	check := cfg.Step("check")
	meta, diags := check.EvalMeta(scope.StepEvalContext(check, steps, nil))
	requireNoDiags(t, cfg, diags)
	if run, known := meta.Runs(); !run || !known {
		t.Errorf("when: run=%v known=%v", run, known)
	}
	want := StepMeta{Timeout: 90 * time.Second, RetryAttempts: 3, RetryBackoff: 2 * time.Second, ContinueOnError: true}
	if meta.Timeout != want.Timeout || meta.RetryAttempts != want.RetryAttempts || meta.RetryBackoff != want.RetryBackoff || !meta.ContinueOnError {
		t.Errorf("meta = %+v", meta)
	}
	if got := strings.Join(meta.InstanceKeys(), ","); got != "eu,us" {
		t.Errorf("check instances = %s", got)
	}
	each := &Each{Key: cty.StringVal("eu"), Value: meta.ForEach["eu"]}
	val, diags := DecodeBody(check.Config, anyAttrs, scope.StepEvalContext(check, steps, each))
	requireNoDiags(t, cfg, diags)
	if got := val.GetAttr("url").AsString(); got != "https://eu" {
		t.Errorf("url = %q", got)
	}

	outputs, diags := scope.Outputs(steps)
	requireNoDiags(t, cfg, diags)
	urls := outputs["urls"]
	if !urls.HasMark(SensitiveMark) {
		t.Errorf("sensitive output not marked: %#v", urls)
	}
	if got, _ := urls.Unmark(); got.GetAttr("us").AsString() != "https://us" {
		t.Errorf("urls = %#v", got)
	}
}

// EvalContext (all steps) and StepEvalContext (referenced steps) agree.
func TestEvalContextSeesEveryStep(t *testing.T) {
	cfg := mustLoad(t, stepsPipeline)
	scope, _ := cfg.Bind(Inputs{Getenv: noEnv})
	ctx := scope.EvalContext(map[string]cty.Value{"image": cty.ObjectVal(map[string]cty.Value{"digest": cty.StringVal("d")})}, nil)
	step := ctx.Variables["step"]
	if got := step.GetAttr("image").GetAttr("digest").AsString(); got != "d" {
		t.Errorf("step.image.digest = %q", got)
	}
	if step.GetAttr("fanout").IsKnown() {
		t.Error("a step without a value should be unknown")
	}
}

// References covers every expression of the step — configuration, when,
// for_each, retry — but not depends_on, each step once.
func TestStepReferences(t *testing.T) {
	cfg := mustLoad(t, `
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
  step "b" {
    action = std.exec
  }
  step "c" {
    action = std.exec
  }
  step "d" {
    action = std.exec
  }
  step "e" {
    action = std.exec
  }
  step "use" {
    action     = std.exec
    when       = step.a.ok
    for_each   = step.b.items
    depends_on = [step.e]
    args       = [step.a.x, "${step.c.y}"]
    retry {
      attempts = 2
    }
    nested {
      deeper {
        value = step.d["k"].z
      }
    }
  }
}
`)
	if got := refsString(cfg.Step("use").References()); got != "step.a step.b step.c step.d" {
		t.Errorf("References = %s", got)
	}
	r := cfg.Step("use").References()[3]
	if r.Range.Start.Line != 30 || r.Range.Start.Column != 17 {
		t.Errorf("step.d referenced at %v, want line 30 column 17", r.Range)
	}
}

func TestStageWhen(t *testing.T) {
	cfg := mustLoad(t, `
pipeline "p" {}
environment "dev" { approval = false }
stage "s" {
  when = !env.approval
  step "a" {
    action = std.exec
  }
}
stage "t" {
  step "b" {
    action = std.exec
  }
}
`)
	scope, diags := cfg.Bind(Inputs{Environment: "dev", Getenv: noEnv})
	requireNoDiags(t, cfg, diags)
	ctx := scope.EvalContext(nil, nil)
	for _, st := range cfg.Stages {
		when, diags := st.EvalWhen(ctx)
		requireNoDiags(t, cfg, diags)
		if !when.True() {
			t.Errorf("stage %s when = %#v", st.Name, when)
		}
	}
}

// when may use each.*: unknown for the step as a whole, known per instance.
func TestWhenPerInstance(t *testing.T) {
	cfg := mustLoad(t, `pipeline "p" {}
stage "s" {
  step "a" {
    action   = std.exec
    for_each = { eu = true, us = false }
    when     = each.value
  }
}
`)
	scope, _ := cfg.Bind(Inputs{Getenv: noEnv})
	st := cfg.Step("a")
	meta, diags := st.EvalMeta(scope.StepEvalContext(st, nil, nil))
	requireNoDiags(t, cfg, diags)
	if _, known := meta.Runs(); known {
		t.Error("when without an instance should be unknown")
	}
	for key, want := range map[string]bool{"eu": true, "us": false} {
		m, diags := st.EvalMeta(scope.StepEvalContext(st, nil, &Each{Key: cty.StringVal(key), Value: meta.ForEach[key]}))
		requireNoDiags(t, cfg, diags)
		if run, known := m.Runs(); !known || run != want {
			t.Errorf("instance %s: run=%v known=%v", key, run, known)
		}
	}
}
