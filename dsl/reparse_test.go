package dsl

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// A pipeline loaded for validate (ReparseStepSyntax) keeps no step's
// syntax, and reads each step's configuration again from its source: the
// same load diagnostics, the same syntax (every attribute, block and
// range), and the same values and diagnostics when decoded, on the invalid
// corpus, the golden fixtures, the flagship and a pipeline loaded in chunks.
// (A file that does not parse keeps its syntax: what parsed of it may not
// parse alone.)
func TestReparsedConfigReadsAsTheKeptOne(t *testing.T) {
	files := corpus("invalid/*.hcl", "golden/*.hcl")
	sources := map[string][]byte{"generated.hcl": generatePipeline(2000), "one-line.hcl": []byte(`pipeline "p" {}
stage "s" {
  step "a" { action = std.noop } /* a comment
  over two lines */
  step "b" { action = std.noop /* } */ }
  step "c" { action = std.exec }
  step "d" {
    action = std.exec /* } */
    command = "x" # }
  }
}`)}
	for _, f := range files {
		sources[f] = readFile(t, f)
	}
	for name, src := range sources {
		assertReparsedReadsAsKept(t, name, src)
	}
}

// assertReparsedReadsAsKept loads src both ways and compares what each
// step's configuration reads as.
func assertReparsedReadsAsKept(t *testing.T, name string, src []byte) {
	t.Helper()
	kept, keptDiags := load(filepath.Dir(name), []source{{name, src}}, KeepStepSyntax)
	again, againDiags := load(filepath.Dir(name), []source{{name, src}}, ReparseStepSyntax)
	if k, a := fmt.Sprint(keptDiags), fmt.Sprint(againDiags); k != a {
		t.Fatalf("%s: load diagnostics differ\n kept: %s\nagain: %s", name, k, a)
	}
	for _, s := range kept.Steps() {
		r := again.Step(s.Name)
		if _, ok := r.Config.(*reparsed); !ok && !keptDiags.HasErrors() {
			t.Fatalf("%s: step %s keeps its syntax (%T)", name, s.Name, r.Config)
		}
		if k, a := describeConfig(s), describeConfig(r); k != a {
			t.Fatalf("%s: step %s's config differs\n kept: %s\nagain: %s", name, s.Name, k, a)
		}
		kv, kd := s.DecodeConfig(permissiveSchema(s), &hcl.EvalContext{})
		av, ad := r.DecodeConfig(permissiveSchema(r), &hcl.EvalContext{})
		if k, a := fmt.Sprintf("%#v %s", kv, kd), fmt.Sprintf("%#v %s", av, ad); k != a {
			t.Fatalf("%s: step %s decodes differently\n kept: %s\nagain: %s", name, s.Name, k, a)
		}
	}
}

func describeConfig(s *Step) string {
	body, ok := s.ConfigSyntax().(*hclsyntax.Body)
	if !ok {
		return fmt.Sprintf("%T", s.ConfigSyntax())
	}
	return fmt.Sprintf("%s missing at %v", describeBody(body), body.MissingItemRange())
}

// LoadWith lets the syntax go only when there is enough of it: a small
// pipeline keeps it (reparseAbove), one of more than 1 MiB does not.
func TestLoadWithReparsesOnlyALargePipeline(t *testing.T) {
	for _, c := range []struct {
		steps    int
		reparsed bool
	}{{100, false}, {20000, true}} {
		src := generatePipeline(c.steps)
		if large := len(src) > reparseAbove; large != c.reparsed {
			t.Fatalf("%d steps are %d bytes: on the wrong side of %d", c.steps, len(src), reparseAbove)
		}
		path := filepath.Join(t.TempDir(), "pipeline.hcl")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := LoadWith(path, ReparseStepSyntax)
		requireNoDiags(t, cfg, diags)
		for _, s := range cfg.Steps() {
			if _, ok := s.Config.(*reparsed); ok != c.reparsed {
				t.Fatalf("%d steps: step %s's config is a %T", c.steps, s.Name, s.Config)
			}
		}
	}
}
