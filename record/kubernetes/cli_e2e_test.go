package kubernetes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/internal/testbin"
)

// The CLI against the kubernetes backend: real pipectl processes, each in
// a directory of its own (two CI runners, two clones), the std plugin as a
// real subprocess, one namespace of the sandbox as the backend.

var cli struct {
	once sync.Once
	dir  string
	err  error
}

// binaries builds pipectl and the std plugin once per test binary, into a
// fresh directory that TestMain removes.
func binaries(t testing.TB) string {
	t.Helper()
	cli.once.Do(func() {
		if cli.dir, cli.err = os.MkdirTemp("", "pipectl-kube-backend-e2e-"); cli.err != nil {
			return
		}
		for out, src := range map[string]string{"pipectl": "cmd/pipectl", "pipectl-plugin-std": "plugins/std"} {
			if cli.err = testbin.Build(filepath.Join(cli.dir, out), src); cli.err != nil {
				return
			}
		}
	})
	if cli.err != nil {
		t.Fatal(cli.err)
	}
	return cli.dir
}

// runner is one checkout of a pipeline on one CI runner.
type runner struct {
	t   testing.TB
	dir string
	env []string
	bin string
}

// newRunners writes the same pipeline into n directories, with a backend
// block naming the test's namespace, and runs pipectl init in each.
func newRunners(t testing.TB, env *sandboxtest.Env, n int, stages string) []*runner {
	t.Helper()
	return newRunnersLease(t, env, n, "5s", stages)
}

func newRunnersLease(t testing.TB, env *sandboxtest.Env, n int, lease, stages string) []*runner {
	t.Helper()
	return newRunnersOf(t, n, fmt.Sprintf(`pipeline "shop" {}
backend "kubernetes" {
  namespace      = %q
  kubeconfig     = %q
  lease_duration = %q
}
environment "prod" {}
%s`, env.Namespace, env.Kubeconfig, lease, stages))
}

// newRunnersOf writes the pipeline src into n directories and runs
// pipectl init in each.
func newRunnersOf(t testing.TB, n int, src string) []*runner {
	t.Helper()
	bin := binaries(t)
	var out []*runner
	for i := 0; i < n; i++ {
		r := &runner{t: t, dir: t.TempDir(), bin: bin,
			env: append(os.Environ(), "PIPECTL_PLUGIN_PATH="+bin, "NO_COLOR=1", fmt.Sprintf("PIPECTL_USER=runner-%d", i+1))}
		if err := os.WriteFile(filepath.Join(r.dir, "pipeline.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if o, e, code := r.run("init"); code != 0 {
			t.Fatalf("init: %d\n%s%s", code, o, e)
		}
		out = append(out, r)
	}
	return out
}

func (r *runner) command(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(r.bin, "pipectl"), args...)
	cmd.Dir, cmd.Env = r.dir, r.env
	return cmd
}

func (r *runner) run(args ...string) (stdout, stderr string, code int) {
	r.t.Helper()
	var out, errOut bytes.Buffer
	cmd := r.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// start runs pipectl in the background, its -json events on a channel.
func (r *runner) start(args ...string) (*exec.Cmd, <-chan map[string]any, *bytes.Buffer) {
	r.t.Helper()
	cmd := r.command(args...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	events := make(chan map[string]any, 1024)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				events <- e
			}
		}
	}()
	r.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, events, &errOut
}

// waitFor reads events until one matches, and returns it.
func waitFor(t *testing.T, events <-chan map[string]any, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(2 * time.Minute) // a bound on a hang only
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the apply ended before %s", what)
			}
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s", what)
		}
	}
}

func isStepStarted(step string) func(map[string]any) bool {
	return func(e map[string]any) bool { return e["type"] == "step_started" && e["step"] == step }
}

// runsJSON lists the runs as a runner sees them.
func (r *runner) runs() []map[string]any {
	r.t.Helper()
	out, errOut, code := r.run("runs", "-json")
	if code != 0 {
		r.t.Fatalf("runs -json: %d\n%s", code, errOut)
	}
	return parseRuns(out)
}

// parseRuns reads the runs of runs -json.
func parseRuns(out string) []map[string]any {
	var list []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["type"] == "run" {
			list = append(list, m)
		}
	}
	return list
}

