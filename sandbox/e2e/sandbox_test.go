package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pipectl/pipectl/sandbox/cluster"
)

// TestUpUseDown is the acceptance scenario: fake nodes Ready, a
// Deployment Available, a run-to-completion pod Succeeded, resource checks
// that bite, a Helm chart installed with --wait, the demo images in the
// registry; then `down` leaves nothing behind.
func TestUpUseDown(t *testing.T) {
	bin := binary(t)
	st := up(t, bin, "--nodes", "2", "--node-cpu", "2", "--node-memory", "4Gi")
	c := client(t, st)

	t.Run("kubectl sees Ready nodes", func(t *testing.T) {
		// bin/kubectl is a symlink to the same binary: argv[0] selects kubectl.
		kubectl := filepath.Join(t.TempDir(), "kubectl")
		if err := os.Symlink(bin, kubectl); err != nil {
			t.Fatal(err)
		}
		r := run(t, kubectl, "--kubeconfig", st.Kubeconfig, "get", "nodes", "--no-headers")
		if r.code != 0 {
			t.Fatalf("kubectl get nodes exited %d: %s", r.code, r.stderr)
		}
		if got := strings.Count(r.stdout, " Ready "); got != 2 {
			t.Errorf("want 2 Ready nodes, kubectl shows:\n%s", r.stdout)
		}
		r = run(t, bin, "kubectl", "--kubeconfig", st.Kubeconfig, "version")
		contains(t, "kubectl version", r.stdout, "Client Version: v1.37.2", "Server Version: v1.37.2")
	})
	t.Run("nodes have the requested allocatable resources", func(t *testing.T) {
		node, err := c.CoreV1().Nodes().Get(context.Background(), st.Nodes[0], metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cpu := node.Status.Allocatable.Cpu(); cpu.Cmp(resource.MustParse("2")) != 0 {
			t.Errorf("allocatable cpu = %s, want 2", cpu)
		}
		if mem := node.Status.Allocatable.Memory(); mem.Cmp(resource.MustParse("4Gi")) != 0 {
			t.Errorf("allocatable memory = %s, want 4Gi", mem)
		}
	})
	t.Run("2-replica Deployment becomes Available", func(t *testing.T) {
		testDeployment(t, c)
	})
	t.Run("restartPolicy Never pod reaches Succeeded", func(t *testing.T) {
		testPodSucceeds(t, c)
	})
	t.Run("a pod too big for every node stays Pending", func(t *testing.T) {
		testInsufficientCPU(t, c)
	})
	t.Run("Helm chart installs with --wait and its test passes", func(t *testing.T) {
		testHelm(t, st)
	})
	t.Run("registry serves the demo images", func(t *testing.T) {
		testRegistry(t, st)
	})
	t.Run("status, env, and a second up", func(t *testing.T) {
		r := run(t, bin, "status", "--dir", st.Dir)
		if r.code != 0 {
			t.Errorf("status exited %d on a healthy sandbox:\n%s", r.code, r.stdout)
		}
		contains(t, "status", r.stdout, "running", "kube-apiserver", "kwok", "registry")
		r = run(t, bin, "env", "--dir", st.Dir)
		contains(t, "env", r.stdout, "export KUBECONFIG='"+st.Kubeconfig+"'", "export PIPECTL_SANDBOX_REGISTRY='"+st.Registry+"'")
		r = run(t, bin, "up", "--dir", st.Dir)
		if r.code == 0 {
			t.Fatal("a second up on a running sandbox succeeded")
		}
		contains(t, "second up", r.stderr, "already running", "down --dir")
		if dead := st.Dead(); len(dead) > 0 {
			t.Errorf("the refused up disturbed the running sandbox: %v exited", dead)
		}
	})

	r := run(t, bin, "down", "--dir", st.Dir)
	if r.code != 0 {
		t.Fatalf("down exited %d: %s", r.code, r.stderr)
	}
	requireGone(t, st)
	r = run(t, bin, "status", "--dir", st.Dir)
	if r.code != 3 {
		t.Errorf("status after down exited %d, want 3 (no sandbox): %s", r.code, r.stderr)
	}
}

func testDeployment(t *testing.T, c kubernetes.Interface) {
	ctx := context.Background()
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "alpha-members:1.0.0"}}},
			},
		},
	}
	if _, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "Deployment web Available with 2 ready replicas", func() (bool, error) {
		d, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
				return d.Status.ReadyReplicas == 2, nil
			}
		}
		return false, fmt.Errorf("status %+v", d.Status)
	})
}

