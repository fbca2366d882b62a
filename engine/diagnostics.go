package engine

import (
	"errors"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
)

// The engine reports every problem as hcl.Diagnostics, in the manner of
// Terraform's tfdiags: the language's own, a plugin's (sdk.Diagnostics,
// placed on the attribute they name: pluginDiagnostics) and plain Go
// errors (placed on the source they are about: errorDiagnostic) are
// joined in one list. So a failure at apply renders exactly like one at
// plan, with summary, detail, file:line:col and the source snippet; and
// run records keep them in their JSON form (RecordedDiagnostics), snippet
// included, so `pipectl runs show` can render them once the files changed.

// errorDiagnostic is a plain error as an error diagnostic on subject.
func errorDiagnostic(summary string, err error, subject hcl.Range) *hcl.Diagnostic {
	detail := ""
	if err != nil {
		detail = err.Error()
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject.Ptr()}
}

// AppendError joins a plain error to diags: an error that already is
// diagnostics (hcl.Diagnostics, *hcl.Diagnostic) keeps its own; another
// becomes one error diagnostic with summary, on subject.
func AppendError(diags hcl.Diagnostics, summary string, err error, subject hcl.Range) hcl.Diagnostics {
	var hd hcl.Diagnostics
	if errors.As(err, &hd) {
		return append(diags, hd...)
	}
	var d *hcl.Diagnostic
	if errors.As(err, &d) {
		return append(diags, d)
	}
	return append(diags, errorDiagnostic(summary, err, subject))
}

// RecordedDiagnostics is diagnostics in the form run records and the JSON
// contract keep: ranges, and the source snippet from files with every
// secret the redactor knows masked.
func RecordedDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File, r *Redactor) []dsl.DiagnosticJSON {
	if len(diags) == 0 {
		return nil
	}
	masked := make(map[string]*hcl.File, len(files))
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		name := d.Subject.Filename
		if f := files[name]; f != nil && masked[name] == nil {
			c := *f
			c.Bytes = r.Mask(f.Bytes)
			masked[name] = &c
		}
	}
	return dsl.DiagnosticsJSON(r.Diagnostics(diags), masked)
}
