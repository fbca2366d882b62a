package main

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
