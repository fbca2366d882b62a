package engine

import (
	"testing"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/sdk/redact"
)

// The vocabulary imports no pipectl package, so it spells the mask of a
// sensitive value itself: it must be the one the redactor writes.
func TestVocabularyMaskIsTheRedactors(t *testing.T) {
	if v1.Redacted != redact.Mask {
		t.Errorf("v1.Redacted %q, redact.Mask %q", v1.Redacted, redact.Mask)
	}
}
