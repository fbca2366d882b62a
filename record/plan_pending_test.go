package record

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/zclconf/go-cty/cty"
	bolt "go.etcd.io/bbolt"

	"github.com/pipectl/pipectl/engine"
)

// A flush writes what happened since the last one: what it costs must not
// grow with the run's plan. bbolt rewrites a bucket's leaf whole when one
// of its keys changes, and a plan kept beside the run's summary was
// rewritten at every flush: its size times the flushes, which on a busy
// machine (more flushes a step) made a 8,000-step apply allocate 1.32×
// a 1,000-step one's per step (operation's TestApplyScalesLinearly).
func TestFlushCostDoesNotGrowWithThePlan(t *testing.T) {
	small, big := flushCost(t, 10), flushCost(t, 5000)
	t.Logf("bytes allocated a flush: %.0f with a plan of 10 steps, %.0f with 5,000", small, big)
	if big > 1.5*small {
		t.Errorf("a flush allocates %.1f× as much with a plan of 5,000 steps as with 10 (want < 1.5×)", big/small)
	}
}

// flushCost starts a run of a plan of n steps and returns what each of 20
// flushes of one step allocates, on average; it checks that the plan
// reads back while the run goes on and once it finished.
func flushCost(t *testing.T, n int) float64 {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plan := &engine.Plan{Pipeline: "p", Environment: "dev"}
	for i := range n {
		plan.Steps = append(plan.Steps, &engine.PlannedStep{Name: fmt.Sprint("s", i), Phase: engine.PhaseMain, Action: "std.noop",
			Run: engine.DecisionRun, Instances: []*engine.PlannedInstance{{Kind: "run", Summary: "do nothing", Config: map[string]any{"inputs": fmt.Sprint("s", i)}}}})
	}
	rec, err := store.Start(plan, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	const flushes = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range flushes { // a step each: its events, its record, its value
		step := fmt.Sprint("s", i)
		rec.Event(engine.Event{Type: engine.StepStarted, Step: step, Phase: engine.PhaseMain, Action: "std.noop"})
		rec.Event(engine.Event{Type: engine.StepFinished, Step: step, Phase: engine.PhaseMain, Action: "std.noop", Status: engine.StatusSucceeded})
		rec.StepValue(step, cty.ObjectVal(map[string]cty.Value{"step_id": cty.StringVal(step)}))
		rec.flush(false)
	}
	runtime.ReadMemStats(&after)
	planOf := func(when string) {
		t.Helper()
		got, err := store.Plan(rec.ID())
		if err != nil || len(got.Steps) != n {
			t.Fatalf("the plan of a run %s: %v, %d steps (want %d)", when, err, len(got.Steps), n)
		}
	}
	planOf("going on")
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	planOf("finished")
	// A finished run's plan is where records always had it, for a pipectl
	// that knows no other place.
	if err := store.Backend.(*Local).view(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(rec.ID()))
		if b.Get(planKey) == nil || b.Bucket(pendingPlanBucket) != nil {
			t.Errorf("a finished run's plan is not under %q alone", planKey)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return float64(after.TotalAlloc-before.TotalAlloc) / flushes
}
