package main

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The classic failed deploy: pods that no node can take. The report names
// the scheduler's message and says that logs are unavailable (no kubelet).
func TestDiagnoseUnschedulable(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "huge", 1, "100")
	deployment(t, env, "fine", 1, "10m")
	waitPodsReady(t, env, "fine", 1)
	waitPending(t, env, "huge")
	run := p.Apply("diagnose", cfg(map[string]any{"namespace": env.Namespace, "selector": map[string]any{"app": "huge"}}))
	run.RequireSuccess(t)
	causes := run.Output("causes")
	if causes.LengthInt() == 0 || !strings.Contains(causes.Index(zero).AsString(), "unschedulable") ||
		!strings.Contains(causes.Index(zero).AsString(), "Insufficient cpu") {
		t.Errorf("first cause is not the scheduler's message: %#v", causes)
	}
	report := run.Output("report").AsString()
	for _, want := range []string{"# Diagnosis of app=huge", "Insufficient cpu", "FailedScheduling", "logs unavailable"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "fine-") {
		t.Errorf("the report covers pods the selector does not match:\n%s", report)
	}
	arts := run.Artifacts()
	if len(arts) != 1 || arts[0].Name != "diagnosis.md" || string(arts[0].Data) != report {
		t.Errorf("artifacts %v", arts)
	}
}

func TestDiagnoseHealthy(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "fine", 1, "10m")
	waitPodsReady(t, env, "fine", 1)
	run := p.Apply("diagnose", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=fine"}))
	run.RequireSuccess(t)
	if got := run.Output("summary").AsString(); !strings.Contains(got, "nothing looks wrong with 1 pod") {
		t.Errorf("summary %q", got)
	}
	// The sandbox has no kubelet to serve logs: said, not failed.
	if report := run.Output("report").AsString(); !strings.Contains(report, "fine-") || !strings.Contains(report, "logs unavailable") {
		t.Errorf("report:\n%s", report)
	}
}

// Pods a quota keeps from being created leave no pod to look at: the
// ReplicaSet's events tell.
func TestDiagnosePodsNotCreated(t *testing.T) {
	env, p := sandbox(t)
	quota(t, env, corev1.ResourceList{"pods": resource.MustParse("0")})
	deployment(t, env, "blocked", 1, "10m")
	var causes []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		run := p.Apply("diagnose", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=blocked"}))
		run.RequireSuccess(t)
		causes = nil
		for it := run.Output("causes").ElementIterator(); it.Next(); {
			_, v := it.Element()
			causes = append(causes, v.AsString())
		}
		if len(causes) == 2 && strings.Contains(causes[1], "exceeded quota") {
			break
		}
	}
	if len(causes) != 2 || !strings.HasPrefix(causes[0], "no pods match app=blocked") ||
		!strings.HasPrefix(causes[1], "pods not created: replicaset blocked-") || !strings.Contains(causes[1], "exceeded quota: limits") {
		t.Errorf("causes %q", causes)
	}
}
