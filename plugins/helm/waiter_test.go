package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// TestDeploymentReadiness holds a Deployment's readiness to `kubectl
// rollout status`'s rule, on the statuses a podinfo upgrade went through on
// the sandbox's real node (replicas 1, maxUnavailable 1): rolled out once
// the new pod is available, while the old one is still terminating.
func TestDeploymentReadiness(t *testing.T) {
	for _, c := range []struct {
		name                   string
		gen, observed          int64
		spec                   any // nil: the field left out (default 1)
		replicas, updated      int64
		available, terminating int64
		progressing            string // the Progressing condition's reason
		want                   status.Status
		message                string
	}{
		{"generation not yet observed", 2, 1, int64(1), 1, 1, 1, 0, "NewReplicaSetAvailable", status.InProgressStatus, "latest observed generation is 1"},
		{"new pod not yet available, old one terminating", 2, 2, int64(1), 1, 1, 0, 1, "ReplicaSetUpdated", status.InProgressStatus, "Available: 0/1"},
		{"rolled out while the old pod terminates", 2, 2, int64(1), 1, 1, 1, 1, "NewReplicaSetAvailable", status.CurrentStatus, "Deployment is available. Replicas: 1"},
		{"rolled out", 2, 2, int64(1), 1, 1, 1, 0, "NewReplicaSetAvailable", status.CurrentStatus, "Replicas: 1"},
		{"not all updated", 3, 3, int64(3), 3, 2, 3, 0, "ReplicaSetUpdated", status.InProgressStatus, "Updated: 2/3"},
		{"an old replica not yet scaled down", 3, 3, int64(2), 3, 2, 2, 0, "ReplicaSetUpdated", status.InProgressStatus, "Old replicas: 1 left"},
		{"spec.replicas left out means 1", 1, 1, nil, 0, 0, 0, 0, "NewReplicaSetCreated", status.InProgressStatus, "Updated: 0/1"},
		{"scaled to zero", 4, 4, int64(0), 0, 0, 0, 1, "NewReplicaSetAvailable", status.CurrentStatus, "Replicas: 0"},
		{"progress deadline exceeded", 2, 2, int64(1), 2, 1, 0, 0, "ProgressDeadlineExceeded", status.FailedStatus, "Progress deadline exceeded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := map[string]any{}
			if c.spec != nil {
				spec["replicas"] = c.spec
			}
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "apps/v1", "kind": "Deployment",
				"metadata": map[string]any{"name": "podinfo", "namespace": "ns", "generation": c.gen},
				"spec":     spec,
				"status": map[string]any{"observedGeneration": c.observed, "replicas": c.replicas,
					"updatedReplicas": c.updated, "readyReplicas": c.available, "availableReplicas": c.available,
					"terminatingReplicas": c.terminating,
					"conditions": []any{
						map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
						map[string]any{"type": "Progressing", "status": "True", "reason": c.progressing}}},
			}}
			got, err := readiness(u)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != c.want || !strings.Contains(got.Message, c.message) {
				t.Errorf("got %s: %q; want %s: …%q…", got.Status, got.Message, c.want, c.message)
			}
		})
	}
}

// TestReadinessOfOtherKindsIsKstatus: only Deployments have a rule of
// their own; a Service and a Deployment being deleted are kstatus'.
func TestReadinessOfOtherKindsIsKstatus(t *testing.T) {
	svc := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "podinfo", "namespace": "ns"}, "spec": map[string]any{"type": "ClusterIP"}}}
	deleting := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "podinfo", "namespace": "ns", "deletionTimestamp": "2026-12-06T18:00:00Z"}}}
	for _, u := range []*unstructured.Unstructured{svc, deleting} {
		got, err := readiness(u)
		want, _ := status.Compute(u)
		if err != nil || got.Status != want.Status || got.Message != want.Message {
			t.Errorf("%s: got %v %v, want kstatus' %s: %q", u.GetKind(), got, err, want.Status, want.Message)
		}
	}
}

