package sdk

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// BenchmarkConformConfig conforms a config as every Plan and Apply call
// does: std.noop's, as a host sends it (every attribute, of its type).
func BenchmarkConformConfig(b *testing.B) {
	noop := Block{Attributes: map[string]*Attribute{
		"inputs":      {Type: cty.DynamicPseudoType},
		"fail":        {Type: cty.Bool},
		"fingerprint": {Type: cty.String},
	}}
	ty := noop.ImpliedType()
	v := cty.ObjectVal(map[string]cty.Value{"inputs": cty.StringVal("n5"), "fail": cty.NullVal(cty.Bool), "fingerprint": cty.NullVal(cty.String)})
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := conformConfig(&noop, ty, v); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}

// BenchmarkConformOutputs conforms std.noop's outputs, as every Plan and
// Apply answer does.
func BenchmarkConformOutputs(b *testing.B) {
	s := &ActionSchema{Outputs: map[string]*Attribute{"inputs": {Type: cty.DynamicPseudoType}, "step_id": {Type: cty.String}}}
	v := cty.ObjectVal(map[string]cty.Value{"inputs": cty.StringVal("n5"), "step_id": cty.StringVal("n15")})
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := conformOutputs(s, v, false); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