func (r *runner) show(id string) map[string]any {
	r.t.Helper()
	out, errOut, code := r.run("runs", "show", id, "-json")
	if code != 0 {
		r.t.Fatalf("runs show %s: %d\n%s", id, code, errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["type"] == "run" {
			return m
		}
	}
	r.t.Fatalf("runs show %s -json printed no run:\n%s", id, out)
	return nil
}

// running is the id of the run another runner sees going on.
func (r *runner) running() string {
	r.t.Helper()
	for _, run := range r.runs() {
		if run["status"] == "running" {
			return fmt.Sprint(run["id"])
		}
	}
	r.t.Fatalf("runner %s sees no run going on: %v", r.dir, r.runs())
	return ""
}

const sleeper = `stage "deploy" {
  step "first" {
    action = std.noop
  }
  step "wait" {
    action     = std.sleep
    duration   = "6s"
    depends_on = [step.first]
  }
}
`

// Two runners on one environment: the second is refused while the first
// runs (its message names the first's run), waits for it with
// -lock-timeout, and both runs are in the one shared history, one after
// the other, never interleaved.
func TestCLITwoRunnersOneEnvironment(t *testing.T) {
	env := sandboxtest.Cluster(t)
	rs := newRunners(t, env, 2, sleeper)
	a, b := rs[0], rs[1]
	first, events, aErr := a.start("apply", "-env", "prod", "-auto-approve", "-json")
	waitFor(t, events, "step wait started", isStepStarted("wait"))
	time.Sleep(1500 * time.Millisecond) // past a journal write (at most one a second)
	runA := b.running()

	out, errOut, code := b.run("apply", "-env", "prod", "-auto-approve")
	if code == 0 || !strings.Contains(errOut, "another pipectl is applying") || !strings.Contains(errOut, runA) {
		t.Fatalf("the second runner was not refused by the Lease: %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = b.run("apply", "-env", "prod", "-auto-approve", "-lock-timeout", "2m")
	if code != 0 {
		t.Fatalf("the second runner, waiting: %d\n%s%s", code, out, errOut)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first runner: %v\n%s", err, aErr)
	}
	for _, r := range rs {
		list := r.runs()
		if len(list) != 2 {
			t.Fatalf("runner %s sees %d runs, want both: %v", r.dir, len(list), list)
		}
		newer, older := list[0], list[1]
		if newer["status"] != "succeeded" || older["status"] != "succeeded" {
			t.Errorf("statuses: %v, %v", newer["status"], older["status"])
		}
		olderEnd, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(older["finished"]))
		newerStart, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(newer["started"]))
		if newerStart.Before(olderEnd) {
			t.Errorf("the runs interleave: the second started %s, before the first finished %s", newerStart, olderEnd)
		}
	}
}

// A runner killed mid-run leaves its run recorded; another runner, in
// another directory, resumes it once the Lease has expired (watched
// unchanged for lease_duration): the takeover is recorded, the killed run
// reads as interrupted, the resumed run does not redo what succeeded.
func TestCLIKilledRunnerIsResumedByAnother(t *testing.T) {
	env := sandboxtest.Cluster(t)
	rs := newRunners(t, env, 2, strings.Replace(sleeper, `"6s"`, `"10m"`, 1))
	a, b := rs[0], rs[1]
	killed, events, _ := a.start("apply", "-env", "prod", "-auto-approve", "-json")
	waitFor(t, events, "step wait started", isStepStarted("wait"))
	time.Sleep(1500 * time.Millisecond) // past a journal write (at most one a second)
	run := b.running()
	_ = killed.Process.Signal(syscall.SIGKILL)
	_ = killed.Wait()

	if _, errOut, code := b.run("apply", "-env", "prod", "-auto-approve"); code == 0 || !strings.Contains(errOut, run) {
		t.Fatalf("a fresh apply while the killed run's Lease is held: %d\n%s", code, errOut)
	}
	// The resume waits to see the Lease unchanged for its duration, then
	// takes it over.
	resumed, revents, rErr := b.start("apply", "-auto-approve", "-json", "-resume", run)
	waitFor(t, revents, "the resumed run's step wait", isStepStarted("wait"))
	time.Sleep(1500 * time.Millisecond)
	again := map[string]any{"run": b.running()}
	if again["run"] == run {
		t.Errorf("the resume records under the killed run's id")
	}
	killedRun := b.show(run)
	if killedRun["status"] != "interrupted" {
		t.Errorf("the killed run reads as %v from the other runner, want interrupted", killedRun["status"])
	}
	if u, _ := killedRun["force_unlocked"].(map[string]any); u == nil || !strings.Contains(fmt.Sprint(u["reason"]), "taken over by run") {
		t.Errorf("the killed run's record does not say its lock was taken over: %v", killedRun["force_unlocked"])
	}
	_ = resumed.Process.Signal(os.Interrupt)
	_ = resumed.Wait()
	resumedRun := b.show(fmt.Sprint(again["run"]))
	if resumedRun["resumed_from"] != run {
		t.Errorf("the resumed run: resumed_from %v, want %s\n%s", resumedRun["resumed_from"], run, rErr)
	}
	steps, _ := resumedRun["steps"].([]any)
	for _, s := range steps {
		if st := s.(map[string]any); st["step"] == "first" && !strings.Contains(fmt.Sprint(st["message"]), "not run again") {
			t.Errorf("the resume ran step first again: %v", st)
		}
	}
	lease, err := testClientFor(t, env).coord.Leases(env.Namespace).Get(context.Background(), LockName("shop", "prod"), metav1.GetOptions{})
	if err != nil || !strings.Contains(lease.Annotations[annTakenFrom], run) {
		t.Errorf("the takeover is not recorded on the Lease: %v, %v", lease.Annotations, err)
	}
}

func testClientFor(t *testing.T, env *sandboxtest.Env) *Client {
	c, err := Connect(Config{Namespace: env.Namespace, Rest: env.Config})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every data value the backend wrote, decoded (base64 as the API returns
// it, gunzip, journal entries parsed and their parts reassembled), holds
// no form of a sensitive value: not in logs, outputs, events or plans.
func TestCLIStoresNoSecretInAnyForm(t *testing.T) {
	const secret = "S3cret&<tok>-41"
	env := sandboxtest.Cluster(t)
	rs := newRunners(t, env, 1, `variable "token" {
  type      = string
  sensitive = true
}
stage "deploy" {
  step "echo" {
    action = std.exec
    command = "sh"
    args    = ["-c", "echo token=$TOKEN; echo done"]
    env     = { TOKEN = var.token }
  }
}
`)
	r := rs[0]
	r.env = append(r.env, "PIPECTL_VAR_token="+secret)
	if out, errOut, code := r.run("apply", "-env", "prod", "-auto-approve"); code != 0 {
		t.Fatalf("apply: %d\n%s%s", code, out, errOut)
	}
	c := testClientFor(t, env)
	secrets, err := c.core.Secrets(env.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, s := range secrets.Items {
		for key, v := range s.Data {
			texts = append(texts, decodedForms(t, s.Name+"/"+key, v)...)
		}
		for k, v := range s.Annotations {
			texts = append(texts, k+"="+v)
		}
	}
	if len(texts) < 3 {
		t.Fatalf("only %d values decoded: the backend wrote nothing?", len(texts))
	}
	forms := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), `S3cret\u0026\u003ctok\u003e-41`}
	found := false
	for _, text := range texts {
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("the secret is stored as %q in:\n%.300s", f, text)
			}
		}
		found = found || strings.Contains(text, "token=") // the log line, redacted
	}
	if !found {
		t.Error("the step's log line is not in the record at all: the test looked in the wrong place")
	}
}

