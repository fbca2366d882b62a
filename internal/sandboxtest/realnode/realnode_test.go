// Package realnode tests sandboxtest's real node option from a test
// binary of its own (the sandbox is shared per binary, sized by TestMain).
package realnode

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

func TestMain(m *testing.M) { sandboxtest.MainWith(m, sandboxtest.Options{RealNode: true}) }

// TestPodsRunOnTheRealNode: an ordinary pod runs in a container on the
// real node (containerd), and only a pod that tolerates the fake-node taint
// and asks for a kwok node lands there.
func TestPodsRunOnTheRealNode(t *testing.T) {
	env := sandboxtest.Cluster(t)
	if env.RealNode == "" {
		t.Fatal("Options{RealNode: true} gave a sandbox without a real node")
	}
	ctx := context.Background()
	node, err := env.Client.CoreV1().Nodes().Get(ctx, env.RealNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rt := node.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(rt, "containerd://") {
		t.Errorf("the real node's runtime is %q, want containerd://…", rt)
	}

	real := pod("real", corev1.PodSpec{})
	fake := pod("fake", corev1.PodSpec{
		NodeSelector: map[string]string{"type": "kwok"},
		Tolerations:  []corev1.Toleration{sandboxtest.FakeNodeToleration},
	})
	for _, p := range []*corev1.Pod{real, fake} {
		if _, err := env.Client.CoreV1().Pods(env.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := waitRunning(t, env, "real").Spec.NodeName; got != env.RealNode {
		t.Errorf("pod real ran on %s, want the real node %s", got, env.RealNode)
	}
	// A shared sandbox may have several fake nodes; the scheduler picks one.
	if got := waitRunning(t, env, "fake").Spec.NodeName; !slices.Contains(env.Nodes, got) {
		t.Errorf("pod fake ran on %s, want one of the fake nodes %v", got, env.Nodes)
	}
}

func pod(name string, spec corev1.PodSpec) *corev1.Pod {
	spec.Containers = []corev1.Container{{Name: "podinfo", Image: "ghcr.io/stefanprodan/podinfo:6.14.1", Command: []string{"./podinfo"}}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

func waitRunning(t *testing.T, env *sandboxtest.Env, name string) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	var err error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		p, err = env.Client.CoreV1().Pods(env.Namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning {
			return p
		}
	}
	if err != nil {
		t.Fatalf("pod %s: %v", name, err)
	}
	t.Fatalf("pod %s not Running after 2 minutes: %+v", name, p.Status)
	return nil
}
