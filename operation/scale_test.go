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
	"github.com/pipectl/pipectl/record"
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
// when not on a terminal, and JSON lines). The record keeps history
// finished runs of the pipeline from before.
func applyScale(t *testing.T, n, history int) scaleCost {
	t.Helper()
	dir := initialized(t, noopStages(n))
	keepRuns(t, dir, history, n)
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
	small, big := applyScale(t, 1000, 0), applyScale(t, 8000, 0)
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

// keepRuns records runs finished runs of n succeeded steps each.
func keepRuns(t *testing.T, dir string, runs, n int) {
	t.Helper()
	store, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for range runs {
		rec, err := store.Start(&engine.Plan{Pipeline: "scale"}, engine.NewRedactor())
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			step := fmt.Sprintf("n%d", i)
			rec.Event(engine.Event{Type: engine.StepStarted, Step: step, Attempt: 1})
			rec.Event(engine.Event{Type: engine.StepFinished, Step: step, Status: engine.StatusSucceeded, Outputs: map[string]any{"step_id": step}})
		}
		rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded})
		if err := rec.Finish(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestApplyCostDoesNotGrowWithHistory: what an apply costs must not grow
// with the runs the record keeps (DefaultKeep, 100 per environment). Opening
// the record and pruning it read every kept run's summary, every step
// record of it included, before each apply.
func TestApplyCostDoesNotGrowWithHistory(t *testing.T) {
	const n, kept = 1000, 40
	fresh, old := applyScale(t, n, 0), applyScale(t, n, kept)
	t.Logf("bytes allocated per step: %.1f with no run kept, %.1f with %d runs of %d steps kept", fresh.allocs, old.allocs, kept, n)
	if r := old.allocs / fresh.allocs; r > 1.3 {
		t.Errorf("with %d runs kept, an apply allocates %.2f× what it does with none (want < 1.3×)", kept, r)
	}
}

// TestListingRunsCostDoesNotGrowWithSteps: the table of runs (`pipectl
// runs`) counts each kept run's step records without decoding them, so
// what it costs does not grow with them.
func TestListingRunsCostDoesNotGrowWithSteps(t *testing.T) {
	const kept = 20
	allocated := func(steps int) uint64 {
		dir := initialized(t, noopStages(10))
		keepRuns(t, dir, kept, steps)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		list, err := (&operation.ListRuns{Dir: dir, Heads: true}).Run()
		runtime.ReadMemStats(&after)
		if err != nil || len(list) != kept {
			t.Fatalf("%d runs, %v; want %d", len(list), err, kept)
		}
		for _, r := range list {
			if r.StepTotal() != steps {
				t.Fatalf("run %s counts %d steps, want %d", r.ID, r.StepTotal(), steps)
			}
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	few, many := allocated(1), allocated(1000)
	t.Logf("listing %d runs allocates %d bytes with 1 step each, %d with 1,000", kept, few, many)
	if r := float64(many) / float64(few); r > 1.3 {
		t.Errorf("listing runs of 1,000 steps allocates %.1f× what runs of 1 step do (want < 1.3×)", r)
	}
}
