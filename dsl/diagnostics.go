package dsl

import (
	"bytes"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics renders diagnostics for people: severity, summary,
// file:line:column, the source snippet with the problem underlined, and the
// detail, wrapped at width (0: no wrapping), in color when asked.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width uint, color bool) error {
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}

// DiagnosticJSON is the machine-readable form of a diagnostic, shaped like
// Terraform's -json diagnostics.
type DiagnosticJSON struct {
	Severity string       `json:"severity"` // "error" or "warning"
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail,omitempty"`
	Range    *RangeJSON   `json:"range,omitempty"`
	Snippet  *SnippetJSON `json:"snippet,omitempty"`
}

// RangeJSON is a source range; lines and columns start at 1, bytes at 0.
type RangeJSON struct {
	Filename string  `json:"filename"`
	Start    PosJSON `json:"start"`
	End      PosJSON `json:"end"`
}

// PosJSON is a position in a source file.
type PosJSON struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// SnippetJSON is the source code around a diagnostic: the lines its range
// covers, and where the range lies in them.
type SnippetJSON struct {
	Code                 string `json:"code"`
	StartLine            int    `json:"start_line"`
	HighlightStartOffset int    `json:"highlight_start_offset"`
	HighlightEndOffset   int    `json:"highlight_end_offset"`
}

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
				Start:    PosJSON{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      PosJSON{r.End.Line, r.End.Column, r.End.Byte},
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
