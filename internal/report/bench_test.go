package report

import (
	"fmt"
	"io"
	"testing"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/record"
)

// BenchmarkReport builds and renders the report of a run of 1,000 steps
// in 10 chains, each step with 50 log lines.
func BenchmarkReport(b *testing.B) {
	run, plan, events := bigRun(1000, 50)
	b.ReportAllocs()
	for b.Loop() {
		if err := build(run, plan, events).Render(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func bigRun(steps, lines int) (*record.Run, *v1.Plan, []v1.Event) {
	start := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	run := &record.Run{ID: "r", Pipeline: "big", Started: start, Finished: start.Add(time.Hour), Status: v1.StatusSucceeded}
	plan := &v1.Plan{Pipeline: "big"}
	var events []v1.Event
	for i := range steps {
		name := fmt.Sprintf("step_%d", i)
		ps := &v1.PlannedStep{Name: name, Stage: "s", Phase: "main", Action: "std.noop", Run: "yes",
			Instances: []*v1.PlannedInstance{{Summary: "do nothing", Config: map[string]any{"i": i}}}}
		if i >= 10 {
			ps.DependsOn = []string{fmt.Sprintf("step_%d", i-10)}
		}
		plan.Steps = append(plan.Steps, ps)
		t0 := start.Add(time.Duration(i) * time.Second)
		run.Steps = append(run.Steps, record.StepRecord{Step: name, Phase: "main", Action: "std.noop", Status: v1.StatusSucceeded,
			Attempts: 1, Started: t0, Finished: t0.Add(time.Second), Outputs: map[string]any{"inputs": i}})
		events = append(events, v1.Event{Type: v1.StepStarted, Step: name, Attempt: 1, Time: t0})
		for l := range lines {
			events = append(events, v1.Event{Type: v1.StepLog, Step: name, Attempt: 1, Stream: "stdout", Message: fmt.Sprintf("line %d of %s", l, name)})
		}
		events = append(events, v1.Event{Type: v1.StepFinished, Step: name, Attempt: 1, Status: v1.StatusSucceeded, Time: t0.Add(time.Second)})
	}
	return run, plan, events
}

// BenchmarkRender10k renders the report of a run of 10,000 steps without
// logs (bench/scale.sh's runs report, without reading the record).
func BenchmarkRender10k(b *testing.B) {
	run, plan, events := bigRun(10000, 0)
	r := build(run, plan, events)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Render(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
