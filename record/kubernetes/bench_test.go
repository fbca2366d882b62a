package kubernetes

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/record"
)

// Benchmarks of the kubernetes backend through the CLI, against the
// sandbox (bench/kube-backend.sh runs them). Each reports what it measured
// with ReportMetric; none asserts a speed.

// apiRequests is the API server's count of requests for Secrets and
// Leases so far (its /metrics): what every client of the backend asked.
func apiRequests(b testing.TB, env *sandboxtest.Env) float64 {
	b.Helper()
	raw, err := env.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") ||
			!(strings.Contains(line, `resource="secrets"`) || strings.Contains(line, `resource="leases"`)) {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		n += v
	}
	return n
}

func stepsPipeline(n int) string {
	var b strings.Builder
	b.WriteString("stage \"s\" {\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  step \"s%d\" {\n    action = std.noop\n  }\n", i)
	}
	b.WriteString("}\n")
	return b.String()
}

// BenchmarkApply1kSteps: one apply of 1,000 no-op steps with the local
// backend and with the kubernetes backend; the difference per step is
// what the shared record costs, and the API requests per step.
func BenchmarkApply1kSteps(b *testing.B) {
	const steps = 1000
	env := sandboxtest.Cluster(b)
	r := newRunnersLease(b, env, 1, "60s", stepsPipeline(steps))[0]
	lr := &runner{t: b, dir: b.TempDir(), env: r.env, bin: r.bin}
	writeFile(b, filepath.Join(lr.dir, "pipeline.hcl"), "pipeline \"shop\" {}\nenvironment \"prod\" {}\n"+stepsPipeline(steps))
	if _, e, code := lr.run("init"); code != 0 {
		b.Fatalf("init: %s", e)
	}
	var localTime, kubeTime time.Duration
	var requests float64
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, e, code := lr.run("apply", "-env", "prod", "-auto-approve", "-parallelism", "50"); code != 0 {
			b.Fatalf("local apply: %s", e)
		}
		localTime += time.Since(start)
		before := apiRequests(b, env)
		start = time.Now()
		if _, e, code := r.run("apply", "-env", "prod", "-auto-approve", "-parallelism", "50"); code != 0 {
			b.Fatalf("kubernetes apply: %s", e)
		}
		kubeTime += time.Since(start)
		requests += apiRequests(b, env) - before
	}
	n := float64(b.N * steps)
	b.ReportMetric(float64(localTime.Microseconds())/n, "µs/step-local")
	b.ReportMetric(float64(kubeTime.Microseconds())/n, "µs/step-kubernetes")
	b.ReportMetric(float64((kubeTime-localTime).Microseconds())/n, "µs/step-added")
	b.ReportMetric(requests/n, "requests/step")
	b.ReportMetric(requests/float64(b.N), "requests/apply")
}

// BenchmarkConcurrentApplies: 20 applies of 20 pipelines at once, each in
// a directory of its own, all through one namespace; every run must be
// recorded, succeeded, with every step.
func BenchmarkConcurrentApplies(b *testing.B) {
	const n, steps = 20, 20
	env := sandboxtest.Cluster(b)
	var rs []*runner
	for i := 0; i < n; i++ {
		r := newRunnersLease(b, env, 1, "60s", stepsPipeline(steps))[0]
		path := filepath.Join(r.dir, "pipeline.hcl")
		writeFile(b, path, strings.Replace(readFile(b, path), `pipeline "shop"`, fmt.Sprintf(`pipeline "shop-%02d"`, i), 1))
		rs = append(rs, r)
	}
	var total time.Duration
	var requests float64
	for i := 0; i < b.N; i++ {
		before := apiRequests(b, env)
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for _, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if out, e, code := r.run("apply", "-env", "prod", "-auto-approve"); code != 0 {
					errs <- out + e
				}
			}()
		}
		wg.Wait()
		total += time.Since(start)
		requests += apiRequests(b, env) - before
		close(errs)
		for e := range errs {
			b.Fatalf("an apply failed: %s", e)
		}
	}
	for _, r := range rs {
		list := r.runs()
		if len(list) != b.N {
			b.Fatalf("%s: %d runs recorded, want %d", r.dir, len(list), b.N)
		}
		for _, run := range list {
			if steps, _ := run["steps"].([]any); run["status"] != "succeeded" || len(steps) != 20 {
				b.Fatalf("a run lost something: %v", run)
			}
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/20-applies")
	b.ReportMetric(requests/float64(b.N*n*steps), "requests/step")
}

// BenchmarkPruneKeeping100Runs: what an apply's pruning costs with
// DefaultKeep runs of 1,000 steps kept in one environment (it deletes none).
func BenchmarkPruneKeeping100Runs(b *testing.B) {
	c := testClient(b, 60*time.Second)
	be := New(c, "prune", b.TempDir())
	steps := make([]record.StepRecord, 1000)
	for i := range steps {
		steps[i] = record.StepRecord{Step: fmt.Sprintf("s%d", i), Phase: engine.PhaseMain, Action: "std.noop", Status: engine.StatusSucceeded}
	}
	plan, _ := json.Marshal(&engine.Plan{FormatVersion: 1, Pipeline: "prune", Environment: "dev"})
	for n := range record.DefaultKeep {
		l, err := be.Lock(context.Background(), "dev", record.LockOptions{})
		if err != nil {
			b.Fatal(err)
		}
		r := &record.Run{ID: l.RunID(), Pipeline: "prune", Environment: "dev", Status: record.StatusRunning,
			Started: time.Date(2026, 11, 1, 10, n, 0, 0, time.UTC)}
		if err := be.CreateRun(l.Token(), r, plan); err != nil {
			b.Fatal(err)
		}
		r.Status, r.Finished, r.Steps = engine.StatusSucceeded, r.Started.Add(time.Second), steps
		if _, err := be.WriteRun(r.ID, &record.Batch{Token: l.Token(), Run: r, Final: true}); err != nil {
			b.Fatal(err)
		}
		l.Release()
	}
	for b.Loop() {
		if pruned, err := be.Prune(record.Retention{KeepPerEnvironment: record.DefaultKeep}); err != nil || len(pruned.Deleted) != 0 {
			b.Fatalf("pruned %+v, %v", pruned, err)
		}
	}
}