func testPodSucceeds(t *testing.T, c kubernetes.Interface) {
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "once"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "c", Image: "alpha-members:1.0.0"}},
		},
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "pod once Succeeded", func() (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "once", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodSucceeded, fmt.Errorf("phase %s", p.Status.Phase)
	})
}

func testInsufficientCPU(t *testing.T, c kubernetes.Interface) {
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "too-big"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "alpha-members:1.0.0",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}},
		}}},
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "pod too-big to be marked Unschedulable for lack of CPU", func() (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "too-big", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonUnschedulable {
				if !strings.Contains(cond.Message, "Insufficient cpu") {
					t.Errorf("unschedulable for another reason: %s", cond.Message)
				}
				return p.Status.Phase == corev1.PodPending, nil
			}
		}
		return false, fmt.Errorf("conditions %+v", p.Status.Conditions)
	})
}

// TestSideBySide runs two sandboxes at once: distinct ports and
// directories, each usable, and stopping one leaves the other alone.
func TestSideBySide(t *testing.T) {
	bin := binary(t)
	var (
		wg     sync.WaitGroup
		states [2]*cluster.State
		errs   [2]error
	)
	for i := range states {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("sandbox-%d", i))
		stopWhenDone(t, bin, dir)
		wg.Go(func() { states[i], errs[i] = startSandbox(bin, dir) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, b := states[0], states[1]
	seen := map[int]bool{}
	for _, st := range states {
		p := st.Ports
		for _, port := range []int{p.EtcdClient, p.EtcdPeer, p.APIServer, p.ControllerManager, p.Scheduler, p.Registry} {
			if seen[port] {
				t.Errorf("port %d used twice: %+v and %+v", port, a.Ports, b.Ports)
			}
			seen[port] = true
		}
	}
	for _, st := range states {
		if n := readyNodes(t, client(t, st)); n != 1 {
			t.Errorf("sandbox %s: %d Ready nodes, want 1", st.Dir, n)
		}
	}

	if r := run(t, bin, "down", "--dir", a.Dir); r.code != 0 {
		t.Fatalf("down exited %d: %s", r.code, r.stderr)
	}
	requireGone(t, a)
	if r := run(t, bin, "status", "--dir", b.Dir); r.code != 0 {
		t.Errorf("the other sandbox suffered from the first one's down:\n%s", r.stdout)
	}
	if n := readyNodes(t, client(t, b)); n != 1 {
		t.Errorf("the other sandbox has %d Ready nodes after the first one's down, want 1", n)
	}
}

// TestKilledComponentIsReported kills the scheduler behind the sandbox's
// back: status must name it, with its log; then the process the sandbox
// watches (--watch-pid) exits, and the sandbox must stop by itself.
func TestKilledComponentIsReported(t *testing.T) {
	bin := binary(t)
	watched := exec.Command("sleep", "600")
	if err := watched.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watched.Process.Kill() })
	st := up(t, bin, "--watch-pid", fmt.Sprint(watched.Process.Pid))

	var scheduler cluster.Process
	for _, p := range st.Processes {
		if p.Name == "kube-scheduler" {
			scheduler = p
		}
	}
	if err := syscall.Kill(scheduler.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the scheduler to die", func() (bool, error) { return !scheduler.Alive(), nil })
	r := run(t, bin, "status", "--dir", st.Dir)
	if r.code != 1 {
		t.Errorf("status exited %d with a dead scheduler, want 1", r.code)
	}
	contains(t, "status", r.stdout, "DEGRADED: 1 of", "kube-scheduler exited; last lines of "+scheduler.Log)
	if last := lastLine(t, scheduler.Log); !strings.Contains(r.stdout, last) {
		t.Errorf("status does not show the scheduler's last log line %q:\n%s", last, r.stdout)
	}

	watched.Process.Kill()
	watched.Wait()
	eventually(t, 30*time.Second, "the reaper to stop the sandbox", func() (bool, error) {
		_, err := os.Stat(st.Dir)
		return os.IsNotExist(err), err
	})
	requireGone(t, st)
}

// TestFailedStartCleansUp makes kube-apiserver die at start (through a
// wrapper around the real binary): up must fail with the apiserver's last
// log lines and leave no process and no state behind.
func TestFailedStartCleansUp(t *testing.T) {
	bin := binary(t)
	wrapper := filepath.Join(t.TempDir(), "pipectl-sandbox")
	script := "#!/bin/sh\nif [ \"$1\" = kube-apiserver ]; then echo 'E0101 simulated failure: cannot bind' >&2; exit 7; fi\nexec " + bin + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sandbox")
	var progress strings.Builder
	_, err := cluster.Up(context.Background(), cluster.Options{
		Name: "failing", Dir: dir, Binary: wrapper, Timeout: time.Minute, Progress: &progress,
		Nodes: cluster.NodeSpec{Count: 1, CPU: "1", Memory: "1Gi", Pods: 10},
	})
	if err == nil {
		cluster.Down(dir, false)
		t.Fatal("up succeeded with an apiserver that exits at once")
	}
	contains(t, "the error", err.Error(), "kube-apiserver exited while the sandbox was starting (exit status 7)",
		"E0101 simulated failure: cannot bind")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the failed start left its state directory %s (err %v)", dir, err)
	}
	// The processes started before the failure (registry, etcd) must be gone.
	started := strings.Count(progress.String(), "starting ")
	if started < 2 {
		t.Fatalf("expected registry and etcd to have been started first; progress:\n%s", progress.String())
	}
	if procs := processesMentioning(dir); len(procs) > 0 {
		t.Errorf("processes of the failed sandbox still run: %v", procs)
	}
}

