package plugintest

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

// DecodeHCL decodes src, the body of a step as a pipeline writes it (its
// attributes and nested blocks, without action and the step's
// meta-arguments), against block, the way pipectl decodes it: values
// converted to the attributes' types, absent optional ones null, nested
// blocks as objects, lists or maps of objects, sensitive attributes marked.
// An unsupported argument, a missing required one, a value of the wrong
// type is an error with its line.
//
// Two names stand for what a test cannot write as a literal:
//
//	image = unknown               # known only after apply, as in a plan
//	token = sensitive("s3cret")   # marked sensitive, as a secret variable is
func DecodeHCL(block *sdk.Block, src string) (cty.Value, error) {
	f, diags := hclsyntax.ParseConfig([]byte(src), "step.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, diags := hcldec.Decode(f.Body, block.HCLSpec(), evalContext)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	var sensitive []cty.PathValueMarks
	sensitivePaths(block, v, nil, &sensitive)
	return v.MarkWithPaths(sensitive), nil
}

// ConfigFromHCL is DecodeHCL that fails the test on an error.
func ConfigFromHCL(t testing.TB, block *sdk.Block, src string) cty.Value {
	t.Helper()
	v, err := DecodeHCL(block, src)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	return v
}

// ConfigHCL decodes src against the schema of the plugin's action; see
// DecodeHCL.
func (p *Plugin) ConfigHCL(action, src string) cty.Value {
	p.t.Helper()
	a, ok := p.Schema().Actions[action]
	if !ok {
		p.t.Fatalf("plugintest: the plugin has no action %q", action)
	}
	return ConfigFromHCL(p.t, &a.Block, src)
}

// ValidateHCL is Validate with a config written in HCL; see DecodeHCL.
func (p *Plugin) ValidateHCL(action, src string) sdk.Diagnostics {
	p.t.Helper()
	return p.Validate(action, p.ConfigHCL(action, src))
}

// PlanHCL is Plan with a config written in HCL; see DecodeHCL.
//
//	plan := p.PlanHCL("upgrade", `
//	  chart = "./chart"
//	  image = unknown
//	  set   = { replicas = 2 }
//	`)
func (p *Plugin) PlanHCL(action, src string) *client.PlanResult {
	p.t.Helper()
	return p.Plan(action, p.ConfigHCL(action, src))
}

// ApplyHCL is Apply with a config written in HCL; see DecodeHCL.
func (p *Plugin) ApplyHCL(action, src string) *Run {
	p.t.Helper()
	return p.Apply(action, p.ConfigHCL(action, src))
}

var evalContext = &hcl.EvalContext{
	Variables: map[string]cty.Value{"unknown": cty.DynamicVal},
	Functions: map[string]function.Function{"sensitive": sensitiveFunc},
}

var sensitiveFunc = function.New(&function.Spec{
	Description: "Marks a value sensitive, as pipectl marks a sensitive variable.",
	Params: []function.Parameter{{
		Name: "value", Type: cty.DynamicPseudoType,
		AllowMarked: true, AllowUnknown: true, AllowNull: true, AllowDynamicType: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) { return args[0].Mark(sdk.Sensitive), nil },
})

// sensitivePaths collects the paths of the sensitive attributes of a
// decoded body, nested blocks included, as the SDK's server marks them.
func sensitivePaths(b *sdk.Block, v cty.Value, path cty.Path, out *[]cty.PathValueMarks) {
	v, _ = v.Unmark()
	if !v.IsKnown() || v.IsNull() {
		return
	}
	for name, a := range b.Attributes {
		if a.Sensitive {
			*out = append(*out, cty.PathValueMarks{Path: path.Copy().GetAttr(name), Marks: cty.NewValueMarks(sdk.Sensitive)})
		}
	}
	for name, nb := range b.Blocks {
		bv, _ := v.GetAttr(name).Unmark()
		p := path.Copy().GetAttr(name)
		switch {
		case !bv.IsKnown() || bv.IsNull():
		case nb.Nesting == sdk.NestingSingle:
			sensitivePaths(&nb.Block, bv, p, out)
		default:
			for it := bv.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				sensitivePaths(&nb.Block, ev, p.Copy().Index(k), out)
			}
		}
	}
}
