package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// A view made without a redactor prints as one that knows no secret:
// it does not fail (the engine's redactor is nil-safe; the views' own
// interface must be too).
func TestApplyWithoutRedactorPrintsOutputs(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		base := Base{Streams: Streams{Out: &out, Err: &out, Width: 80}, JSON: asJSON}
		if asJSON {
			base.JSONOut = NewJSONStream(&out, &out)
		}
		v := NewApply(base, false, &v1.Plan{})
		v.Result(&v1.Result{Status: v1.StatusSucceeded, Outputs: map[string]cty.Value{"url": cty.StringVal("https://example.test")}}, "r1")
		if !strings.Contains(out.String(), "https://example.test") {
			t.Errorf("json=%v: the output is missing:\n%s", asJSON, out.String())
		}
	}
}
