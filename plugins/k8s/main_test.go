package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// pluginBin is this plugin, built once per test binary into a directory of
// its own: CI runs and several checkouts test side by side on one machine.
var pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pipectl-k8s-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if pluginBin, err = plugintest.BuildBinary(".", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := sandboxtest.RunWith(m, sandboxtest.Options{})
	os.RemoveAll(dir)
	os.Exit(code)
}

// start runs the plugin as a real subprocess configured with settings,
// as a pipeline's plugin "k8s" { ... } block does.
func start(t testing.TB, settings map[string]any) *plugintest.Plugin {
	t.Helper()
	p := plugintest.Start(t, pluginBin)
	diags, err := p.Configure(t.Context(), cfg(settings))
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		t.Fatalf("configure: %v", diags.Err())
	}
	return p
}

// sandbox is a test's namespace of the shared sandbox and a plugin
// pointed at it. Tests that use it run in parallel: most of their time is
// spent waiting on the cluster.
func sandbox(t *testing.T) (*sandboxtest.Env, *plugintest.Plugin) {
	t.Helper()
	t.Parallel()
	env := sandboxtest.Cluster(t)
	return env, start(t, map[string]any{"kubeconfig": env.Kubeconfig})
}

func cfg(attrs map[string]any) cty.Value { return plugintest.Object(attrs) }

// applyWithin applies with a deadline, as a step's timeout gives one.
func applyWithin(t *testing.T, p *plugintest.Plugin, d time.Duration, action string, config cty.Value) *plugintest.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	return p.ApplyContext(ctx, action, config)
}

// requireFailure asserts the run failed with an error whose text
// contains every one of want, and returns that text.
func requireFailure(t *testing.T, run *plugintest.Run, want ...string) string {
	t.Helper()
	if run.Err != nil {
		t.Fatalf("the call failed instead of reporting diagnostics: %v", run.Err)
	}
	if !run.Diagnostics.HasErrors() {
		t.Fatalf("want an error, got success; logs:\n%s", strings.Join(run.Logs(""), "\n"))
	}
	text := run.Diagnostics.Err().Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("error does not mention %q:\n%s", w, text)
		}
	}
	return text
}

func logsContain(run *plugintest.Run, s string) bool {
	return strings.Contains(strings.Join(run.Logs(""), "\n"), s)
}

func TestSchemaDocumentsEveryAction(t *testing.T) {
	s := plugintest.Start(t, pluginBin).Schema()
	want := []string{"check_access", "secrets_exist", "capacity", "rollout_status", "wait_ready", "endpoints", "no_restarts", "apply", "pod_security", "diagnose", "exists"}
	for _, name := range want {
		a := s.Actions[name]
		if a == nil {
			t.Errorf("action %s is missing", name)
			continue
		}
		if a.Description == "" {
			t.Errorf("action %s has no description", name)
		}
		for attrName, at := range a.Block.Attributes {
			if at.Description == "" {
				t.Errorf("%s.%s has no description", name, attrName)
			}
		}
	}
	if len(s.Actions) != len(want) {
		t.Errorf("%d actions, want %d", len(s.Actions), len(want))
	}
}

// deployment creates a Deployment of replicas pods asking for cpu each,
// labelled app=name.
func deployment(t testing.TB, env *sandboxtest.Env, name string, replicas int32, cpu string) *appsv1.Deployment {
	t.Helper()
	return create(t, env, newDeployment(env, name, replicas, cpu))
}

func create(t testing.TB, env *sandboxtest.Env, d *appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	d, err := env.Client.AppsV1().Deployments(env.Namespace).Create(t.Context(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newDeployment(env *sandboxtest.Env, name string, replicas int32, cpu string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpec(env, cpu),
			},
		},
	}
}

func podSpec(env *sandboxtest.Env, cpu string) corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name:  "app",
		Image: env.Image("1.0.0"),
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(cpu),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		}},
	}}}
}

// waitPodsReady waits (by polling the API, as a test may) until n pods
// labelled app=name are Ready.
func waitPodsReady(t *testing.T, env *sandboxtest.Env, name string, n int) []corev1.Pod {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := env.Client.CoreV1().Pods(env.Namespace).List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if podReady(&list.Items[i]) {
				ready++
			}
		}
		if ready >= n {
			return list.Items
		}
	}
	t.Fatalf("%d pods of %s not ready within 30s", n, name)
	return nil
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// plugintestStart runs the plugin for tests that need no cluster.
func plugintestStart(t *testing.T) *plugintest.Plugin { return plugintest.Start(t, pluginBin) }

func statefulSet(t *testing.T, env *sandboxtest.Env, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(env, "10m")},
		},
	}
	if _, err := env.Client.AppsV1().StatefulSets(env.Namespace).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

var zero = cty.Zero

// waitPending waits until a pod of app=name exists and the scheduler has
// said it cannot place it.
func waitPending(t *testing.T, env *sandboxtest.Env, name string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := env.Client.CoreV1().Pods(env.Namespace).List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			if c := podCondition(&list.Items[i], corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
				return
			}
		}
	}
	t.Fatalf("no pod of %s reported unschedulable within 30s", name)
}

func stringVal(s string) cty.Value { return cty.StringVal(s) }

func daemonSet(t *testing.T, env *sandboxtest.Env, name string) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(env, "10m")},
		},
	}
	if _, err := env.Client.AppsV1().DaemonSets(env.Namespace).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
