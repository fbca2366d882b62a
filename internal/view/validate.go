package view

import (
	"github.com/hashicorp/hcl/v2"
)

// ValidateView is what `pipectl validate` reports: every diagnostic, then
// whether the pipeline is valid.
type ValidateView interface {
	Result(diags hcl.Diagnostics, summary string)
}

var (
	_ ValidateView = (*ValidateHuman)(nil)
	_ ValidateView = (*ValidateJSON)(nil)
)

// NewValidate picks validate's view.
func NewValidate(base Base) ValidateView {
	if base.JSON {
		return &ValidateJSON{base}
	}
	return &ValidateHuman{base}
}

// ValidateHuman is validate for people: diagnostics on stderr, a line of
// success on stdout.
type ValidateHuman struct{ Base }

// Result reports the outcome, with every diagnostic.
func (v *ValidateHuman) Result(diags hcl.Diagnostics, summary string) {
	v.Diagnostics(diags)
	if !diags.HasErrors() {
		v.Printf("Success! %s\n", summary)
	}
}

// ValidateJSON is validate as JSON lines: diagnostic messages, then
// validate_result.
type ValidateJSON struct{ Base }

// Result reports the outcome, with every diagnostic.
func (v *ValidateJSON) Result(diags hcl.Diagnostics, _ string) {
	v.Diagnostics(diags)
	errs, warns := count(diags)
	v.emit(MsgValidateResult, &ValidateResultMessage{Valid: !diags.HasErrors(), ErrorCount: errs, WarningCount: warns})
}

func count(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}
