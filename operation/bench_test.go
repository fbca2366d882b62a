package operation_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

// BenchmarkCIFlow1000 is the CI flow of bench/scale.sh in process: plan
// -out, then apply of the saved plan with the plain view, of 1,000 noop
// steps (the std plugin a subprocess, as always). What it allocates is the
// steady measure of the host's share; the command's own start, and the
// plugin's CPU, are bench/scale.sh's.
func BenchmarkCIFlow1000(b *testing.B) {
	dir := initialized(b, noopStages(1000))
	planFile := filepath.Join(b.TempDir(), "saved.plan")
	b.ReportAllocs()
	for b.Loop() {
		p := operation.NewPlan(operation.NewConfiguration())
		p.Out = planFile
		if _, diags, err := p.Run(context.Background(), dir); diags.HasErrors() || err != nil {
			b.Fatalf("plan: %v %v", diags, err)
		}
		a := operation.NewApply(operation.NewConfiguration())
		a.Dir = dir
		a.Start = func(plan *engine.Plan) engine.EventSink {
			return view.NewApply(view.Base{Streams: view.Streams{Out: io.Discard, Err: io.Discard}}, false, plan)
		}
		applied, err := a.Run(context.Background(), planFile)
		if err != nil || applied.Result.Status != engine.StatusSucceeded {
			b.Fatalf("apply: %v %+v", err, applied)
		}
	}
}
