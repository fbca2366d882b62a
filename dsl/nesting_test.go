package dsl

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// Brackets in comments, strings and heredocs are text, not nesting: only
// real levels count towards MaxNesting.
func TestCheckNestingCountsOnlyLevels(t *testing.T) {
	deep := strings.Repeat("[", MaxNesting+1)
	for name, src := range map[string]string{
		"comment":       "# " + deep + "\n// " + deep + "\n/* " + deep + " */\nx = 1\n",
		"string":        `x = "` + deep + `"` + "\n",
		"escaped quote": `x = "\"` + deep + `"` + "\n",
		"heredoc":       "x = <<-EOT\n  " + deep + "\n  EOT\n",
		"at the limit":  "x = " + strings.Repeat("[", MaxNesting) + strings.Repeat("]", MaxNesting) + "\n",
	} {
		if diags := CheckNesting([]byte(src), "a.hcl", hcl.InitialPos); diags.HasErrors() {
			t.Errorf("%s: %v", name, diags)
		}
	}
	for name, src := range map[string]string{
		"brackets":       "x = " + deep,
		"interpolations": "x = " + strings.Repeat(`"${`, MaxNesting/2+1),
		// HCL parses a heredoc's interpolations as expressions: they nest.
		"in a heredoc": "x = <<EOT\n${" + deep + "\nEOT\n",
	} {
		if diags := CheckNesting([]byte(src), "a.hcl", hcl.InitialPos); !diags.HasErrors() {
			t.Errorf("%s: no error past the limit", name)
		}
	}
}

// A file parsed in chunks checks each chunk's nesting before parsing it
// (never the whole file's tokens at once), and a chunk nested too deeply
// is reported where it is, as from a plain parse.
func TestLargeFileNestedTooDeeply(t *testing.T) {
	var b strings.Builder
	line := 0
	for i := 0; b.Len() < 3*chunkSize; i++ {
		if b.Len() > chunkSize && line == 0 {
			line = strings.Count(b.String(), "\n") + 2
			b.WriteString("stage \"deep\" {\n  x = " + strings.Repeat("[", MaxNesting+1) + "\n}\n")
		}
		b.WriteString("stage \"s" + strings.Repeat("x", i%7) + "\" {\n  step \"n\" {\n    action = std.noop\n  }\n}\n")
	}
	_, diags := parseFile([]byte(b.String()), "big.hcl")
	if len(diags) != 1 || diags[0].Summary != "Nested too deeply" || diags[0].Subject.Start.Line != line {
		t.Fatalf("want Nested too deeply on line %d, got %v", line, diags)
	}
}
