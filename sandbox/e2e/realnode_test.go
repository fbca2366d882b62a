package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"

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

	t.Run("the kubelet is a node, not an admin", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(st.Dir, "node", "kubelet.kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		kubelet, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kubelet.CoreV1().Nodes().Get(ctx, st.RealNode, metav1.GetOptions{}); err != nil {
			t.Errorf("the kubelet's identity cannot read its own Node: %v", err)
		}
		// The Node authorizer: no Secret a pod of the node does not mount.
		if _, err := kubelet.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("the kubelet's identity lists Secrets (err %v), want Forbidden", err)
		}
		// NodeRestriction: no other Node.
		patch := []byte(`{"metadata":{"labels":{"pipectl.dev/touched":"yes"}}}`)
		if _, err := kubelet.CoreV1().Nodes().Patch(ctx, st.Nodes[0], types.MergePatchType, patch, metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("the kubelet's identity patched node %s (err %v), want Forbidden", st.Nodes[0], err)
		}
	})

	t.Run("one real node per machine", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "second")
		r := run(t, bin, "up", "--quiet", "--dir", dir, "--real-node=on")
		if r.code == 0 {
			run(t, bin, "down", "--dir", dir)
			t.Fatal("a second sandbox started a real node while one runs")
		}
		contains(t, "the refusal", r.stderr, "real node is taken", st.Dir, "--real-node=off", "--real-node-wait")
		// Waiting for it ends in the same refusal while the owner lives.
		r = run(t, bin, "up", "--quiet", "--dir", dir, "--real-node=on", "--real-node-wait=2s")
		if r.code == 0 {
			run(t, bin, "down", "--dir", dir)
			t.Fatal("a second sandbox that waited started a real node while one runs")
		}
		contains(t, "the refusal after waiting", r.stderr, "real node is taken", st.Dir)
		if dead := st.Dead(); len(dead) > 0 {
			t.Errorf("the refused up disturbed the running sandbox: %v exited", dead)
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

	t.Run("podinfo's chart", func(t *testing.T) { testPodinfoChart(t, bin, st) })

	t.Run("a missing image goes to ImagePullBackOff", func(t *testing.T) {
		createPod(t, c, "default", podinfoPod("missing", st.Registry+"/no-such-image:1", nil))
		waitPod(t, c, "default", "missing", "ImagePullBackOff", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "ImagePullBackOff"
		})
	})
}

// podinfoChart is the repository's shared podinfo chart
// (plugins/helm/testdata/charts/podinfo), which the plugins' and the
// flagship's tests deploy: podinfo's own chart, unmodified, of the commit
// the sandbox builds podinfo from. TestSharedPodinfoChartIsTheBuiltOne
// keeps the two together.
var podinfoChart = filepath.Join("..", "..", "plugins", "helm", "testdata", "charts", "podinfo")

// The shared podinfo chart is the chart of the podinfo the sandbox builds
// (make copies it beside the binaries, from sandbox/runtime/podinfo): a newer chart
// passes flags an older podinfo does not know (6.14.1's --prefix made
// 6.9.2 exit 2: CrashLoopBackOff on the real node). When
// sandbox/runtime/podinfo moves, copy bin/sandbox-node/podinfo/chart over
// the shared one (sandbox/runtime/podinfo/README.md).
func TestSharedPodinfoChartIsTheBuiltOne(t *testing.T) {
	built := filepath.Join(filepath.Dir(binary(t)), "sandbox-node", "podinfo", "chart")
	if _, err := os.Stat(built); err != nil {
		t.Skipf("SKIPPED, NOT PASSED: %v (not built: a real node needs Linux)", err)
	}
	requireSameFiles(t, built, podinfoChart)
	appVersion := "appVersion: " + cluster.PodinfoTags[0] + "\n"
	if b, _ := os.ReadFile(filepath.Join(podinfoChart, "Chart.yaml")); !strings.Contains(string(b), appVersion) {
		t.Errorf("the shared chart's Chart.yaml lacks %q, the tag the sandbox pushes", appVersion)
	}
}

