// Package sandboxtest gives a test package a real Kubernetes API server:
// the project's sandbox (bin/pipectl-sandbox, see docs/sandbox.md), started
// once per test binary and shared, with a fresh namespace for each test.
//
//	func TestMain(m *testing.M) { sandboxtest.Main(m) }
//
//	func TestDeploy(t *testing.T) {
//		env := sandboxtest.Cluster(t)
//		// env.Kubeconfig, env.Namespace, env.Client, env.Image("1.0.0") ...
//	}
//
// When the binary is missing (not built with `make sandbox`) the tests
// that need it are skipped with a loud message, except in CI (CI=true),
// where a missing sandbox fails them. A sandbox that fails to start always
// fails them.
//
// The machine has one real node: when $PIPECTL_SANDBOX_SHARED names the
// state directory of a running sandbox with a real node (make test starts
// one for all its modules), the test binaries that ask for a real node
// attach to it, each test in a namespace of its own, instead of starting
// their own and taking turns; they leave it running.
package sandboxtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Env is one test's share of the sandbox.
type Env struct {
	Kubeconfig string   // admin kubeconfig of the sandbox
	Server     string   // https://127.0.0.1:PORT
	Namespace  string   // created for this test, deleted after it
	Registry   string   // host:port of the sandbox's OCI registry (plain HTTP)
	Nodes      []string // kwok's fake nodes
	// RealNode is the node that runs real containers (Options.RealNode);
	// "" on a kwok-only sandbox.
	RealNode string
	Config   *rest.Config
	Client   kubernetes.Interface
}

// User is a kubeconfig of the sandbox for user name in groups (a client
// certificate its CA signs: `pipectl-sandbox user`), and its client
// configuration. RBAC grants it nothing until a binding names it.
func (e *Env) User(t testing.TB, name string, groups ...string) (string, *rest.Config) {
	t.Helper()
	args := []string{"user", name, "--dir", shared.st.Dir}
	for _, g := range groups {
		args = append(args, "--group", g)
	}
	out, err := exec.Command(shared.bin, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("pipectl-sandbox %v: %v\n%s", args, err, stderr)
	}
	path := strings.TrimSpace(string(out))
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

// Image is the reference of a demo image in the sandbox registry, e.g.
// Image("1.0.0") or Image("1.0.1-vuln") (see docs/sandbox.md).
func (e *Env) Image(tag string) string {
	return e.Registry + "/alpha-members:" + tag
}

// Options size the sandbox's fake nodes and ask for a real one.
type Options struct {
	Nodes      int    // default 1
	NodeCPU    string // allocatable CPU per node, default "4"
	NodeMemory string // allocatable memory per node, default "8Gi"
	// RealNode asks for a node that runs real containers (kubelet and
	// containerd; Linux and root, one per machine). The fake nodes are then
	// tainted (pods that must land there tolerate FakeNodeToleration).
	// Where it cannot run (not Linux, not root, not built), the tests are
	// skipped loudly, and fail in CI (CI=true); they never fall back to
	// kwok's simulated pods.
	RealNode bool
}

// FakeNodeToleration lets a pod onto kwok's fake nodes when a real node
// is up (they are tainted NoSchedule then).
var FakeNodeToleration = corev1.Toleration{Key: "pipectl.dev/fake-node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}

// state is the part of the sandbox's state.json this package reads. The
// sandbox module is not imported: it would bring k8s.io/kubernetes along.
type state struct {
	Dir        string   `json:"dir"`
	Kubeconfig string   `json:"kubeconfig"`
	Server     string   `json:"server"`
	Registry   string   `json:"registry"`
	Nodes      []string `json:"nodes"`
	RealNode   string   `json:"realNode"`
}

var shared struct {
	inMain   bool
	attached bool // to the shared sandbox: not ours to stop
	opts     Options
	once     sync.Once
	bin      string
	missing  string // why the binary is unavailable, if it is
	st       *state
	config   *rest.Config
	client   kubernetes.Interface
	err      error
}

// Main runs the package's tests, then stops the sandbox if a test started
// it. Call it from TestMain.
func Main(m *testing.M) { MainWith(m, Options{}) }

// MainWith is Main with fake nodes sized by o.
func MainWith(m *testing.M, o Options) { os.Exit(RunWith(m, o)) }

// RunWith is MainWith without the exit: it returns m.Run's exit code, for a
// TestMain that has clean-ups of its own to run after the sandbox stops.
func RunWith(m *testing.M, o Options) int {
	shared.inMain, shared.opts = true, o
	code := m.Run()
	stop()
	return code
}

// Cluster returns the running sandbox, starting it on first use, and a
// namespace of the test's own.
func Cluster(t testing.TB) *Env {
	t.Helper()
	if !shared.inMain {
		t.Fatal("sandboxtest.Cluster: the package's TestMain must call sandboxtest.Main(m)")
	}
	shared.once.Do(start)
	if shared.missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sandboxtest: %s; in CI the sandbox is required", shared.missing)
		}
		t.Skipf("SKIPPED, NOT PASSED — no Kubernetes sandbox: %s", shared.missing)
	}
	if shared.err != nil {
		t.Fatalf("sandboxtest: %v", shared.err)
	}
	ns := createNamespace(t)
	st := shared.st
	return &Env{Kubeconfig: st.Kubeconfig, Server: st.Server, Namespace: ns, Registry: st.Registry,
		Nodes: st.Nodes, RealNode: st.RealNode, Config: rest.CopyConfig(shared.config), Client: shared.client}
}

