package wire

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// BenchmarkEncodeValue encodes a config as a step's Plan and Apply send
// it: a no-op's (the same type every call), and one with a secret in it.
func BenchmarkEncodeValue(b *testing.B) {
	config := func(token cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"inputs": cty.StringVal("n5"), "fail": cty.NullVal(cty.Bool), "fingerprint": cty.NullVal(cty.String),
			"env":   cty.MapVal(map[string]cty.Value{"A": cty.StringVal("1"), "B": cty.StringVal("2")}),
			"token": token,
		})
	}
	for name, v := range map[string]cty.Value{
		"plain":     config(cty.StringVal("t")),
		"sensitive": config(cty.StringVal("t").Mark(SensitiveMark)),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeValue(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
