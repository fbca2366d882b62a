package main

import (
	"strings"
	"testing"
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
