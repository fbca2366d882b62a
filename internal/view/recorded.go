package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/pipectl/pipectl/dsl"
)

// writeRecordedDiagnostics renders diagnostics a run record kept as plan
// and apply render live ones — summary, file and line, the snippet, the
// detail — from the snippet the record holds, not from the files, which
// may have changed since.
func writeRecordedDiagnostics(w io.Writer, diags []dsl.DiagnosticJSON) {
	for _, d := range diags {
		title := "Error"
		if d.Severity == "warning" {
			title = "Warning"
		}
		fmt.Fprintf(w, "%s: %s\n", title, d.Summary)
		if r := d.Range; r != nil {
			fmt.Fprintf(w, "\n  on %s line %d:\n", r.Filename, r.Start.Line)
			if s := d.Snippet; s != nil {
				for i, line := range strings.Split(s.Code, "\n") {
					fmt.Fprintf(w, "  %d: %s\n", s.StartLine+i, line)
				}
			}
		}
		if d.Detail != "" {
			fmt.Fprintf(w, "\n%s\n", d.Detail)
		}
		fmt.Fprintln(w)
	}
}