// start brings the shared sandbox up in a temporary directory. The sandbox
// watches this process (--watch-pid) and stops itself should the test
// binary die without reaching stop.
func start() {
	shared.bin, shared.missing = binary()
	if shared.missing != "" {
		fmt.Fprintf(os.Stderr, "\n*** sandboxtest: %s — tests that need Kubernetes are SKIPPED ***\n\n", shared.missing)
		return
	}
	if dir := os.Getenv("PIPECTL_SANDBOX_SHARED"); dir != "" && shared.opts.RealNode {
		if st, err := load(dir); err == nil && st.RealNode != "" {
			shared.attached = true
			connect(st)
			return
		}
		fmt.Fprintf(os.Stderr, "sandboxtest: PIPECTL_SANDBOX_SHARED=%s holds no sandbox with a real node: starting one\n", dir)
	}
	dir, err := os.MkdirTemp("", "pipectl-sandboxtest-")
	if err != nil {
		shared.err = err
		return
	}
	o := shared.opts
	args := []string{"up", "--quiet", "--dir", dir, "--timeout", "3m", "--watch-pid", strconv.Itoa(os.Getpid())}
	if o.Nodes > 0 {
		args = append(args, "--nodes", strconv.Itoa(o.Nodes))
	}
	if o.NodeCPU != "" {
		args = append(args, "--node-cpu", o.NodeCPU)
	}
	if o.NodeMemory != "" {
		args = append(args, "--node-memory", o.NodeMemory)
	}
	if o.RealNode {
		// One real node per machine: the test binaries of other modules
		// that need it take turns (make test runs modules side by side).
		args = append(args, "--real-node=on", "--real-node-wait=10m")
	} else {
		args = append(args, "--real-node=off")
	}
	out, err := exec.Command(shared.bin, args...).CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		if o.RealNode && strings.Contains(string(out), "--real-node=on: ") {
			// Not Linux, not root, not built: as for a missing binary.
			shared.missing = strings.TrimSpace(string(out))
			fmt.Fprintf(os.Stderr, "\n*** sandboxtest: %s — tests that need real pods are SKIPPED ***\n\n", shared.missing)
			return
		}
		shared.err = fmt.Errorf("%s up: %v\n%s", shared.bin, err, out)
		return
	}
	st, err := load(dir)
	if err != nil {
		shared.err = err
		return
	}
	connect(st)
}

// connect makes the clients of the sandbox st describes.
func connect(st *state) {
	shared.st = st
	shared.config, shared.err = clientcmd.BuildConfigFromFlags("", shared.st.Kubeconfig)
	if shared.err != nil {
		return
	}
	shared.config.QPS, shared.config.Burst = 100, 200
	shared.client, shared.err = kubernetes.NewForConfig(shared.config)
}

func stop() {
	if shared.st == nil || shared.attached {
		return
	}
	if out, err := exec.Command(shared.bin, "down", "--dir", shared.st.Dir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "sandboxtest: stopping the sandbox in %s: %v\n%s", shared.st.Dir, err, out)
	}
}

func load(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s/state.json: %w", dir, err)
	}
	return &st, nil
}

// binary finds pipectl-sandbox: $PIPECTL_SANDBOX_BIN, else bin/ at the root
// of the repository that holds the test's working directory.
func binary() (path, missing string) {
	if p := os.Getenv("PIPECTL_SANDBOX_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Sprintf("PIPECTL_SANDBOX_BIN=%s: %v", p, err)
		}
		return p, ""
	}
	root, err := repoRoot()
	if err != nil {
		return "", err.Error()
	}
	p := filepath.Join(root, "bin", "pipectl-sandbox")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Sprintf("%s is not built (run `make sandbox`)", p)
	}
	return p, ""
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			strings.HasPrefix(strings.TrimSpace(string(b)), "module github.com/pipectl/pipectl\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no pipectl repository above %s (set PIPECTL_SANDBOX_BIN)", wd)
		}
	}
}

var notDNS = regexp.MustCompile(`[^a-z0-9]+`)

// createNamespace makes a namespace named after the test and deletes it
// when the test ends.
func createNamespace(t testing.TB) string {
	t.Helper()
	prefix := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := shared.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: map[string]string{"pipectl.dev/test": "true"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("sandboxtest: create the test namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := shared.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("sandboxtest: delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}
