package dsl

import (
	"os"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// FuzzLoad feeds arbitrary bytes through everything the language does with
// a pipeline file — parse, decode, bind, evaluate, render diagnostics — and
// fails on any panic, or if validate's reparsed step configurations read
// otherwise than the kept ones. It is seeded with the flagship pipeline and the corpus
// of invalid ones.
//
//	go test -run='^$' -fuzz=FuzzLoad -fuzztime=20s ./dsl
func FuzzLoad(f *testing.F) {
	for _, path := range corpus("invalid/*.hcl", "invalid/*/*.hcl") {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		assertChunkedParse(t, "fuzz.hcl", src, 1)
		assertReparsedReadsAsKept(t, "fuzz.hcl", src)
		cfg, diags := LoadSource("fuzz.hcl", src)
		_ = render(cfg, diags)
		_ = DiagnosticsJSON(diags, cfg.Files)

		in := Inputs{Vars: map[string]string{}, Getenv: noEnv}
		if names := cfg.EnvironmentNames(); len(names) > 0 {
			in.Environment = names[0]
		}
		for name, v := range cfg.Variables {
			if v.Required() {
				in.Vars[name] = "1"
			}
		}
		scope, diags := cfg.Bind(in)
		_ = render(cfg, diags)
		diags = evalEverything(scope)
		_ = render(cfg, diags)
		for _, st := range cfg.Steps() {
			for _, path := range []cty.Path{
				cty.GetAttrPath("x"),
				cty.GetAttrPath("x").Index(cty.NumberIntVal(0)).GetAttr("y"),
				cty.GetAttrPath("x").Index(cty.StringVal("k")),
			} {
				_ = AttributeRange(st.Config, path)
			}
		}
	})
}
