package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

// noopPipeline is n noop steps in stages of ten, each step depending on
// one step of the stage before, so the scheduler works on a real graph.
func noopPipeline(n int) string {
	var b strings.Builder
	b.WriteString("pipeline \"bench\" {}\n")
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

// BenchmarkApplyNoop1000 measures the engine's cost per step: scheduling,
// evaluation, decoding and one Apply round trip to the plugin process.
func BenchmarkApplyNoop1000(b *testing.B) {
	f := load(b, noopPipeline(1000), dsl.Inputs{})
	f.apply(context.Background(), 10) // warm: the plugin is launched
	b.ResetTimer()
	for b.Loop() {
		f.events = f.events[:0]
		if res := f.apply(context.Background(), 10); res.Status != engine.StatusSucceeded {
			b.Fatalf("status %s", res.Status)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000/1e6, "ms/step")
}

// BenchmarkCriticalPath runs a DAG of sleep steps whose critical path is
// known, and reports how far the wall time is above it.
func BenchmarkCriticalPath(b *testing.B) {
	// Three chains: 4×200ms (the critical path, 800ms), 3×150ms, 6×50ms,
	// joined by a final 100ms step: critical path 900ms.
	var src strings.Builder
	src.WriteString("pipeline \"cp\" {}\nstage \"s\" {\n")
	chain := func(name string, n int, d string) {
		for i := 0; i < n; i++ {
			fmt.Fprintf(&src, "  step \"%s%d\" {\n    action = std.sleep\n    duration = %q\n", name, i, d)
			if i > 0 {
				fmt.Fprintf(&src, "    depends_on = [step.%s%d]\n", name, i-1)
			}
			src.WriteString("  }\n")
		}
	}
	chain("a", 4, "200ms")
	chain("b", 3, "150ms")
	chain("c", 6, "50ms")
	src.WriteString("  step \"join\" {\n    action = std.sleep\n    duration = \"100ms\"\n    depends_on = [step.a3, step.b2, step.c5]\n  }\n}\n")
	const critical = 900 * time.Millisecond
	f := load(b, src.String(), dsl.Inputs{})
	f.apply(context.Background(), 10)
	b.ResetTimer()
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		if res := f.apply(context.Background(), 10); res.Status != engine.StatusSucceeded {
			b.Fatalf("status %s", res.Status)
		}
		total += time.Since(start)
	}
	wall := total / time.Duration(b.N)
	b.ReportMetric(float64(wall.Milliseconds()), "wall-ms")
	b.ReportMetric(100*float64(wall-critical)/float64(critical), "%-over-critical-path")
}

// BenchmarkLoad is what `pipectl validate` does before it asks plugins:
// parse, decode, bind and build the graph (cycle search included).
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "pipeline.hcl"), []byte(noopPipeline(n)), 0o644); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, diags := engine.Load(dir, dsl.Inputs{}); diags.HasErrors() {
					b.Fatal(diags.Error())
				}
			}
			b.ReportMetric(retainedPerStep(b, dir, n), "retained-B/step")
		})
	}
}

// retainedPerStep is the heap a loaded pipeline of n steps holds, per
// step: what validate, plan and apply keep for as long as they run.
func retainedPerStep(b *testing.B, dir string, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, diags := engine.Load(dir, dsl.Inputs{})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(p)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// execPipeline is n exec steps: an action with checks of its own, so
// validate asks the plugin about every step.
func execPipeline(n int) string {
	var b strings.Builder
	b.WriteString("pipeline \"bench\" {}\n")
	for s := 0; s*10 < n; s++ {
		fmt.Fprintf(&b, "stage \"s%d\" {\n", s)
		for i := s * 10; i < min(n, s*10+10); i++ {
			fmt.Fprintf(&b, "  step \"n%d\" {\n    action  = std.exec\n    command = \"echo\"\n    args    = [\"%d\"]\n  }\n", i, i)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// BenchmarkValidate10000 is `pipectl validate` of 10,000 steps after the
// load: every config decoded against its action's schema, and the plugin's
// own checks where the action has some (exec) — noop has none, so its
// steps cost no round trip.
func BenchmarkValidate10000(b *testing.B) {
	for name, src := range map[string]string{"noop": noopPipeline(10000), "exec": execPipeline(10000)} {
		b.Run(name, func(b *testing.B) {
			f := load(b, src, dsl.Inputs{})
			pl := &engine.Planner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor}
			noSkip := func(string) bool { return false }
			for b.Loop() {
				if diags := pl.Validate(context.Background(), noSkip); diags.HasErrors() {
					b.Fatal(diags.Error())
				}
			}
		})
	}
}

// BenchmarkPlanNoop10000 is `pipectl plan` of 10,000 no-op steps after the
// load: each step resolved, decoded and planned by the plugin process.
func BenchmarkPlanNoop10000(b *testing.B) {
	f := load(b, noopPipeline(10000), dsl.Inputs{})
	f.plan() // warm: the plugin is launched
	b.ReportAllocs()
	for b.Loop() {
		f.plan()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000/1e3, "µs/step")
}

// BenchmarkPlanForEach1000 is the plan of one step with 1,000 instances
// (for_each over services × regions, say): one plan call per instance.
func BenchmarkPlanForEach1000(b *testing.B) {
	f := load(b, `pipeline "bench" {}
stage "s" {
  step "each" {
    for_each = toset([for i in range(1000) : "i${i}"])
    action   = std.noop
    inputs   = each.key
  }
}
`, dsl.Inputs{})
	f.plan() // warm: the plugin is launched
	for b.Loop() {
		f.plan()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000/1e3, "µs/instance")
}

// BenchmarkPlanFile10000 writes and reads a saved plan of 10,000 no-op
// steps, as plan -out and apply PLAN do.
func BenchmarkPlanFile10000(b *testing.B) {
	p := load(b, noopPipeline(10000), dsl.Inputs{}).plan()
	path := filepath.Join(b.TempDir(), "plan.json")
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := engine.WritePlan(path, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := engine.ReadPlan(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}
