package engine

import (
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk"
)

// The language's schema model (dsl) and the plugins' (sdk) are one: the
// same nesting numbers, the same map block label, and a body decodes to
// the same value through pipectl (dsl.DecodeBody of the converted schema)
// as through the SDK's own hcldec spec (what plugintest.DecodeHCL uses).
func TestPluginSchemaAndLanguageSchemaAgree(t *testing.T) {
	for _, n := range []sdk.Nesting{sdk.NestingSingle, sdk.NestingList, sdk.NestingMap} {
		if got := dsl.Nesting(n); got != map[sdk.Nesting]dsl.Nesting{
			sdk.NestingSingle: dsl.NestingSingle, sdk.NestingList: dsl.NestingList, sdk.NestingMap: dsl.NestingMap,
		}[n] {
			t.Errorf("sdk nesting %s is dsl nesting %d", n, got)
		}
	}
	if sdk.MapBlockLabel != dsl.MapBlockLabel {
		t.Errorf("map block label: sdk %q, dsl %q", sdk.MapBlockLabel, dsl.MapBlockLabel)
	}
	if sdk.Sensitive != dsl.SensitiveMark {
		t.Errorf("sensitive mark: sdk %q, dsl %q", sdk.Sensitive, dsl.SensitiveMark)
	}

	str := map[string]*sdk.Attribute{"value": {Type: cty.String, Required: true}}
	block := &sdk.Block{
		Attributes: map[string]*sdk.Attribute{"name": {Type: cty.String, Required: true}, "count": {Type: cty.Number}},
		Blocks: map[string]*sdk.NestedBlock{
			"target": {Nesting: sdk.NestingSingle, Block: sdk.Block{Attributes: str}},
			"arg":    {Nesting: sdk.NestingList, Block: sdk.Block{Attributes: str}},
			"header": {Nesting: sdk.NestingMap, Block: sdk.Block{Attributes: str}},
		},
	}
	src := `
name  = "x"
count = 2
target { value = "t" }
arg { value = "a" }
arg { value = "b" }
header "accept" { value = "json" }
header "user" { value = "ada" }
`
	f, diags := hclsyntax.ParseConfig([]byte(src), "body.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	viaPipectl, diags := dsl.DecodeBody(f.Body, blockSchema(block), &hcl.EvalContext{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	viaSDK, diags := hcldec.Decode(f.Body, block.HCLSpec(), &hcl.EvalContext{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !viaPipectl.RawEquals(viaSDK) {
		t.Errorf("the same body decodes differently:\npipectl %#v\nsdk     %#v", viaPipectl, viaSDK)
	}
}

// The SDK refuses action attributes named like a step meta-argument: its
// list is the language's, plus the config block that is the escape.
func TestSDKKnowsTheMetaArguments(t *testing.T) {
	want := append(dsl.MetaArgumentNames(), dsl.ConfigBlock)
	slices.Sort(want)
	got := slices.Sorted(slices.Values(sdk.StepMetaArguments))
	if !slices.Equal(got, want) {
		t.Errorf("sdk.StepMetaArguments %v, want the language's %v", got, want)
	}
}
