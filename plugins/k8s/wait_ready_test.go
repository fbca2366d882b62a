package main

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

func TestWaitReady(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "web", 2, "50m")
	selector := map[string]any{"app": "web"}

	t.Run("enough", func(t *testing.T) {
		run := applyWithin(t, p, time.Minute, "wait_ready", cfg(map[string]any{"namespace": env.Namespace, "selector": selector, "min_ready": 2}))
		run.RequireSuccess(t)
		if n, _ := run.Output("ready").AsBigFloat().Int64(); n != 2 {
			t.Errorf("ready %d, want 2", n)
		}
	})
	t.Run("too few", func(t *testing.T) {
		run := applyWithin(t, p, 4*time.Second, "wait_ready", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=web", "min_ready": 3}))
		requireFailure(t, run, "Only 2 of 3 pods ready")
	})
}

func TestWaitReadySaysWhyPodsAreNotReady(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "big", 1, "100")
	run := applyWithin(t, p, 4*time.Second, "wait_ready", cfg(map[string]any{"namespace": env.Namespace, "selector": map[string]any{"app": "big"}}))
	requireFailure(t, run, "Only 0 of 1 pods ready", "unschedulable", "Insufficient cpu")
}

func TestWaitReadyRejectsABadSelector(t *testing.T) {
	diags := plugintestStart(t).Validate("wait_ready", cfg(map[string]any{"selector": "app in (", "min_ready": 0}))
	if len(diags) != 2 {
		t.Fatalf("want errors on selector and min_ready, got %v", diags)
	}
}

func TestEndpoints(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "web", 2, "50m")
	service(t, env, "web", "web")
	service(t, env, "orphan", "nothing-matches")

	t.Run("ready", func(t *testing.T) {
		run := applyWithin(t, p, time.Minute, "endpoints", cfg(map[string]any{"namespace": env.Namespace, "service": "web", "min_ready": 2}))
		run.RequireSuccess(t)
		if n := run.Output("addresses").LengthInt(); n != 2 {
			t.Errorf("%d addresses, want 2", n)
		}
	})
	t.Run("none", func(t *testing.T) {
		run := applyWithin(t, p, 4*time.Second, "endpoints", cfg(map[string]any{"namespace": env.Namespace, "service": "orphan"}))
		requireFailure(t, run, "has 0 of 1 ready endpoints")
	})
	t.Run("no such service", func(t *testing.T) {
		run := applyWithin(t, p, 4*time.Second, "endpoints", cfg(map[string]any{"namespace": env.Namespace, "service": "nope"}))
		requireFailure(t, run, "No service nope in namespace "+env.Namespace)
	})
}

func service(t *testing.T, env *sandboxtest.Env, name, app string) {
	t.Helper()
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": app},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := env.Client.CoreV1().Services(env.Namespace).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
