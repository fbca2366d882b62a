package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/pipectl/pipectl/sandbox/cluster"
)

// realNodeBinary is binary(t) for the tests that need the real node: where
// it cannot run (not Linux, not root, not built) they fail in CI and skip,
// loudly, elsewhere. They never fall back to kwok.
func realNodeBinary(t *testing.T) string {
	t.Helper()
	bin := binary(t)
	if why := cluster.RealNodeUnavailable(filepath.Join(filepath.Dir(bin), "sandbox-node")); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no real node: %s; in CI the real node is required", why)
		}
		t.Skipf("SKIPPED, NOT PASSED: no real node: %s", why)
	}
	return bin
}

// podinfoPod is a pod of the podinfo image the sandbox builds.
func podinfoPod(name, image string, mutate func(*corev1.Container)) *corev1.Pod {
	c := corev1.Container{
		Name: "podinfo", Image: image, Command: []string{"./podinfo", "--port=9898"},
		Ports: []corev1.ContainerPort{{ContainerPort: 9898}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/readyz", Port: intstr.FromInt32(9898)}}, PeriodSeconds: 1},
	}
	if mutate != nil {
		mutate(&c)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}, TerminationGracePeriodSeconds: new(int64)},
	}
}

func createPod(t *testing.T, c kubernetes.Interface, ns string, p *corev1.Pod) {
	t.Helper()
	if _, err := c.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitPod polls the pod until cond holds; on timeout it fails with the
// pod's status.
func waitPod(t *testing.T, c kubernetes.Interface, ns, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, 2*time.Minute, fmt.Sprintf("pod %s: %s", name, what), func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pod = p
		return cond(p), fmt.Errorf("phase %s, container statuses %+v", p.Status.Phase, p.Status.ContainerStatuses)
	})
	return pod
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// TestRealNodeLeavesHostAsFound runs real containers, then checks that
// `down` put the machine back as it was: after a clean run, after every
// sandbox process was SIGKILLed mid-run, and after `up` itself was
// SIGKILLed while it set up the node.
func TestRealNodeLeavesHostAsFound(t *testing.T) {
	bin := realNodeBinary(t)
	before := snapshotHost(t, bin)

	t.Run("clean run", func(t *testing.T) {
		st := upRealNode(t, bin)
		runPod(t, st)
		if r := run(t, bin, "down", "--dir", st.Dir); r.code != 0 {
			t.Fatalf("down exited %d: %s", r.code, r.stderr)
		}
		requireGone(t, st)
		requireSameHost(t, before, snapshotHost(t, bin))
	})

	t.Run("SIGKILL mid-run", func(t *testing.T) {
		st := upRealNode(t, bin)
		runPod(t, st)
		for _, p := range st.Processes {
			_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		}
		if r := run(t, bin, "down", "--dir", st.Dir); r.code != 0 {
			t.Fatalf("down after SIGKILL exited %d: %s", r.code, r.stderr)
		}
		requireGone(t, st)
		requireSameHost(t, before, snapshotHost(t, bin))
	})

	t.Run("SIGKILL mid-up", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "sandbox")
		stopWhenDone(t, bin, dir)
		cmd := exec.Command(bin, "up", "--quiet", "--dir", dir, "--real-node=on")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The node is being set up once containerd has a log.
		eventually(t, 3*time.Minute, "up to start containerd", func() (bool, error) {
			_, err := os.Stat(filepath.Join(dir, "logs", "containerd.log"))
			return err == nil, err
		})
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if r := run(t, bin, "down", "--dir", dir); r.code != 0 {
			t.Fatalf("down after up was killed exited %d: %s", r.code, r.stderr)
		}
		requireSameHost(t, before, snapshotHost(t, bin))
	})
}

func upRealNode(t *testing.T, bin string) *cluster.State {
	t.Helper()
	st := up(t, bin, "--real-node=on")
	if st.RealNode != cluster.RealNodeName {
		t.Fatalf("state.json realNode = %q, want %q", st.RealNode, cluster.RealNodeName)
	}
	return st
}

// runPod runs a real container (so a veth, a network namespace, mounts and
// cgroups exist) and waits until it is Ready.
func runPod(t *testing.T, st *cluster.State) {
	t.Helper()
	c := client(t, st)
	createPod(t, c, "default", podinfoPod("web", st.Registry+"/stefanprodan/podinfo:latest", nil))
	waitPod(t, c, "default", "web", "Ready", podReady)
}

// TestRealNode checks what pods get on the real node: real containers
// with their logs, probes, restarts and image pulls.
func TestRealNode(t *testing.T) {
	bin := realNodeBinary(t)
	st := upRealNode(t, bin)
	c := client(t, st)
	ctx := context.Background()

	t.Run("the node runs containerd and the fake nodes are tainted", func(t *testing.T) {
		n, err := c.CoreV1().Nodes().Get(ctx, st.RealNode, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rt := n.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(rt, "containerd://2.") {
			t.Errorf("container runtime %q, want containerd://2.x", rt)
		}
		for _, name := range st.Nodes {
			fake, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(fake.Spec.Taints) == 0 || fake.Spec.Taints[0].Key != cluster.FakeNodeTaint {
				t.Errorf("fake node %s taints %v, want %s:NoSchedule", name, fake.Spec.Taints, cluster.FakeNodeTaint)
			}
		}
	})

	t.Run("a liveness failure restarts the container", func(t *testing.T) {
		createPod(t, c, "default", podinfoPod("unhealthy", st.Registry+"/stefanprodan/podinfo:latest", func(c *corev1.Container) {
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromInt32(9999)}}, PeriodSeconds: 1, FailureThreshold: 1}
		}))
		p := waitPod(t, c, "default", "unhealthy", "restarted", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
		})
		if p.Spec.NodeName != st.RealNode {
			t.Errorf("the pod ran on %s, want the real node %s", p.Spec.NodeName, st.RealNode)
		}
	})

	t.Run("a missing image goes to ImagePullBackOff", func(t *testing.T) {
		createPod(t, c, "default", podinfoPod("missing", st.Registry+"/no-such-image:1", nil))
		waitPod(t, c, "default", "missing", "ImagePullBackOff", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "ImagePullBackOff"
		})
	})
}