// Mistakes on the command line get a clear message and a distinct exit
// code, and start nothing.
func TestCommandLineMistakes(t *testing.T) {
	bin := binary(t)
	// Run from a subdirectory of a git checkout: the state is found at
	// the checkout's top, wherever one stands in it (issue 23).
	top := t.TempDir()
	wd := filepath.Join(top, "pipelines", "prod")
	for _, d := range []string{filepath.Join(top, ".git"), wd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"env", "--name", "nothing-here"}, 3, "no sandbox in " + filepath.Join(top, ".pipectl", "sandbox", "nothing-here")},
		{[]string{"status", "--name", "nothing-here"}, 3, "no sandbox in"},
		{[]string{"down", "--name", "nothing-here"}, 3, "no sandbox in"},
		{[]string{"up", "--name", "../escape"}, 1, `--name "../escape": want a plain name`},
		{[]string{"up", "--nodes", "0"}, 1, "--nodes must be at least 1"},
		{[]string{"up", "--node-memory", "lots"}, 1, `--node-memory "lots" is not a Kubernetes quantity`},
		{[]string{"up", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"up", "--watch-pid", "999999999"}, 1, "--watch-pid 999999999: no such process"},
		{[]string{"launch"}, 2, `unknown command "launch"`},
		{[]string{"up", "--real-node", "maybe"}, 1, `--real-node "maybe": want auto, on or off`},
		// Never a silent fallback to kwok when a real node is required.
		{[]string{"up", "--real-node=on", "--node-bin", "/nonexistent"}, 1, "--real-node=on: "},
		// The demo images need the service they run.
		{[]string{"up", "--platform", "/nonexistent/alpha-members"}, 1, "--platform /nonexistent/alpha-members: the demo images' service is missing (make build builds it)"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Dir = wd
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != c.code {
			t.Errorf("%v: exit %d, want %d:\n%s", c.args, code, c.code, out)
		}
		contains(t, fmt.Sprint(c.args), string(out), c.want)
	}
	// Outside a repository: the user's state directory, not where one stands.
	cmd := exec.Command(bin, "env", "--name", "nothing-here")
	cmd.Dir, cmd.Env = t.TempDir(), append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(top, "state"))
	out, _ := cmd.CombinedOutput()
	contains(t, "env outside a repository", string(out), "no sandbox in "+filepath.Join(top, "state", "pipectl", "sandbox", "nothing-here"))
	if entries, _ := os.ReadDir(filepath.Join(top, ".pipectl", "sandbox")); len(entries) > 0 {
		t.Errorf("a refused command left sandbox directories: %v", entries)
	}
}

// TestNoRealNodeIsLoud: where the real node cannot run, `up` (auto) starts
// kwok nodes only and says so on stderr even with --quiet.
func TestNoRealNodeIsLoud(t *testing.T) {
	bin := binary(t)
	dir := filepath.Join(t.TempDir(), "sandbox")
	stopWhenDone(t, bin, dir)
	r := run(t, bin, "up", "--quiet", "--dir", dir, "--real-node=auto", "--node-bin", "/nonexistent")
	if r.code != 0 {
		t.Fatalf("up exited %d: %s", r.code, r.stderr)
	}
	contains(t, "up's stderr", r.stderr, "NO REAL NODE", "no container runs")
	st, err := cluster.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.RealNode != "" || st.RealNodeUnavailable == "" {
		t.Errorf("state: realNode %q, realNodeUnavailable %q; want none, and why", st.RealNode, st.RealNodeUnavailable)
	}
}
