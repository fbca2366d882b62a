package flagship

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// The Secrets the pipeline's secrets_check requires (local.secret_list).
var platformSecrets = []string{"alpha-members-db", "alpha-members-jwt", "alpha-members-smtp"}

// flagship is one test's copy of the pipeline, pointed at its namespace of
// the shared sandbox.
type flagship struct {
	t       *testing.T
	env     *sandboxtest.Env
	dir     string            // the copy of pipelines/
	vars    map[string]string // -var NAME=VALUE for every command
	envName string            // dev, staging or prod
}

// newFlagship copies pipelines/ (the pipeline and its chart) into a fresh
// directory, so that each test has its own run records and work files,
// provides what the platform team provides (the Secrets, unless the test
// leaves some out) and runs pipectl init.
func newFlagship(t *testing.T, envName string, opts ...func(*setup)) *flagship {
	t.Helper()
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("flagship: %s; in CI it is required", missing)
		}
		t.Skipf("SKIPPED, NOT PASSED — %s", missing)
	}
	var env *sandboxtest.Env
	shareTheNode(t, envName, func() *sandboxtest.Env { return env })
	env = cluster(t)
	s := setup{secrets: platformSecrets}
	for _, o := range opts {
		o(&s)
	}
	f := &flagship{t: t, env: env, dir: filepath.Join(t.TempDir(), "pipelines"), envName: envName}
	copyDir(t, filepath.Join(root(), "pipelines"), f.dir)
	createSecrets(t, env, s.secrets)
	f.vars = map[string]string{
		"image_tag":           "1.0.0",
		"image_repository":    env.Registry + "/alpha-members",
		"kubeconfig":          env.Kubeconfig,
		"registry_plain_http": "true",
		"trivy_db_repository": env.Registry + "/trivy-db:2",
		"service_ip":          nextServiceIP(t),
		"namespace":           env.Namespace,
		"monitor_window":      "3s",
	}
	if out, errOut, code := f.pipectl("init"); code != 0 {
		t.Fatalf("pipectl init: exit %d\n%s%s", code, out, errOut)
	}
	return f
}

// serviceIPs counts the ClusterIPs handed out: each test's release pins
// its own (service_ip), and the pipeline's checks reach its pods through it,
// from this machine, by kube-proxy's rules: the way make demo does.
var serviceIPs atomic.Int32

func nextServiceIP(t *testing.T) string {
	n := serviceIPs.Add(1)
	if n > 150 {
		t.Fatal("more than 150 flagship tests: widen nextServiceIP's band")
	}
	return fmt.Sprintf("10.96.0.%d", 100+n) // the Service range's static band
}

// theNode is the real node's CPU, shared by the tests' releases, which run
// side by side (t.Parallel; TestMain raises go test's -parallel, since they
// mostly wait on the cluster): each test holds, until its pods are gone,
// the CPU its environment's pods request, a rollout's surge pod included,
// so that no release of one test is left Unschedulable by another's. prod
// asks 3 pods of 500m: it has the node to itself.
var theNode = newShare(nodeShare)

// nodeShare is what the tests may request of the node together (in
// millicores): less than its 2 cores, for what the other modules of make
// test run on the same node meanwhile.
const nodeShare = 1500

// envCPU is an environment's pods' CPU (millicores): the replicas and one
// surge pod of its rolling update, at its request (pipelines/alpha-members.hcl).
var envCPU = map[string]int{"dev": 2 * 100, "staging": 3 * 250, "prod": nodeShare}

// shareTheNode takes the test's share until its pods are gone: the
// clean-up runs after the test's namespace is deleted (registered first,
// it runs last).
func shareTheNode(t *testing.T, envName string, env func() *sandboxtest.Env) {
	cpu, ok := envCPU[envName]
	if !ok {
		t.Fatalf("shareTheNode: no CPU known for environment %q", envName)
	}
	theNode.acquire(cpu)
	t.Cleanup(func() {
		defer theNode.release(cpu)
		if e := env(); e != nil {
			podsGone(t, e)
		}
	})
}

