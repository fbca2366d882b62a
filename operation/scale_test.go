package operation_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

// noopStages is n noop steps in stages of ten, each step depending on the
// step ten before it: what bench/scale.sh times end to end.
func noopStages(n int) string {
	var b strings.Builder
	b.WriteString("pipeline \"scale\" {}\n")
	for s := 0; s*10 < n; s++ {
		fmt.Fprintf(&b, "stage \"s%d\" {\n", s)
		for i := s * 10; i < min(n, s*10+10); i++ {
			fmt.Fprintf(&b, "  step \"n%d\" {\n    action = std.noop\n", i)
			if i >= 10 {
				fmt.Fprintf(&b, "    inputs = step.n%d.step_id\n", i-10)
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// scaleCost is what one apply of n noop steps costs per step.
type scaleCost struct {
	n         int
	allocs    float64 // bytes allocated
	recorded  float64 // bytes the recorder wrote
	copies    float64 // step records the recorder serialized
	scheduled float64 // graph nodes the scheduler looked at
}

// applyScale saves a plan of n noop steps and applies it in process, as
// plan -out and apply PLAN do: the engine, the saved plan's check, the
// recorder, and both views a user meets (plain lines, what apply prints
// when not on a terminal, and JSON lines).
func applyScale(t *testing.T, n int) scaleCost {
	t.Helper()
	dir := initialized(t, noopStages(n))
	planFile := filepath.Join(t.TempDir(), "saved.plan")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := operation.NewPlan(operation.NewConfiguration())
	p.Out = planFile
	if _, diags, err := p.Run(context.Background(), dir); diags.HasErrors() || err != nil {
		t.Fatalf("plan: %v %v", diags, err)
	}
	a := operation.NewApply(operation.NewConfiguration())
	a.Dir = dir // apply PLAN DIR
	a.Start = func(plan *engine.Plan) engine.EventSink {
		plain := view.NewApply(view.Base{Streams: view.Streams{Out: io.Discard, Err: io.Discard}}, false, plan)
		json := view.NewApply(view.Base{Streams: view.Streams{Out: io.Discard, Err: io.Discard}, JSON: true,
			JSONOut: view.NewJSONStream(io.Discard, io.Discard)}, false, plan)
		return engine.EventFunc(func(e engine.Event) { plain.Event(e); json.Event(e) })
	}
	applied, err := a.Run(context.Background(), planFile)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Result.Status != engine.StatusSucceeded {
		t.Fatalf("status %s", applied.Result.Status)
	}
	per := func(x float64) float64 { return x / float64(n) }
	return scaleCost{n: n, allocs: per(float64(after.TotalAlloc - before.TotalAlloc)),
		recorded: per(float64(applied.RecordCost.Bytes)), copies: per(float64(applied.RecordCost.StepRecords)),
		scheduled: per(float64(applied.Result.Scheduled))}
}

// TestApplyScalesLinearly: what a step costs must not grow with the
// number of steps. Counts, not time: bytes allocated, bytes the recorder
// wrote, scheduler candidates looked at and run states copied.
func TestApplyScalesLinearly(t *testing.T) {
	small, big := applyScale(t, 1000), applyScale(t, 8000)
	for _, c := range []struct {
		what       string
		small, big float64
	}{
		{"bytes allocated", small.allocs, big.allocs},
		{"bytes recorded", small.recorded, big.recorded},
		{"step records serialized", small.copies, big.copies},
		{"scheduler candidates", small.scheduled, big.scheduled},
	} {
		t.Logf("%s per step: %.1f at %d steps, %.1f at %d", c.what, c.small, small.n, c.big, big.n)
		if r := c.big / c.small; !(r < 1.3 && r > 1/1.3) {
			t.Errorf("%s per step differ by %.2f× between %d and %d steps (want < 1.3×)", c.what, r, small.n, big.n)
		}
	}
}
