package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// The events of pods that are gone (an atomic rollback deleted them) are
// kept when a related ReplicaSet or StatefulSet made them, not when another
// object's name merely starts like theirs.
func TestRelatedEventsKeepGonePodsOfOwners(t *testing.T) {
	event := func(kind, name string) corev1.Event {
		return corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name}, Reason: name}
	}
	all := []corev1.Event{
		event("Pod", "web-7d9f-abcde"),         // gone, made by ReplicaSet web-7d9f
		event("Pod", "db-0"),                   // gone, made by StatefulSet db
		event("Pod", "web-other-xyz12"),        // another app's pod
		event("ReplicaSet", "web-7d9f"),        // an owner
		event("Pod", "web-7d9f-live1"),         // a pod still there
		event("ReplicaSet", "other-5c4b3a2f1"), // not an owner
	}
	pods := []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "web-7d9f-live1"}}}
	owners := map[string]bool{"web": true, "web-7d9f": true, "db": true}
	var got []string
	for _, e := range relatedEvents(all, pods, owners, false) {
		got = append(got, e.InvolvedObject.Name)
	}
	want := []string{"web-7d9f-abcde", "db-0", "web-7d9f", "web-7d9f-live1"}
	if !slices.Equal(got, want) {
		t.Fatalf("related events of %v, want %v", got, want)
	}
}
