package main

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

func TestCapacityFits(t *testing.T) {
	env, p := sandbox(t)
	run := p.Apply("capacity", cfg(map[string]any{
		"namespace": env.Namespace, "pods": 2, "requests": map[string]string{"cpu": "100m", "memory": "64Mi"},
	}))
	run.RequireSuccess(t)
	needed := run.Output("needed").AsValueMap()
	if needed["cpu"].AsString() != "200m" || needed["memory"].AsString() != "128Mi" || needed["pods"].AsString() != "2" {
		t.Errorf("needed %#v", needed)
	}
	arts := run.Artifacts()
	if len(arts) != 1 || arts[0].Name != "capacity.md" || !strings.Contains(string(arts[0].Data), "Verdict: **fits") {
		t.Errorf("artifacts %v", arts)
	}
}

// A quota that running pods already mostly use up leaves too little for
// the release: the error says which quota and how much is left.
func TestCapacityExhaustedQuota(t *testing.T) {
	env, p := sandbox(t)
	quota(t, env, corev1.ResourceList{"pods": resource.MustParse("3"), "requests.cpu": resource.MustParse("1"), "requests.memory": resource.MustParse("1Gi")})
	deployment(t, env, "running", 2, "400m")
	waitQuotaUsed(t, env, "requests.cpu", "800m")
	run := p.Apply("capacity", cfg(map[string]any{
		"namespace": env.Namespace, "pods": 2, "requests": map[string]string{"cpu": "300m", "memory": "64Mi"},
	}))
	requireFailure(t, run, "does not fit",
		"quota limits: pods needs 2, only 1 left (2 of 3 used)",
		"quota limits: requests.cpu needs 600m, only 200m left (800m of 1 used)")
}

func TestCapacityOversizedRequest(t *testing.T) {
	env, p := sandbox(t)
	run := p.Apply("capacity", cfg(map[string]any{
		"namespace": env.Namespace, "pods": 1, "requests": map[string]string{"cpu": "64", "memory": "1Gi"},
	}))
	requireFailure(t, run, "one pod of the release asks cpu 64, memory 1Gi: more than any node has free")
}

func TestCapacityLimitRangeAndManifest(t *testing.T) {
	env, p := sandbox(t)
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "bounds"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type:           corev1.LimitTypeContainer,
		Max:            corev1.ResourceList{"cpu": resource.MustParse("1")},
		DefaultRequest: corev1.ResourceList{"cpu": resource.MustParse("100m"), "memory": resource.MustParse("32Mi")},
	}}}}
	if _, err := env.Client.CoreV1().LimitRanges(env.Namespace).Create(t.Context(), lr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	manifest := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: app
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: db
        resources: {requests: {cpu: 1500m, memory: 1Gi}}
`
	run := p.Apply("capacity", cfg(map[string]any{"namespace": env.Namespace, "manifest": manifest}))
	text := requireFailure(t, run, "limit range bounds: a container of statefulset/db requests cpu 1500m, above the maximum 1")
	if strings.Contains(text, "deployment/web") {
		t.Errorf("the defaulted deployment is reported:\n%s", text)
	}
	report := string(run.Artifacts()[0].Data)
	// 3 × 100m (the LimitRange's default) + 1500m
	if !strings.Contains(report, "| cpu | 1800m |") || !strings.Contains(report, "| deployment/web | 3 | cpu 100m, memory 32Mi |") {
		t.Errorf("report:\n%s", report)
	}
}

// An identity that may not list nodes still gets the namespace's checks;
// the report says the nodes were not checked.
func TestCapacityWithoutClusterWideAccess(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Cluster(t)
	kubeconfig := limitedServiceAccount(t, env, "deployer", []string{"list"}, "resourcequotas", "limitranges")
	p := start(t, map[string]any{"kubeconfig": kubeconfig})
	run := p.Apply("capacity", cfg(map[string]any{"namespace": env.Namespace, "pods": 2, "requests": map[string]string{"cpu": "64"}}))
	run.RequireSuccess(t)
	if report := run.Output("report").AsString(); !strings.Contains(report, "Not checked: nodes is forbidden") {
		t.Errorf("report:\n%s", report)
	}
}

func quota(t *testing.T, env *sandboxtest.Env, hard corev1.ResourceList) {
	t.Helper()
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}
	if _, err := env.Client.CoreV1().ResourceQuotas(env.Namespace).Create(t.Context(), q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitQuotaUsed(t *testing.T, env *sandboxtest.Env, name corev1.ResourceName, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		q, err := env.Client.CoreV1().ResourceQuotas(env.Namespace).Get(t.Context(), "limits", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if used, ok := q.Status.Used[name]; ok && used.Cmp(resource.MustParse(want)) == 0 {
			return
		}
	}
	t.Fatalf("quota %s used never reached %s", name, want)
}
