package dsl

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// BenchmarkLoadBindDecode measures the whole language front end on
// generated pipelines: parse and check, bind, then every step's
// meta-arguments and configuration decoded against a schema, with step
// outputs unknown as at plan time. Steps refer to the previous step, to a
// variable, a local and the environment.
//
//	go test -run='^$' -bench=LoadBindDecode -benchmem ./dsl
func BenchmarkLoadBindDecode(b *testing.B) {
	for _, steps := range []int{1000, 10000} {
		src := generatePipeline(steps)
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				loadBindDecode(b, src)
			}
		})
	}
}

var benchSchema = &BlockSchema{Attributes: map[string]*AttributeSchema{
	"command": {Type: cty.List(cty.String), Required: true},
	"input":   {Type: cty.String},
	"env":     {Type: cty.Map(cty.String)},
	"token":   {Type: cty.String, Sensitive: true},
}}

// loadBindDecode fails b, or panics when b is nil (in the child process).
func loadBindDecode(b *testing.B, src []byte) {
	fatal := func(cfg *Config, diags hcl.Diagnostics) {
		if b == nil {
			panic(render(cfg, diags))
		}
		b.Fatal(render(cfg, diags))
	}
	cfg, diags := LoadSource("bench.hcl", src)
	if diags.HasErrors() {
		fatal(cfg, diags)
	}
	scope, diags := cfg.Bind(Inputs{Environment: "prod", Vars: map[string]string{"tag": "1.0"}, Getenv: noEnv})
	if diags.HasErrors() {
		fatal(cfg, diags)
	}
	for _, st := range cfg.Steps() {
		ctx := scope.StepEvalContext(st, nil, nil)
		if _, diags := st.EvalMeta(ctx); diags.HasErrors() {
			fatal(cfg, diags)
		}
		if _, diags := DecodeBody(st.Config, benchSchema, ctx); diags.HasErrors() {
			fatal(cfg, diags)
		}
	}
}

// generatePipeline writes a pipeline of n steps in stages of 100, each step
// using the previous one's output.
func generatePipeline(n int) []byte {
	var b strings.Builder
	b.WriteString(`pipeline "bench" {}
variable "tag" { type = string }
variable "token" {
  type      = string
  default   = "s3cr3t"
  sensitive = true
}
environment "prod" { namespace = "production" }
locals { image = "registry.local/app:${var.tag}" }
`)
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			if i > 0 {
				b.WriteString("}\n")
			}
			fmt.Fprintf(&b, "stage \"s%d\" {\n", i/100)
			if i > 0 {
				fmt.Fprintf(&b, "  depends_on = [stage.s%d]\n", i/100-1)
			}
		}
		fmt.Fprintf(&b, "  step \"step%d\" {\n    action  = std.exec\n    command = [\"deploy\", local.image, env.namespace]\n    token   = var.token\n    timeout = \"5m\"\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "    input   = step.step%d.out\n    env     = { PREV = step.step%d.id }\n", i-1, i-1)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// BenchmarkPeakMemory reports the peak resident memory of a process that
// loads, binds and decodes a generated 10,000-step pipeline once — the
// memory a user's machine needs, as opposed to B/op, which counts every
// short-lived allocation (most of it HCL's token buffers). It also reports
// the CPU time the process used, which other processes on a busy machine
// do not inflate as they do wall time.
func BenchmarkPeakMemory(b *testing.B) {
	const steps = 10000
	var peak int64
	var cpu time.Duration
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", memChildEnv, steps))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		peak = max(peak, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) // KiB on Linux
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

const memChildEnv = "PIPECTL_DSL_MEMORY_CHILD"

// TestMain lets BenchmarkPeakMemory run the workload alone in a child
// process.
func TestMain(m *testing.M) {
	if n, err := strconv.Atoi(os.Getenv(memChildEnv)); err == nil {
		loadBindDecode(nil, generatePipeline(n))
		os.Exit(0)
	}
	os.Exit(m.Run())
}
