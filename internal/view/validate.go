package view

import (
	"github.com/hashicorp/hcl/v2"
)

// Validate is the output of `pipectl validate`.
type Validate struct{ Base }

// Result reports the outcome, with every diagnostic.
func (v *Validate) Result(diags hcl.Diagnostics, summary string) {
	if v.JSON {
		v.Diagnostics(diags)
		errs, warns := count(diags)
		v.emit(MsgValidateResult, &ValidateResultMessage{Valid: !diags.HasErrors(), ErrorCount: errs, WarningCount: warns})
		return
	}
	v.Diagnostics(diags)
	if !diags.HasErrors() {
		v.Printf("Success! %s\n", summary)
	}
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
