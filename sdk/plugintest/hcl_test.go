package plugintest_test

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

func TestHCLConfigsAreDecodedAsPipectlDecodesThem(t *testing.T) {
	p := plugintest.Start(t, testplugin)
	src := `
image   = sensitive("registry/app:1.0")
deadline = "90s"

target {
  name     = "eu"
  password = "hunter2"
  replicas = "3" # converted to a number
}
target {
  name = "us"
}
header "Authorization" {
  value = "Bearer x"
}
`
	cfg := p.ConfigHCL("deploy", src)
	if n := cfg.GetAttr("target").Index(cty.NumberIntVal(0)).GetAttr("replicas"); !n.RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("replicas not converted: %#v", n)
	}
	if !cfg.GetAttr("target").Index(cty.NumberIntVal(0)).GetAttr("password").HasMark(sdk.Sensitive) {
		t.Error("a sensitive attribute of a nested block is not marked")
	}
	if v := cfg.GetAttr("target").Index(cty.NumberIntVal(1)).GetAttr("replicas"); !v.IsNull() {
		t.Errorf("an absent optional attribute: %#v", v)
	}

	plan := p.PlanHCL("deploy", src)
	if plan.Summary != "deploy (sensitive)" || !plan.PlannedOutputs.GetAttr("deadline").RawEquals(cty.StringVal("1m30s")) {
		t.Errorf("plan: %+v", plan)
	}
	if plan.PlannedOutputs.GetAttr("targets").IsKnown() {
		t.Error("an output the plan did not set is known")
	}

	run := p.ApplyHCL("deploy", src)
	run.RequireSuccess(t)
	if got := run.Output("targets"); !got.RawEquals(cty.ListVal([]cty.Value{cty.StringVal("eu"), cty.StringVal("us")})) {
		t.Errorf("targets %#v", got)
	}
	// The marks reached the plugin: what the plugin saw as sensitive.
	want := cty.ListVal([]cty.Value{cty.StringVal("header Authorization"), cty.StringVal("image"), cty.StringVal("target eu"), cty.StringVal("target us")})
	if got := run.Output("sensitive"); !got.RawEquals(want) {
		t.Errorf("sensitive %#v", got)
	}
	if got := run.Output("headers"); !got.RawEquals(cty.NumberIntVal(1)) {
		t.Errorf("headers %#v", got)
	}
}

func TestHCLUnknownValuesAndValidation(t *testing.T) {
	p := plugintest.Start(t, testplugin)
	plan := p.PlanHCL("deploy", `
image   = unknown
deadline = unknown
target { name = unknown }
`)
	if plan.Diagnostics.HasErrors() || plan.Summary != "deploy (known after apply)" || plan.PlannedOutputs.GetAttr("deadline").IsKnown() {
		t.Errorf("plan with unknowns: %+v", plan)
	}
	diags := p.ValidateHCL("deploy", "image = \"x\"\ndeadline = \"soon\"\ntarget { name = \"eu\" }\n")
	if len(diags) != 1 || sdk.FormatPath(diags[0].Attribute) != "deadline" || diags[0].Summary != `Invalid duration "soon"` {
		t.Errorf("validate: %v", diags)
	}
	run := p.ApplyHCL("echo", "message = \"hi\"\nsettings {\n  level = 2\n}\nlabels = { a = 1 }\n")
	run.RequireSuccess(t)
	if len(run.Diagnostics) != 1 || run.Diagnostics[0].Summary != "Loud" {
		t.Errorf("the nested block did not arrive: %v", run.Diagnostics)
	}
}

func TestDecodeHCLErrorsHaveTheirLine(t *testing.T) {
	block := &sdk.Block{
		Attributes: map[string]*sdk.Attribute{
			"chart":    {Type: cty.String, Required: true},
			"replicas": {Type: cty.Number},
		},
		Blocks: map[string]*sdk.NestedBlock{
			"set": {Nesting: sdk.NestingMap, Block: sdk.Block{Attributes: map[string]*sdk.Attribute{"value": {Type: cty.String}}}},
		},
	}
	cases := map[string]string{
		"chart = \"x\"\nreplica = 2\n":         `step.hcl:2,1-8: Unsupported argument`,
		"replicas = 2\n":                       `Missing required argument`,
		"chart = \"x\"\nreplicas = \"many\"\n": `step.hcl:2,12-18: Incorrect attribute value type`,
		"chart = \"x\"\nset {\n}\n":            `Missing name for set`,
		"chart = \"x\"\nreplicas = \n":         `step.hcl:2`,
	}
	for src, want := range cases {
		if _, err := plugintest.DecodeHCL(block, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
	v, err := plugintest.DecodeHCL(block, "chart = \"x\"\nset \"image.tag\" { value = \"1.0\" }\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := v.GetAttr("set").Index(cty.StringVal("image.tag")).GetAttr("value"); !got.RawEquals(cty.StringVal("1.0")) {
		t.Errorf("a map block is keyed by its label: %#v", v)
	}
}

func TestObjectBuildsNestedValues(t *testing.T) {
	v := plugintest.Object(map[string]any{
		"set":  map[string]any{"image": map[string]any{"tag": "1.0"}},
		"args": []any{"a", 1},
	})
	if got := v.GetAttr("set").GetAttr("image").GetAttr("tag"); !got.RawEquals(cty.StringVal("1.0")) {
		t.Errorf("nested maps: %#v", v)
	}
	if got := v.GetAttr("args"); !got.RawEquals(cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1)})) {
		t.Errorf("[]any: %#v", got)
	}
}
