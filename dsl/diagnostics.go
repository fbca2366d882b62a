package dsl

import (
	"bytes"
	"io"

	"github.com/hashicorp/hcl/v2"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// WriteDiagnostics renders diagnostics for people: severity, summary,
// file:line:column, the source snippet with the problem underlined, and the
// detail, wrapped at width (0: no wrapping), in color when asked.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width uint, color bool) error {
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}

// The machine-readable form of diagnostics is the vocabulary's (api/v1):
// records keep it.
type (
	DiagnosticJSON = v1.Diagnostic
	RangeJSON      = v1.Range
	PosJSON        = v1.Pos
	SnippetJSON    = v1.Snippet
)

// DiagnosticsJSON converts diagnostics for JSON output. files provides the
// source for snippets (Config.Files); a diagnostic whose file is not in it
// has no snippet.
func DiagnosticsJSON(diags hcl.Diagnostics, files map[string]*hcl.File) []DiagnosticJSON {
	out := make([]DiagnosticJSON, 0, len(diags))
	for _, d := range diags {
		j := DiagnosticJSON{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			j.Severity = "warning"
		}
		if r := d.Subject; r != nil {
			j.Range = &RangeJSON{
				Filename: r.Filename,
				Start:    PosJSON{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
				End:      PosJSON{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
			}
			if f := files[r.Filename]; f != nil {
				j.Snippet = snippet(f.Bytes, *r)
			}
		}
		out = append(out, j)
	}
	return out
}

func snippet(src []byte, r hcl.Range) *SnippetJSON {
	start, end := r.Start.Byte, r.End.Byte
	if start < 0 || end < start || end > len(src) {
		return nil
	}
	lineStart := bytes.LastIndexByte(src[:start], '\n') + 1
	lineEnd := len(src)
	if i := bytes.IndexByte(src[end:], '\n'); i >= 0 {
		lineEnd = end + i
	}
	return &SnippetJSON{
		Code:                 string(bytes.TrimRight(src[lineStart:lineEnd], "\r")),
		StartLine:            r.Start.Line,
		HighlightStartOffset: start - lineStart,
		HighlightEndOffset:   min(end, lineEnd) - lineStart,
	}
}
