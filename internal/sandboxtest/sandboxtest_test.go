package sandboxtest

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { Main(m) }

// Two tests share one sandbox, each in its own namespace, and each can run
// a pod to completion there.
func TestEachTestGetsItsOwnNamespace(t *testing.T) {
	parent := Cluster(t)
	namespaces := []string{parent.Namespace}
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			env := Cluster(t)
			if !strings.HasPrefix(env.Namespace, "testeachtestgetsitsownnamespace-"+name+"-") {
				t.Errorf("namespace %q is not named after the test", env.Namespace)
			}
			runToCompletion(t, env)
			namespaces = append(namespaces, env.Namespace)
		})
	}
	if len(namespaces) != 3 || namespaces[0] == namespaces[1] || namespaces[1] == namespaces[2] || namespaces[0] == namespaces[2] {
		t.Errorf("want three distinct namespaces, got %v", namespaces)
	}
	if shared.st == nil || len(shared.st.Nodes) == 0 {
		t.Fatalf("the shared sandbox has no nodes: %+v", shared.st)
	}
}

func TestEnvPointsAtTheSandbox(t *testing.T) {
	env := Cluster(t)
	v, err := env.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.37.2" {
		t.Errorf("server version %s, want v1.37.2", v.GitVersion)
	}
	if got, want := env.Image("1.0.0"), env.Registry+"/alpha-members:1.0.0"; got != want {
		t.Errorf("Image = %s, want %s", got, want)
	}
	if !strings.HasPrefix(env.Registry, "127.0.0.1:") {
		t.Errorf("registry %q is not on loopback", env.Registry)
	}
}

func runToCompletion(t *testing.T, env *Env) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "job"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "c", Image: env.Image("1.0.0")}},
		},
	}
	if _, err := env.Client.CoreV1().Pods(env.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		p, err := env.Client.CoreV1().Pods(env.Namespace).Get(ctx, "job", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase == corev1.PodSucceeded {
			return
		}
	}
	t.Fatal("the pod did not reach Succeeded within 2m (a bound on a hang, not a speed target)")
}
