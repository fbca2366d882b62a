package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

func TestRecordedDiagnosticsKeepTheSnippetWithoutSecrets(t *testing.T) {
	// A secret on the same line as what the diagnostic is about.
	f := &hcl.File{Bytes: []byte("step \"x\" {\n  token = \"hunter2\"  command = \"/bin/false\"\n}\n")}
	r := NewRedactor()
	r.AddValue(cty.StringVal("hunter2").Mark(dsl.SensitiveMark))
	subject := hcl.Range{Filename: "pipeline.hcl", Start: hcl.Pos{Line: 2, Column: 22, Byte: 32}, End: hcl.Pos{Line: 2, Column: 29, Byte: 39}}
	rec := RecordedDiagnostics(AppendError(nil, "Action failed", errors.New("exit status 1 (token hunter2)"), subject),
		map[string]*hcl.File{"pipeline.hcl": f}, r)
	if len(rec) != 1 || rec[0].Snippet == nil || rec[0].Range.Start.Line != 2 {
		t.Fatalf("recorded %+v", rec)
	}
	if strings.Contains(rec[0].Snippet.Code, "hunter2") || strings.Contains(rec[0].Detail, "hunter2") {
		t.Errorf("a secret was recorded: %+v %+v", rec[0], rec[0].Snippet)
	}
	if !strings.Contains(rec[0].Snippet.Code, `command = "/bin/false"`) {
		t.Errorf("snippet %q", rec[0].Snippet.Code)
	}
}

func TestAppendErrorKeepsDiagnosticsThatAreErrors(t *testing.T) {
	own := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Own", Subject: &hcl.Range{Filename: "a.hcl"}}}
	got := AppendError(nil, "Wrapped", own, hcl.Range{Filename: "b.hcl"})
	if len(got) != 1 || got[0].Summary != "Own" {
		t.Errorf("hcl.Diagnostics as an error: %v", got)
	}
	got = AppendError(got, "Wrapped", errors.New("plain"), hcl.Range{Filename: "b.hcl"})
	if len(got) != 2 || got[1].Summary != "Wrapped" || got[1].Detail != "plain" || got[1].Subject.Filename != "b.hcl" {
		t.Errorf("a plain error: %v", got[1])
	}
}
