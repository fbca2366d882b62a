package dsl

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden from the current output")

// Each testdata/golden/NAME.hcl goes through Load, Bind and evaluation like
// the invalid corpus; its diagnostics, rendered for a terminal and as JSON,
// must match NAME.golden byte for byte. Run with -update after an intended
// change, and review the diff.
func TestGoldenDiagnostics(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/golden/*.hcl")
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, input := range inputs {
		t.Run(filepath.Base(input), func(t *testing.T) {
			cfg, diags := runPipeline(input, Inputs{Environment: "?", Getenv: noEnv})
			var out bytes.Buffer
			if err := WriteDiagnostics(&out, diags, cfg.Files, 100, false); err != nil {
				t.Fatal(err)
			}
			out.WriteString("---- json\n")
			enc := json.NewEncoder(&out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(DiagnosticsJSON(diags, cfg.Files)); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(input, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./dsl -run Golden -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("diagnostics differ from %s (rerun with -update if intended):\n%s", golden, out.String())
			}
		})
	}
}