// The repository's podinfo chart is the one in the project's shared
// charts (../shared/charts/podinfo beside the checkout, as CI lays it out),
// unmodified: the real node runs the published chart as it is.
func TestPodinfoChartIsTheSharedOne(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Dir(root), filepath.Dir(filepath.Dir(root))} {
		shared := filepath.Join(dir, "shared", "charts", "podinfo")
		if _, err := os.Stat(shared); err == nil {
			requireSameFiles(t, shared, podinfoChart)
			requireSameFiles(t, podinfoChart, shared)
			return
		}
	}
	t.Skipf("SKIPPED, NOT PASSED: no shared/charts/podinfo beside %s or its parent", root)
}

// requireSameFiles fails for each file under want that got lacks or holds
// otherwise.
func requireSameFiles(t *testing.T, want, got string) {
	t.Helper()
	err := filepath.WalkDir(want, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, path)
		w, _ := os.ReadFile(path)
		g, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil || string(g) != string(w) {
			t.Errorf("%s differs from %s (%v)", filepath.Join(got, rel), path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testPodinfoChart installs the podinfo chart as it is published and talks
// to its real containers the ways a user does.
func testPodinfoChart(t *testing.T, bin string, st *cluster.State) {
	c := client(t, st)
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := "podinfo"
	installChart(t, st, ns, "podinfo", podinfoChart)
	// Helm's --wait is satisfied by replicas - maxUnavailable Ready pods,
	// here 0 of 1: wait for the pod itself.
	var pod corev1.Pod
	eventually(t, 2*time.Minute, "a Ready podinfo pod", func() (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=podinfo"})
		if err != nil || len(pods.Items) == 0 {
			return false, err
		}
		pod = pods.Items[0]
		return podReady(&pod), fmt.Errorf("pod %s: phase %s, %+v", pod.Name, pod.Status.Phase, pod.Status.ContainerStatuses)
	})
	if pod.Spec.NodeName != st.RealNode {
		t.Fatalf("podinfo ran on %s, want the real node %s", pod.Spec.NodeName, st.RealNode)
	}

	t.Run("logs", func(t *testing.T) {
		logs, err := c.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		contains(t, "podinfo's log", string(logs), "Starting podinfo")
	})

	t.Run("exec, and a Service name resolves in the pod", func(t *testing.T) {
		// podcli resolves the name through the pod's resolv.conf: the
		// cluster DNS behind kube-dns.
		out := execIn(t, cfg, c, ns, pod.Name, "podcli", "check", "http", "http://podinfo."+ns+":9898/healthz")
		contains(t, "podcli's output", out, "check succeed")
	})

	t.Run("port-forward", func(t *testing.T) {
		port := portForward(t, cfg, ns, pod.Name, 9898)
		requireHTTPOK(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	})

	t.Run("the ClusterIP answers from the host", func(t *testing.T) {
		svc, err := c.CoreV1().Services(ns).Get(ctx, "podinfo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		requireHTTPOK(t, fmt.Sprintf("http://%s:9898/healthz", svc.Spec.ClusterIP))
	})
}

func installChart(t *testing.T, st *cluster.State, ns, name, path string) {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &st.Kubeconfig, &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", t.Logf); err != nil {
		t.Fatal(err)
	}
	chart, err := loader.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(cfg)
	install.ReleaseName, install.Namespace, install.CreateNamespace = name, ns, true
	install.Wait, install.Timeout = true, 3*time.Minute
	if _, err := install.Run(chart, nil); err != nil {
		t.Fatalf("helm install --wait %s: %v", path, err)
	}
}

// execIn runs a command in the pod's first container, as kubectl exec does.
func execIn(t *testing.T, cfg *rest.Config, c kubernetes.Interface, ns, pod string, command ...string) string {
	t.Helper()
	req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	exec, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if err := exec.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatalf("exec %v: %v\nstdout: %s\nstderr: %s", command, err, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

// portForward forwards a free local port to the pod's port, as kubectl
// port-forward does, until the test ends.
func portForward(t *testing.T, cfg *rest.Config, ns, pod string, port int) int {
	t.Helper()
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.Host + fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", ns, pod))
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, "POST", u)
	stop, ready := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop) })
	fw, err := portforward.New(dialer, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() { errs <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errs:
		t.Fatalf("port-forward: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("port-forward: not ready after a minute")
	}
	ports, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	return int(ports[0].Local)
}

func requireHTTPOK(t *testing.T, u string) {
	t.Helper()
	eventually(t, 30*time.Second, "GET "+u, func() (bool, error) {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(u)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("GET %s: %s", u, resp.Status)
	})
}
