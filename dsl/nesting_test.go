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