// decodedForms is a Secret value in every form a reader could decode it
// to: as stored (the client has already decoded the API's base64), its
// base64, gunzipped, and each journal entry with its bytes decoded.
func decodedForms(t *testing.T, name string, v []byte) []string {
	forms := []string{string(v), base64.StdEncoding.EncodeToString(v)}
	raw, err := gunzip(v)
	if err != nil {
		return forms
	}
	forms = append(forms, string(raw))
	if strings.HasSuffix(name, keyChunk) {
		var whole []byte
		_ = eachEntry(v, func(e Entry) error {
			forms = append(forms, string(e.JSON), string(e.Bytes))
			if e.Parts > 0 {
				whole = append(whole, e.Bytes...)
				if e.Part == e.Parts {
					forms = append(forms, string(whole))
					whole = nil
				}
			}
			return nil
		})
	}
	return forms
}

// sandboxctl runs the sandbox's own command on the test's sandbox.
func sandboxctl(t *testing.T, env *sandboxtest.Env, args ...string) {
	t.Helper()
	bin := os.Getenv("PIPECTL_SANDBOX_BIN")
	if bin == "" {
		bin = filepath.Join(testbin.Root(), "bin", "pipectl-sandbox")
	}
	args = append(args, "--dir", filepath.Dir(env.Kubeconfig))
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("pipectl-sandbox %v: %v\n%s", args, err, out)
	}
}

// outage freezes the sandbox's API server after a while, for d, and
// thaws it (also when the test fails meanwhile).
func outage(t *testing.T, env *sandboxtest.Env, after, d time.Duration) {
	t.Helper()
	time.Sleep(after)
	sandboxctl(t, env, "apiserver", "stop")
	thawed := false
	defer func() {
		if !thawed {
			sandboxctl(t, env, "apiserver", "start")
		}
	}()
	time.Sleep(d)
	sandboxctl(t, env, "apiserver", "start")
	thawed = true
}

// The API server taken away for 20 s in the middle of a step (frozen:
// requests hang, as in a partition) and brought back: the run goes on
// (its Lease of 60 s outlasts the outage), its writes wait and are written
// once the API server answers, and the record has every log line.
func TestCLIAPIServerOutageLosesNoRecord(t *testing.T) {
	env := sandboxtest.Cluster(t)
	r := newRunnersLease(t, env, 1, "60s", `stage "deploy" {
  step "talk" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "i=1; while [ $i -le 40 ]; do echo line $i; i=$((i+1)); sleep 1; done"]
  }
}
`)[0]
	apply, events, errOut := r.start("apply", "-env", "prod", "-auto-approve", "-json")
	waitFor(t, events, "step talk started", isStepStarted("talk"))
	outage(t, env, 3*time.Second, 20*time.Second)
	go func() {
		for range events { // keep the pipe drained
		}
	}()
	if err := apply.Wait(); err != nil {
		t.Fatalf("the apply across the outage: %v\n%s", err, errOut)
	}
	list := r.runs()
	if len(list) != 1 || list[0]["status"] != "succeeded" || list[0]["record_failed"] != nil {
		t.Fatalf("the run after the outage: %v", list)
	}
	out, stderr, code := r.run("runs", "logs", fmt.Sprint(list[0]["id"]))
	if code != 0 {
		t.Fatalf("runs logs: %d\n%s", code, stderr)
	}
	for i := 1; i <= 40; i++ {
		if !strings.Contains(out, fmt.Sprintf("line %d\n", i)) {
			t.Errorf("log line %d is missing from the record:\n%s", i, out)
			break
		}
	}
}