// share is a counting semaphore of weighted holds, first come first served
// (a big hold waits for the room it needs; the holds after it wait behind it,
// so prod is not starved by a stream of dev tests).
type share struct {
	mu    sync.Mutex
	free  int
	queue []chan struct{} // waiters, in order; each woken when it is first and fits
	sizes []int
}

func newShare(capacity int) *share { return &share{free: capacity} }

func (s *share) acquire(n int) {
	s.mu.Lock()
	if len(s.queue) == 0 && n <= s.free {
		s.free -= n
		s.mu.Unlock()
		return
	}
	ready := make(chan struct{})
	s.queue, s.sizes = append(s.queue, ready), append(s.sizes, n)
	s.mu.Unlock()
	<-ready
}

func (s *share) release(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free += n
	for len(s.queue) > 0 && s.sizes[0] <= s.free {
		s.free -= s.sizes[0]
		close(s.queue[0])
		s.queue, s.sizes = s.queue[1:], s.sizes[1:]
	}
}

// podsGone waits (a minute at most) until the test's namespace holds no pod.
func podsGone(t *testing.T, env *sandboxtest.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		pods, err := env.Client.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{})
		if err == nil && len(pods.Items) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("the pods of %s were not gone within a minute", env.Namespace)
}

// setup is what a test changes in what the platform provides.
type setup struct{ secrets []string }

// withSecrets provides only these Secrets.
func withSecrets(names ...string) func(*setup) { return func(s *setup) { s.secrets = names } }

// pipectl runs the real pipectl in the pipeline's directory.
func (f *flagship) pipectl(args ...string) (stdout, stderr string, code int) {
	f.t.Helper()
	cmd := f.command(args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code = exitCode(f.t, cmd.Run(), &out, &errOut)
	return out.String(), errOut.String(), code
}

func (f *flagship) command(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bins, "pipectl"), args...)
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), "PIPECTL_PLUGIN_PATH="+bins, "NO_COLOR=1", "PATH="+bins+":"+os.Getenv("PATH"))
	return cmd
}

func exitCode(t *testing.T, err error, out, errOut *bytes.Buffer) int {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		t.Fatalf("running pipectl: %v\n%s%s", err, out, errOut)
	}
	return 0
}

// args are the -env and -var flags of every plan and apply.
func (f *flagship) args() []string {
	args := []string{"-env", f.envName}
	names := make([]string, 0, len(f.vars))
	for name := range f.vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "-var", name+"="+f.vars[name])
	}
	return args
}

// run is a finished apply or plan: its exit code and -json messages.
type run struct {
	code     int
	messages []message
	stderr   string
}

// message is one -json line (docs/json-events.md), the fields the tests read.
type message struct {
	Type        string         `json:"type"`
	Time        time.Time      `json:"time"`
	Phase       string         `json:"phase"`
	Stage       string         `json:"stage"`
	Step        string         `json:"step"`
	Instance    string         `json:"instance"`
	Status      string         `json:"status"`
	Message     string         `json:"message"`
	Artifact    string         `json:"artifact"`
	Gate        string         `json:"gate"`
	ID          string         `json:"id"`
	Outputs     map[string]any `json:"outputs"`
	RunID       string         `json:"run_id"`
	Counts      map[string]int `json:"counts"`
	HasChanges  bool           `json:"has_changes"`
	Summary     string         `json:"summary"`
	Instances   []instance     `json:"instances"`
	Diagnostics []diagnostic   `json:"diagnostics"`
	Diagnostic  diagnostic     `json:"diagnostic"`
}

type diagnostic struct {
	Summary string `json:"summary"`
	Detail  string `json:"detail"`
}

type instance struct {
	Key     string `json:"key"`
	Kind    string `json:"kind"`
	Summary string `json:"summary"`
}

// apply runs `pipectl apply -auto-approve -json` and waits for it; each
// message is also given to watch (when not nil) as it arrives.
func (f *flagship) apply(watch func(message)) *run {
	f.t.Helper()
	args := append([]string{"apply", "-auto-approve", "-json"}, f.args()...)
	return f.stream(watch, args...)
}

