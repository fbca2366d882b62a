package record

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

// An answer the apply's own process gives is stored with its reason
// redacted: votes, where a cluster keeps answers, are ConfigMaps.
func TestPutAnswerRedactsTheReason(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	redactor := engine.NewRedactor()
	redactor.AddValue(cty.StringVal("hunter2-token").Mark(dsl.SensitiveMark))
	rec, err := store.Start(&engine.Plan{Pipeline: "p"}, redactor)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.PutAnswer(engine.GateAnswer{Gate: "stage.deploy", Approve: true, User: "ann", Reason: "CHG-7, token hunter2-token"}); err != nil {
		t.Fatal(err)
	}
	answers, err := store.Answers(rec.ID())
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers: %v, %v", answers, err)
	}
	if r := answers[0].Reason; strings.Contains(r, "hunter2") || !strings.Contains(r, "CHG-7") {
		t.Errorf("the stored reason is %q: want it redacted", r)
	}
	_ = rec.Finish()
}