// runs migrate copies a local history into the cluster backend: the same
// runs, statuses and events, read through the same commands; running it
// again copies nothing. backend setup makes the namespace it needs.
func TestCLIMigrateLocalHistoryAndSetup(t *testing.T) {
	env := sandboxtest.Cluster(t)
	r := newRunners(t, env, 1, sleeper)[0]
	local := strings.Replace(readFile(t, filepath.Join(r.dir, "pipeline.hcl")), `backend "kubernetes"`, `backend "local" {}
locals`, 1)
	local = strings.Replace(local, `namespace      =`, `ns =`, 1)
	local = strings.Replace(local, `kubeconfig     =`, `kc =`, 1)
	local = strings.Replace(local, `lease_duration =`, `ld =`, 1)
	writeFile(t, filepath.Join(r.dir, "pipeline.hcl"), strings.Replace(local, `"6s"`, `"1s"`, 1))
	for i := 0; i < 2; i++ {
		if out, errOut, code := r.run("apply", "-env", "prod", "-auto-approve"); code != 0 {
			t.Fatalf("local apply: %d\n%s%s", code, out, errOut)
		}
	}
	localRuns := r.runs()
	target := env.Namespace + "-runs"
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Namespaces().Delete(context.Background(), target, metav1.DeleteOptions{})
	})
	cfg := []string{"-backend-config", "type=kubernetes", "-backend-config", "namespace=" + target, "-backend-config", "kubeconfig=" + env.Kubeconfig}
	out, errOut, code := r.run(append([]string{"backend", "setup"}, cfg...)...)
	if code != 0 || !strings.Contains(out, "created  namespace/"+target) || !strings.Contains(out, "role/pipectl-runner") {
		t.Fatalf("backend setup: %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = r.run(append([]string{"runs", "migrate"}, cfg...)...)
	if code != 0 || !strings.Contains(out, "2 run(s) copied") {
		t.Fatalf("runs migrate: %d\n%s%s", code, out, errOut)
	}
	out, _, _ = r.run(append([]string{"runs", "migrate"}, cfg...)...)
	if !strings.Contains(out, "0 run(s) copied") {
		t.Errorf("migrate again copied something:\n%s", out)
	}
	r.env = append(r.env, "PIPECTL_BACKEND_TYPE=kubernetes", "PIPECTL_BACKEND_NAMESPACE="+target, "PIPECTL_BACKEND_KUBECONFIG="+env.Kubeconfig)
	shared := r.runs()
	if len(shared) != len(localRuns) {
		t.Fatalf("%d runs in the cluster, %d local", len(shared), len(localRuns))
	}
	for i := range shared {
		if shared[i]["id"] != localRuns[i]["id"] || shared[i]["status"] != localRuns[i]["status"] || fmt.Sprint(shared[i]["steps"]) != fmt.Sprint(localRuns[i]["steps"]) {
			t.Errorf("run %d differs:\ncluster %v\nlocal   %v", i, shared[i], localRuns[i])
		}
	}
	id := fmt.Sprint(shared[0]["id"])
	report := filepath.Join(t.TempDir(), "report.html")
	if _, errOut, code := r.run("runs", "report", id, "-o", report); code != 0 || !strings.Contains(readFile(t, report), id) {
		t.Errorf("runs report from the cluster: %d\n%s", code, errOut)
	}
	if out, errOut, code := r.run("runs", "artifacts", id); code != 0 {
		t.Errorf("runs artifacts from the cluster: %d\n%s%s", code, out, errOut)
	}
	fromCluster, _, _ := r.run("runs", "show", id, "-json")
	r.env = r.env[:len(r.env)-3]
	fromLocal, _, _ := r.run("runs", "show", id, "-json")
	if stripTimes(fromCluster) != stripTimes(fromLocal) {
		t.Errorf("runs show differs between the backends:\ncluster:\n%s\nlocal:\n%s", fromCluster, fromLocal)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stripTimes drops the time of the messages runs show prints as it
// shows (the run and its plan), not the recorded events'.
func stripTimes(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			if t := m["type"]; t == "version" || t == "run" || t == "step_planned" {
				delete(m, "time")
			}
			b, _ := json.Marshal(m)
			line = string(b)
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// An outage longer than the Lease: the holder cannot renew before its
// deadline, so the run starts no further step, and once the API server is
// back its record says why (record_failed) and the run reads interrupted.
func TestCLIOutageLongerThanTheLeaseStopsTheRun(t *testing.T) {
	env := sandboxtest.Cluster(t)
	r := newRunnersLease(t, env, 1, "5s", `stage "deploy" {
  step "talk" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "i=1; while [ $i -le 30 ]; do echo line $i; i=$((i+1)); sleep 1; done"]
  }
  step "after" {
    action     = std.noop
    depends_on = [step.talk]
  }
}
`)[0]
	apply, events, errOut := r.start("apply", "-env", "prod", "-auto-approve", "-json")
	waitFor(t, events, "step talk started", isStepStarted("talk"))
	outage(t, env, 2*time.Second, 20*time.Second)
	var started []string
	for e := range events {
		if e["type"] == "step_started" {
			started = append(started, fmt.Sprint(e["step"]))
		}
	}
	if err := apply.Wait(); err == nil {
		t.Fatalf("the apply went on without its lock:\n%s", errOut)
	}
	if strings.Contains(strings.Join(started, " "), "after") {
		t.Errorf("a step started after the lock was lost: %v", started)
	}
	if !strings.Contains(errOut.String(), "lock") {
		t.Errorf("the apply does not say it lost its lock:\n%s", errOut)
	}
	list := r.runs()
	if len(list) != 1 || list[0]["status"] != "interrupted" || !strings.Contains(fmt.Sprint(list[0]["record_failed"]), "lock") {
		t.Errorf("the run's record does not say why it stopped: %v", list)
	}
}

// Across runners: a saved plan made on one is applied once, wherever it is
// applied from (the second apply, on another runner, is refused); and
// runs logs -f on one runner follows a run another runner applies, to its
// end, every line once.
func TestCLISavedPlanOnceAndFollowAcrossRunners(t *testing.T) {
	env := sandboxtest.Cluster(t)
	rs := newRunners(t, env, 2, `stage "deploy" {
  step "talk" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "i=1; while [ $i -le 5 ]; do echo line $i; i=$((i+1)); sleep 1; done"]
  }
}
`)
	a, b := rs[0], rs[1]
	plan := filepath.Join(t.TempDir(), "prod.plan")
	if out, errOut, code := a.run("plan", "-env", "prod", "-out", plan); code != 0 {
		t.Fatalf("plan: %d\n%s%s", code, out, errOut)
	}
	applying, events, aErr := a.start("apply", "-json", plan)
	waitFor(t, events, "step talk started", isStepStarted("talk"))
	time.Sleep(1500 * time.Millisecond)
	run := b.running()
	logs, _, code := b.run("runs", "logs", run, "-f")
	if code != 0 {
		t.Fatalf("runs logs -f from the other runner: %d", code)
	}
	for i := 1; i <= 5; i++ {
		if strings.Count(logs, fmt.Sprintf("line %d\n", i)) != 1 {
			t.Errorf("runs logs -f shows line %d %d times, want once:\n%s", i, strings.Count(logs, fmt.Sprintf("line %d\n", i)), logs)
		}
	}
	go func() {
		for range events {
		}
	}()
	if err := applying.Wait(); err != nil {
		t.Fatalf("apply PLAN: %v\n%s", err, aErr)
	}
	out, errOut, code := b.run("apply", plan)
	if code == 0 || !strings.Contains(out+errOut, "already applied") || !strings.Contains(out+errOut, run) {
		t.Errorf("the saved plan applied again from another runner: %d\n%s%s", code, out, errOut)
	}
}

// -only on one runner reads the outputs of the steps before its stage from
// the last successful run, which another runner applied.
func TestCLIOnlyReadsAnotherRunnersRun(t *testing.T) {
	env := sandboxtest.Cluster(t)
	rs := newRunners(t, env, 2, `stage "build" {
  step "version" {
    action  = std.exec
    command = "echo"
    args    = ["1.2.3"]
  }
}
stage "deploy" {
  depends_on = [stage.build]
  step "use" {
    action  = std.exec
    command = "echo"
    args    = ["deploying ${trimspace(step.version.stdout)}"]
  }
}
`)
	a, b := rs[0], rs[1]
	if out, errOut, code := a.run("apply", "-env", "prod", "-auto-approve"); code != 0 {
		t.Fatalf("the whole pipeline on runner A: %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := b.run("apply", "-env", "prod", "-auto-approve", "-only", "stage.deploy")
	if code != 0 {
		t.Fatalf("-only on runner B: %d\n%s%s", code, out, errOut)
	}
	run := b.runs()[0]
	logs, _, _ := b.run("runs", "logs", fmt.Sprint(run["id"]))
	if !strings.Contains(logs, "deploying 1.2.3") {
		t.Errorf("-only did not get runner A's output:\n%s\n%s", logs, out)
	}
}

// A run whose steps print 5.4 MB (six steps of 900 kB: each under the
// record's 1 MiB kept per step) is written as many chunks, each under the
// chunk limit, and another runner reads every step's log back whole,
// byte for byte.
func TestCLIBigLogIsChunkedAndReadBackWhole(t *testing.T) {
	const steps, lines = 6, 9000
	env := sandboxtest.Cluster(t)
	var src strings.Builder
	src.WriteString("stage \"deploy\" {\n")
	for i := 1; i <= steps; i++ {
		fmt.Fprintf(&src, "  step \"s%d\" {\n    action  = std.exec\n    command = \"seq\"\n    args    = [\"-f\", \"s%d line %%07g %s\", \"1\", \"%d\"]\n  }\n",
			i, i, strings.Repeat("x", 84), lines)
	}
	src.WriteString("}\n")
	rs := newRunners(t, env, 2, src.String())
	a, b := rs[0], rs[1]
	if out, errOut, code := a.run("apply", "-env", "prod", "-auto-approve"); code != 0 {
		t.Fatalf("apply: %d\n%s%s", code, out, errOut)
	}
	run := fmt.Sprint(b.runs()[0]["id"])
	total := 0
	for i := 1; i <= steps; i++ {
		var want strings.Builder
		for n := 1; n <= lines; n++ {
			fmt.Fprintf(&want, "s%d line %07d %s\n", i, n, strings.Repeat("x", 84))
		}
		total += want.Len()
		got, errOut, code := b.run("runs", "logs", run, fmt.Sprintf("s%d", i))
		if code != 0 {
			t.Fatalf("runs logs %s s%d on the other runner: %d\n%s", run, i, code, errOut)
		}
		if got != want.String() {
			t.Errorf("step s%d's log read back is %d bytes, want the %d printed, identical; %s", i, len(got), want.Len(), firstDifference(got, want.String()))
		}
	}
	if total < 5<<20 {
		t.Fatalf("the steps printed %d bytes, want over 5 MiB", total)
	}
	chunks, err := testClientFor(t, env).core.Secrets(env.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: labelKind + "=chunk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks.Items) < total/chunkMax {
		t.Errorf("%d chunks for %d bytes of log: not chunked under %d bytes", len(chunks.Items), total, chunkMax)
	}
	for _, s := range chunks.Items {
		if n := len(s.Data[keyChunk]); n > chunkMax {
			t.Errorf("chunk %s holds %d bytes, over %d", s.Name, n, chunkMax)
		}
	}
}

// force-unlock of a killed runner's lock, from another runner: refused
// without -reason; with one, the lock is free, and the break (who, why) is
// in the run's record both runners read and in the backend's log.
func TestCLIForceUnlockNeedsAReasonAndIsRecorded(t *testing.T) {
	env := sandboxtest.Cluster(t)
	rs := newRunners(t, env, 2, strings.Replace(sleeper, `"6s"`, `"10m"`, 1))
	a, b := rs[0], rs[1]
	killed, events, _ := a.start("apply", "-env", "prod", "-auto-approve", "-json")
	waitFor(t, events, "step wait started", isStepStarted("wait"))
	time.Sleep(1500 * time.Millisecond) // past a journal write (at most one a second)
	run := b.running()
	_ = killed.Process.Signal(syscall.SIGKILL)
	_ = killed.Wait()

	out, errOut, code := b.run("force-unlock", run, "-force")
	if code == 0 || !strings.Contains(errOut, "needs a reason") || !strings.Contains(errOut, "-reason") {
		t.Fatalf("force-unlock without -reason: %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = b.run("force-unlock", run, "-force", "-reason", "runner VM deleted")
	if code != 0 || !strings.Contains(out, "Unlocked environment \"prod\"") || !strings.Contains(out, "force-unlock-* Secrets of namespace "+env.Namespace) {
		t.Fatalf("force-unlock -reason: %d\n%s%s", code, out, errOut)
	}
	for _, r := range rs {
		u, _ := r.show(run)["force_unlocked"].(map[string]any)
		// By the cluster identity (runner-2's kubeconfig is the sandbox's
		// admin, as runner-1's, the holder's), not PIPECTL_USER=runner-2.
		holder, _ := u["holder"].(map[string]any)
		if u == nil || u["reason"] != "runner VM deleted" || holder["user"] == "" || !strings.HasPrefix(fmt.Sprint(u["by"]), fmt.Sprint(holder["user"])+"@") {
			t.Errorf("runner %s reads the break as %v, want by the cluster identity, reason recorded", r.dir, u)
		}
	}
	logged, err := testClientFor(t, env).core.Secrets(env.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: labelKind + "=force-unlock"})
	if err != nil || len(logged.Items) != 1 || !strings.Contains(string(logged.Items[0].Data["force-unlock.json"]), "runner VM deleted") {
		t.Errorf("the backend's log of force-unlocks: %v, %v", logged, err)
	}
	if out, errOut, code := a.run("apply", "-env", "prod", "-auto-approve", "-target", "step.first"); code != 0 {
		t.Errorf("an apply after the force-unlock: %d\n%s%s", code, out, errOut)
	}
}

// firstDifference says where two texts part, by line.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d is %.60q, want %.60q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

// A prod gate under four eyes, on the cluster's identities (never the
// admin's, which passes every authorizer check): the run is started by
// deployer, a CI identity with the runner Role; alice, in the group the
// approvers name and that RBAC lets approve prod, releases it from
// another runner. Before that, the API server refuses a PIPECTL_USER
// spoofed as alice, mallory who may not approve, and a vote written by
// hand naming someone else; the runner refuses deployer's own approval
// and records it; votes cannot be changed. With the policy deleted,
// approvals are refused with the setup message.
func TestCLIApprovalsAreTheClusters(t *testing.T) {
	env := sandboxtest.Cluster(t)
	setUpVotes(t, env)
	ctx := context.Background()
	approver(t, env, "deployer", "prod")
	bindUser(t, env, "deployer", "pipectl-runner")
	// Release managers approve through setup's Roles, bound to their group.
	for _, role := range []string{"pipectl-approver", "pipectl-approve"} {
		b := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role + "-release-managers"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "release-managers"}}}
		if _, err := env.Client.RbacV1().RoleBindings(env.Namespace).Create(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, aliceCfg := env.User(t, "alice", "release-managers")
	waitAllowed(t, aliceCfg, env.Namespace, "approve", "pipectl.dev", "approvals", "prod")
	mallory, _ := env.User(t, "mallory", "developers")
	bindUser(t, env, "mallory", "pipectl-approver")
	kubeconfigs := map[string]string{}
	for _, u := range []string{"deployer", "alice"} {
		kubeconfigs[u], _ = env.User(t, u, map[string][]string{"alice": {"release-managers"}}[u]...)
	}
	kubeconfigs["mallory"] = mallory

	bin := binaries(t)
	src := fmt.Sprintf(`pipeline "shop" {}
backend "kubernetes" {
  namespace = %q
}
environment "prod" {}
stage "deploy" {
  approval {
    approvers           = ["group:release-managers", "deployer"]
    allow_self_approval = false
  }
  step "release" {
    action = std.noop
  }
}
`, env.Namespace)
	as := func(user string, extra ...string) *runner {
		r := &runner{t: t, dir: t.TempDir(), bin: bin, env: append(os.Environ(), "PIPECTL_PLUGIN_PATH="+bin, "NO_COLOR=1",
			"KUBECONFIG="+kubeconfigs[user], "PIPECTL_USER=", "GITHUB_ACTOR=")}
		r.env = append(r.env, extra...)
		if err := os.WriteFile(filepath.Join(r.dir, "pipeline.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if o, e, code := r.run("init"); code != 0 {
			t.Fatalf("init: %d\n%s%s", code, o, e)
		}
		return r
	}
	// The CI job says a human triggered it: recorded, unverified.
	// PIPECTL_USER names no one on the cluster: the Lease names deployer.
	ci := as("deployer", "GITHUB_ACTOR=carol", "PIPECTL_USER=alice")
	apply, events, aErr := ci.start("apply", "-env", "prod", "-auto-approve", "-json")
	waitFor(t, events, "the gate waiting", func(e map[string]any) bool { return e["type"] == "gate_waiting" })
	time.Sleep(1500 * time.Millisecond) // past a journal write (at most one a second)
	run := ci.running()
	if l, err := env.Client.CoordinationV1().Leases(env.Namespace).Get(ctx, LockName("shop", "prod"), metav1.GetOptions{}); err != nil || l.Annotations[annUser] != "deployer" {
		t.Errorf("the environment's Lease names %q as its holder's user (%v), want the runner's cluster identity deployer", l.Annotations[annUser], err)
	}

	refused := func(r *runner, why ...string) {
		t.Helper()
		out, errOut, code := r.run("approve", run, "-yes", "-reason", "CHG-7")
		if code == 0 {
			t.Fatalf("approved: %s", out)
		}
		for _, w := range why {
			if !strings.Contains(out+errOut, w) {
				t.Errorf("the refusal does not say %q:\n%s%s", w, out, errOut)
			}
		}
	}
	// By the API server: the policy, and RBAC.
	refused(as("mallory", "PIPECTL_USER=alice"), "the API server refused alice's vote", "this one names alice and is written by mallory")
	refused(as("mallory"), "the API server refused mallory's vote", "mallory may not approve prod in namespace "+env.Namespace, "approvals.pipectl.dev")
	aliceClient, err := kubernetes.NewForConfig(aliceCfg)
	if err != nil {
		t.Fatal(err)
	}
	forged := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "forged", Labels: map[string]string{labelManaged: managedBy, labelKind: kindVote, labelRun: labelValue(run)}},
		Data: map[string]string{voteRun: run, voteEnvironment: "prod", voteApprover: "bob", voteAnswer: `{"gate":"stage.deploy","approve":true,"user":"bob"}`}}
	if _, err := aliceClient.CoreV1().ConfigMaps(env.Namespace).Create(ctx, forged, metav1.CreateOptions{}); err == nil ||
		!strings.Contains(err.Error(), "this one names bob and is written by alice") {
		t.Errorf("a vote by alice naming bob: %v, want refused by the API server", err)
	}
	forged.Data[voteGroups] = "release-managers,system:masters"
	forged.Data[voteApprover] = "alice"
	if _, err := aliceClient.CoreV1().ConfigMaps(env.Namespace).Create(ctx, forged, metav1.CreateOptions{}); err == nil ||
		!strings.Contains(err.Error(), "a vote names only groups of who writes it") {
		t.Errorf("a vote by alice naming a group of others: %v, want refused by the API server", err)
	}
	// By the runner: four eyes, on deployer's authenticated identity and
	// on the CI job's actor; both recorded.
	refused(as("deployer"), "deployer started this run and cannot approve it", "recorded as refused")
	// The CI job's actor too (carol, given the right to approve here).
	kubeconfigs["carol"], _ = env.User(t, "carol", "release-managers")
	refused(as("carol"), "carol started this run (the CI job that started it as deployer names carol as its actor)", "recorded as refused")
	// Alice, from another runner, releases it.
	out, errOut, code := as("alice", "PIPECTL_USER=alice").run("approve", run, "-yes", "-reason", "CHG-7")
	if code != 0 || !strings.Contains(out, "Approved stage.deploy") {
		t.Fatalf("alice's approval: %d\n%s%s", code, out, errOut)
	}
	go func() {
		for range events {
		}
	}()
	if err := apply.Wait(); err != nil {
		t.Fatalf("the approved apply: %v\n%s", err, aErr)
	}
	shown, errOut, code := ci.run("runs", "show", run)
	if code != 0 || !strings.Contains(shown, "alice") || !strings.Contains(shown, "deployer started this run and cannot approve it") {
		t.Errorf("the record lacks alice's approval or deployer's refusal: %d\n%s%s", code, shown, errOut)
	}
	rec := ci.show(run)
	if rec["status"] != "succeeded" || rec["started_by"] != "deployer" || rec["started_by_actor"] != "carol" {
		t.Errorf("the run: %v started by %v for %v; want succeeded, started by deployer for carol", rec["status"], rec["started_by"], rec["started_by_actor"])
	}
	// Votes are immutable, even for the admin; an approver cannot delete one.
	votes, err := env.Client.CoreV1().ConfigMaps(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelKind + "=" + kindVote + "," + labelRun + "=" + labelValue(run)})
	if err != nil || len(votes.Items) != 3 {
		t.Fatalf("votes: %v, %v; want deployer's, carol's and alice's", votes, err)
	}
	v := votes.Items[0]
	v.Data[voteApprover] = "someone"
	if _, err := env.Client.CoreV1().ConfigMaps(env.Namespace).Update(ctx, &v, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "pipectl votes are immutable") {
		t.Errorf("the admin changed a vote: %v", err)
	}
	if err := aliceClient.CoreV1().ConfigMaps(env.Namespace).Delete(ctx, v.Name, metav1.DeleteOptions{}); err == nil {
		t.Errorf("alice deleted a vote")
	}

	// The policy deleted: the API server would admit anything; pipectl
	// refuses approvals, and the waiting runner does not count votes.
	t.Cleanup(func() { setUpVotes(t, env) }) // should the test stop with the policy deleted
	apply2, events2, _ := ci.start("apply", "-env", "prod", "-auto-approve", "-json")
	waitFor(t, events2, "the gate waiting", func(e map[string]any) bool { return e["type"] == "gate_waiting" })
	time.Sleep(1500 * time.Millisecond)
	run = ci.running()
	if err := env.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, PolicyName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	refused(as("alice"), "backend not set up: run pipectl backend setup")
	waitFor(t, events2, "the runner saying so", func(e map[string]any) bool {
		return e["type"] == "gate_waiting" && strings.Contains(fmt.Sprint(e["message"]), "backend not set up: run pipectl backend setup")
	})
	// Meanwhile the API server admits a vote mallory writes naming alice;
	// once setup runs again, the runner does not count it: it was written
	// before the policy was back.
	malloryCfg, err := clientcmd.BuildConfigFromFlags("", mallory)
	if err != nil {
		t.Fatal(err)
	}
	malloryClient, err := kubernetes.NewForConfig(malloryCfg)
	if err != nil {
		t.Fatal(err)
	}
	forged = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "forged-unguarded", Labels: map[string]string{labelManaged: managedBy, labelKind: kindVote, labelRun: labelValue(run)}},
		Data: map[string]string{voteRun: run, voteEnvironment: "prod", voteApprover: "alice", voteGroups: "release-managers",
			voteAnswer: `{"gate":"stage.deploy","approve":true,"user":"alice","groups":["release-managers"]}`}}
	// (The API server stops enforcing a deleted policy a moment later.)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err := malloryClient.CoreV1().ConfigMaps(env.Namespace).Create(ctx, forged, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("without the policy, the API server still refuses mallory's forged vote (so nothing here shows the runner distrusts it): %v", err)
		}
	}
	setUpVotes(t, env)
	time.Sleep(3 * time.Second) // the waiting runner reads the votes again, every second
	if st := ci.show(run); st["status"] != "running" {
		t.Fatalf("the forged vote released the run: %v", st["status"])
	}
	if out, errOut, code := as("alice").run("approve", run, "-yes", "-reason", "CHG-8"); code != 0 {
		t.Fatalf("alice's approval once set up again: %d\n%s%s", code, out, errOut)
	}
	go func() {
		for range events2 {
		}
	}()
	if err := apply2.Wait(); err != nil {
		t.Fatalf("the second apply, approved by alice: %v", err)
	}
	if st := ci.show(run); st["status"] != "succeeded" {
		t.Errorf("the second run: %v", st["status"])
	}
}
