package main

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

func TestNoRestartsQuietWindow(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "calm", 2, "50m")
	waitPodsReady(t, env, "calm", 2)
	run := applyWithin(t, p, time.Minute, "no_restarts", cfg(map[string]any{"namespace": env.Namespace, "selector": map[string]any{"app": "calm"}, "window": "3s"}))
	run.RequireSuccess(t)
	if n := run.Output("pods").LengthInt(); n != 2 {
		t.Errorf("watched %d pods, want 2", n)
	}
}

// A container restart inside the window (simulated through the status
// subresource: the sandbox runs no containers) fails the step, naming the
// pod, the container and the reason.
func TestNoRestartsRestartInsideTheWindow(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "flaky", 1, "50m")
	pod := waitPodsReady(t, env, "flaky", 1)[0]
	restarted := make(chan time.Time, 1)
	time.AfterFunc(1500*time.Millisecond, func() { simulateRestart(t, env, pod.Name, "OOMKilled"); restarted <- time.Now() })
	run := applyWithin(t, p, time.Minute, "no_restarts", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=flaky", "window": "30s"}))
	requireFailure(t, run, "restarted or became unready", "pod "+pod.Name+", container app: restarted 1 time", "OOMKilled")
	t.Logf("failed %s after the restart was written", time.Since(<-restarted))
}

func TestNoRestartsPodBecomesUnready(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "wobbly", 1, "50m")
	pod := waitPodsReady(t, env, "wobbly", 1)[0]
	time.AfterFunc(1500*time.Millisecond, func() { simulateUnready(t, env, pod.Name) })
	run := applyWithin(t, p, time.Minute, "no_restarts", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=wobbly", "window": "30s"}))
	requireFailure(t, run, "pod "+pod.Name+" became unready")
}

// Pods meant to stop being ready are no violation: one that finished (a
// Job's, a test hook's) is not watched, and one being deleted (a rollout's
// old pod, a scale-down) may turn unready. The selector matches both beside
// the Deployment's pod; they sit on a node no kubelet runs, so only the
// test writes their status.
func TestNoRestartsLeavesOutFinishedAndDeletedPods(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "mixed", 1, "50m")
	serving := waitPodsReady(t, env, "mixed", 1)[0]
	finished := unmanagedPod(t, env, "mixed-test-hook", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodSucceeded
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted"}}
	})
	old := unmanagedPod(t, env, "mixed-old", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, Image: p.Spec.Containers[0].Image}}
	})
	time.AfterFunc(1500*time.Millisecond, func() {
		if err := env.Client.CoreV1().Pods(env.Namespace).Delete(context.Background(), old, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete pod %s: %v", old, err)
		}
		simulateUnready(t, env, old)
	})
	run := applyWithin(t, p, time.Minute, "no_restarts", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=mixed", "window": "4s"}))
	run.RequireSuccess(t)
	var watched []string
	for _, v := range run.Output("pods").AsValueSlice() {
		watched = append(watched, v.AsString())
	}
	if want := []string{serving.Name, old}; !slices.Equal(watched, want) {
		t.Errorf("watched %v, want %v (not the finished %s)", watched, want, finished)
	}
}

// unmanagedPod creates a pod labelled app=mixed on a node that does not
// exist, held by a finalizer until the test ends, and sets its status.
func unmanagedPod(t *testing.T, env *sandboxtest.Env, name string, status func(*corev1.Pod)) string {
	t.Helper()
	pods := env.Client.CoreV1().Pods(env.Namespace)
	spec := podSpec(env, "10m")
	spec.NodeName = "no-such-node"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "mixed"}, Finalizers: []string{"pipectl.test/hold"}}, Spec: spec}
	if _, err := pods.Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		_, _ = pods.Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{})
	})
	updatePodStatus(t, env, name, status)
	return name
}

func TestNoRestartsCancelled(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "steady", 1, "50m")
	waitPodsReady(t, env, "steady", 1)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(time.Second, cancel)
	began := time.Now()
	run := p.ApplyContext(ctx, "no_restarts", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=steady", "window": "5m"}))
	if run.Err == nil {
		t.Fatalf("want a cancelled call, got diagnostics %v", run.Diagnostics)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("took %s to stop after a cancel at 1s", took)
	}
}

// simulateRestart does to the pod's status what a kubelet does when a
// container dies and is restarted.
func simulateRestart(t *testing.T, env *sandboxtest.Env, name, reason string) {
	updatePodStatus(t, env, name, func(p *corev1.Pod) {
		cs := &p.Status.ContainerStatuses[0]
		cs.RestartCount++
		cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 137, Reason: reason, FinishedAt: metav1.Now(), StartedAt: metav1.Now()}}
	})
}

func simulateUnready(t *testing.T, env *sandboxtest.Env, name string) {
	updatePodStatus(t, env, name, func(p *corev1.Pod) {
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.PodReady || p.Status.Conditions[i].Type == corev1.ContainersReady {
				p.Status.Conditions[i].Status = corev1.ConditionFalse
				p.Status.Conditions[i].Reason = "ContainersNotReady"
			}
		}
		p.Status.ContainerStatuses[0].Ready = false
	})
}

func updatePodStatus(t *testing.T, env *sandboxtest.Env, name string, change func(*corev1.Pod)) {
	pods := env.Client.CoreV1().Pods(env.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := pods.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(p)
		_, err = pods.UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Errorf("update the status of pod %s: %v", name, err)
	}
}