// WaitForDelete watches a deleted object until it is gone: not before (a
// finalizer holds it: the wait times out), and at once after.
func TestWaitForDeleteWatches(t *testing.T) {
	env := sandboxtest.Cluster(t)
	wc := newWatchingClient(t, env.Kubeconfig, env.Namespace)
	kc := wc.Client
	cms := env.Client.CoreV1().ConfigMaps(env.Namespace)
	if _, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held",
		Finalizers: []string{"pipectl.dev/test"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	resources, err := kc.Build(strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(t.Context(), "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wc.WaitForDelete(resources, time.Second); err == nil || !strings.Contains(err.Error(), "ConfigMap/held") {
		t.Fatalf("the finalizer holds the ConfigMap: want a timeout naming it, got %v", err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		cm, err := cms.Get(context.Background(), "held", metav1.GetOptions{})
		if err == nil {
			cm.Finalizers = nil
			_, _ = cms.Update(context.Background(), cm, metav1.UpdateOptions{})
		}
	}()
	if err := wc.WaitForDelete(resources, time.Minute); err != nil {
		t.Fatalf("the ConfigMap went once its finalizer did: %v", err)
	}
	if _, err := cms.Get(t.Context(), "held", metav1.GetOptions{}); err == nil {
		t.Fatal("WaitForDelete returned while the ConfigMap was still there")
	}
	// Gone already: at once.
	if err := wc.WaitForDelete(resources, time.Second); err != nil {
		t.Fatal(err)
	}
}

// newWatchingClient is the plugin's kube client for a test's namespace,
// through kubeconfig, as the plugin makes it for a step.
func newWatchingClient(t *testing.T, kubeconfig, namespace string) *watchingClient {
	s := cli.New()
	s.KubeConfig = kubeconfig
	s.SetNamespace(namespace)
	kc := kube.New(s.RESTClientGetter())
	kc.Namespace = namespace
	return &watchingClient{Client: kc, ctx: t.Context(), events: &logEvents{}, getter: s.RESTClientGetter(), namespace: namespace}
}

// An API server that stops answering does not hold WaitForDelete past its
// timeout: each request is bounded by it. (resource.Helper's Get and
// WatchSingle took no context: the wait hung until the HTTP/2 health
// check gave up on the connection and a new one's TLS handshake timed out,
// 56 s into a 1 s timeout on the sandbox.) A hang bound, not a speed limit.
func TestWaitForDeleteEndsWhenTheServerHangs(t *testing.T) {
	env := sandboxtest.Cluster(t)
	u, err := url.Parse(env.Server)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	wc := newWatchingClient(t, kubeconfigVia(t, env, proxy), env.Namespace)
	cms := env.Client.CoreV1().ConfigMaps(env.Namespace)
	if _, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held",
		Finalizers: []string{"pipectl.dev/test"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the finalizer off, so that the namespace can go
		if cm, err := cms.Get(context.Background(), "held", metav1.GetOptions{}); err == nil {
			cm.Finalizers = nil
			_, _ = cms.Update(context.Background(), cm, metav1.UpdateOptions{})
		}
	})
	resources, err := wc.Client.Build(strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(t.Context(), "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	proxy.hang()
	done := make(chan error, 1)
	go func() { done <- wc.WaitForDelete(resources, time.Second) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "ConfigMap/held") || !strings.Contains(err.Error(), "timed out after 1s") {
			t.Fatalf("want a timeout naming the ConfigMap, got %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WaitForDelete still waits 20 s into its 1 s timeout on a server that does not answer")
	}
}

// A wait that the step's deadline ends before its own timeout says how
// long it waited and that the step's timeout ended it, not the wait's
// timeout, which had not passed ("timed out after 5m0s" two seconds in).
func TestWaitEndedByTheStepsTimeoutSaysSo(t *testing.T) {
	env := sandboxtest.Cluster(t)
	wc := newWatchingClient(t, env.Kubeconfig, env.Namespace)
	wc.failureGrace = 10 * time.Minute // the unschedulable pod does not end the wait first
	resources, err := wc.Client.Build(strings.NewReader(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: nowhere
spec:
  selector:
    matchLabels: {app: nowhere}
  template:
    metadata:
      labels: {app: nowhere}
    spec:
      nodeSelector: {pipectl.dev/no-such-node: "true"}
      containers:
      - {name: app, image: registry.local/app:1}
`), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Client.Create(resources); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	wc.ctx = ctx
	err = wc.Wait(resources, 5*time.Minute)
	if err == nil {
		t.Fatal("the Deployment cannot become ready: want the wait to fail")
	}
	msg := err.Error()
	if err := contains2(msg, "(the step's timeout) waiting for the release's objects", "not ready:", "Deployment/nowhere"); err != nil {
		t.Error(err)
	}
	if strings.Contains(msg, "5m0s") {
		t.Errorf("the wait's 5m timeout had not passed: %s", msg)
	}
}

// ended's words for each way a wait can end before everything is ready.
func TestWaitEndedSaysWhy(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	live := context.Background()
	started := time.Now().Add(-2 * time.Second)
	for _, c := range []struct {
		ctx, deadline context.Context
		want          string
	}{
		{cancelled, cancelled, "cancelled while waiting for the release's objects"},
		{expired, expired, "timed out after 2s (the step's timeout) waiting"},
		{live, expired, "timed out after 5m0s waiting"},
		{live, live, "the watch of the release's objects ended after 2s"},
	} {
		rw := &rolloutWatch{limit: "the step's timeout"}
		if got := rw.ended(c.ctx, c.deadline, 5*time.Minute, started).Error(); !strings.HasPrefix(got, c.want) {
			t.Errorf("got %q, want %q...", got, c.want)
		}
	}
}