// onlyRun is the id of the one run of the test's pipeline (pipectl runs).
func (f *flagship) onlyRun() string {
	f.t.Helper()
	out, errOut, code := f.pipectl("runs", "-json")
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m message
		if json.Unmarshal([]byte(line), &m) == nil && m.Type == "run" {
			ids = append(ids, m.ID)
		}
	}
	if code != 0 || len(ids) != 1 {
		f.t.Fatalf("pipectl runs: exit %d, runs %v\n%s", code, ids, errOut)
	}
	return ids[0]
}

// plan runs `pipectl plan -json`.
func (f *flagship) plan() *run {
	f.t.Helper()
	return f.stream(nil, append([]string{"plan", "-json"}, f.args()...)...)
}

func (f *flagship) stream(watch func(message), args ...string) *run {
	f.t.Helper()
	cmd := f.command(args...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	r := &run{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			f.t.Errorf("not a JSON message: %q", sc.Text())
			continue
		}
		r.messages = append(r.messages, m)
		if watch != nil {
			watch(m)
		}
	}
	io.Copy(io.Discard, stdout)
	r.code = exitCode(f.t, cmd.Wait(), &bytes.Buffer{}, &errOut)
	r.stderr = errOut.String()
	return r
}

// finished is the step_finished message of a step (the instance's, for a
// for_each step), or a failure of the test when there is none.
func (r *run) finished(t *testing.T, step string, inst ...string) message {
	t.Helper()
	for _, m := range r.messages {
		if m.Type == "step_finished" && m.Step == step && (len(inst) == 0 || m.Instance == inst[0]) {
			return m
		}
	}
	t.Fatalf("step %s %v never finished; the run:\n%s", step, inst, r)
	return message{}
}

// ran says whether a step started at all.
func (r *run) ran(step string) bool {
	return slices.ContainsFunc(r.messages, func(m message) bool { return m.Type == "step_started" && m.Step == step })
}

// last is the run's final message (run_finished, or plan).
func (r *run) last() message {
	if len(r.messages) == 0 {
		return message{}
	}
	return r.messages[len(r.messages)-1]
}

// statuses maps each finished step (step or step[key]) to its status.
func (r *run) statuses() map[string]string {
	s := map[string]string{}
	for _, m := range r.messages {
		if m.Type == "step_finished" {
			name := m.Step
			if m.Instance != "" {
				name += "[" + m.Instance + "]"
			}
			s[name] = m.Status
		}
	}
	return s
}

// artifacts lists the artifacts the run's steps attached, as step/name.
func (r *run) artifacts() []string {
	var names []string
	for _, m := range r.messages {
		if m.Type == "step_artifact" {
			names = append(names, m.Step+"/"+m.Artifact)
		}
	}
	return names
}

// String is what a failing test shows: each step's outcome, and why.
func (r *run) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exit %d\n", r.code)
	for _, m := range r.messages {
		switch m.Type {
		case "step_finished", "run_finished":
			fmt.Fprintf(&b, "  %s %s%s %s %s\n", m.Type, m.Step, bracket(m.Instance), m.Status, firstLines(m.Message, 6))
		case "diagnostic":
			fmt.Fprintf(&b, "  diagnostic: %s: %s\n", m.Diagnostic.Summary, firstLines(m.Diagnostic.Detail, 6))
		}
	}
	if r.stderr != "" {
		fmt.Fprintf(&b, "stderr:\n%s", r.stderr)
	}
	return b.String()
}

func bracket(s string) string {
	if s == "" {
		return ""
	}
	return "[" + s + "]"
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n      ")
}

// requireSucceeded fails the test unless every step that ran succeeded.
func requireSucceeded(t *testing.T, r *run) {
	t.Helper()
	if r.code != 0 || r.last().Type != "run_finished" || r.last().Status != "succeeded" {
		t.Fatalf("the run did not succeed:\n%s", r)
	}
}

// requireFailedAt fails the test unless the run failed and step (in stage)
// failed with a message that holds every one of want.
func requireFailedAt(t *testing.T, r *run, stage, step string, want ...string) message {
	t.Helper()
	if r.code == 0 || r.last().Status != "failed" {
		t.Fatalf("the run did not fail:\n%s", r)
	}
	m := r.finished(t, step)
	if m.Status != "failed" || m.Stage != stage {
		t.Fatalf("step %s: status %s in stage %s, want failed in %s:\n%s", step, m.Status, m.Stage, stage, r)
	}
	for _, w := range want {
		if !strings.Contains(m.Message, w) {
			t.Errorf("step %s failed with %q, which does not say %q", step, m.Message, w)
		}
	}
	return m
}

// ---------------------------------------------------------------- cluster

var clusterOnce sync.Once
var clusterErr error

// cluster is sandboxtest.Cluster, plus what the platform team installs once
// for the whole cluster: the PrometheusRule CRD and the trivy DB mirror.
func cluster(t *testing.T) *sandboxtest.Env {
	t.Helper()
	env := sandboxtest.Cluster(t)
	clusterOnce.Do(func() { clusterErr = prepareCluster(env) })
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return env
}

func prepareCluster(env *sandboxtest.Env) error {
	out, err := exec.Command(filepath.Join(bins, "trivy-dbfixture"), "-push", env.Registry+"/trivy-db:2").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pushing the trivy DB fixture: %v\n%s", err, out)
	}
	crd, err := readObject(filepath.Join(root(), "pipelines", "cluster", "prometheusrules.crd.yaml"))
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		return err
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the PrometheusRule CRD: %w", err)
	}
	// Established: the API server serves the kind.
	for ctx.Err() == nil {
		if _, err := dyn.Resource(prometheusRules).Namespace("default").List(ctx, metav1.ListOptions{}); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the PrometheusRule CRD was not served within a minute")
}

var prometheusRules = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}

func readObject(path string) (*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// createSecrets creates the platform's Secrets in the test's namespace.
func createSecrets(t *testing.T, env *sandboxtest.Env, names []string) {
	t.Helper()
	for _, name := range names {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"value": "e2e-" + name}}
		if _, err := env.Client.CoreV1().Secrets(env.Namespace).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// release is the Helm release as Helm stores it in the cluster: one Secret
// per revision (owner=helm), labelled with its version and status.
type revision struct {
	Number int
	Status string
}

func releaseHistory(t *testing.T, env *sandboxtest.Env, name string) []revision {
	t.Helper()
	list, err := env.Client.CoreV1().Secrets(env.Namespace).List(context.Background(),
		metav1.ListOptions{LabelSelector: "owner=helm,name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	var revs []revision
	for _, s := range list.Items {
		var n int
		fmt.Sscan(s.Labels["version"], &n)
		revs = append(revs, revision{Number: n, Status: s.Labels["status"]})
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Number < revs[j].Number })
	return revs
}

// readyPods counts the release's pods that are Running and Ready.
func readyPods(t *testing.T, env *sandboxtest.Env) []corev1.Pod {
	t.Helper()
	pods, err := env.Client.CoreV1().Pods(env.Namespace).List(context.Background(),
		metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=alpha-members"})
	if err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = append(ready, p)
			}
		}
	}
	return ready
}

// ---------------------------------------------------------------- webhook

// receiver is a local webhook endpoint that keeps what it is sent.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bodies)
}

// ---------------------------------------------------------------- files

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() && d.Name() == ".pipectl" {
			return filepath.SkipDir // a demo's run records and caches
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if strings.HasPrefix(d.Name(), ".pipectl") {
			return nil // a lock file of the demo's binaries
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// appendFile adds text to a file of the test's copy of pipelines/.
func (f *flagship) appendFile(rel, text string) {
	f.t.Helper()
	file, err := os.OpenFile(filepath.Join(f.dir, rel), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteString(text); err != nil {
		f.t.Fatal(err)
	}
}
