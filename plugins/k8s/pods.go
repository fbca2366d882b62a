package main

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// podReady reports whether the pod's Ready condition is true.
func podReady(p *corev1.Pod) bool {
	c := podCondition(p, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// podProblems says, in words, why a pod is not ready: the scheduler's
// message, a container's waiting reason (image pull, crash loop), a
// container running but failing its readiness probe, its last
// termination. Empty for a ready pod.
func podProblems(p *corev1.Pod) []string {
	if podReady(p) && p.DeletionTimestamp == nil {
		return nil
	}
	var out []string
	if p.DeletionTimestamp != nil {
		out = append(out, "terminating")
	}
	if c := podCondition(p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
		out = append(out, fmt.Sprintf("unschedulable: %s", orReason(c.Message, c.Reason)))
	}
	for _, cs := range allContainerStatuses(p) {
		out = append(out, containerProblems(cs)...)
	}
	if p.Status.Phase == corev1.PodFailed {
		out = append(out, fmt.Sprintf("failed: %s", orReason(p.Status.Message, p.Status.Reason)))
	}
	if len(out) == 0 {
		out = append(out, notReadyReason(p))
	}
	return out
}

func allContainerStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
}

// containerProblems explains one container that is not ready.
func containerProblems(cs corev1.ContainerStatus) []string {
	var out []string
	switch {
	case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
		w := cs.State.Waiting
		out = append(out, fmt.Sprintf("container %s: %s%s", cs.Name, describeWaiting(w.Reason), suffix(w.Message)))
	case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
		out = append(out, fmt.Sprintf("container %s: terminated: %s", cs.Name, describeTermination(cs.State.Terminated)))
	case cs.State.Running != nil && !cs.Ready:
		out = append(out, fmt.Sprintf("container %s: running but not ready (readiness probe failing)", cs.Name))
	}
	if t := cs.LastTerminationState.Terminated; t != nil && len(out) > 0 {
		out = append(out, fmt.Sprintf("container %s: last terminated: %s (restarts: %d)", cs.Name, describeTermination(t), cs.RestartCount))
	}
	return out
}

// describeWaiting names the usual waiting reasons in plain words.
func describeWaiting(reason string) string {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
		return reason + " (image pull error)"
	case "CrashLoopBackOff":
		return reason + " (crash loop)"
	case "CreateContainerConfigError":
		return reason + " (a referenced ConfigMap or Secret is missing or invalid)"
	}
	return reason
}

func describeTermination(t *corev1.ContainerStateTerminated) string {
	s := fmt.Sprintf("%s, exit code %d", orReason(t.Reason, "Error"), t.ExitCode)
	if t.Reason == "OOMKilled" {
		s += " (out of memory: raise the memory limit)"
	}
	return s + suffix(t.Message)
}

func notReadyReason(p *corev1.Pod) string {
	if c := podCondition(p, corev1.PodReady); c != nil && (c.Reason != "" || c.Message != "") {
		return fmt.Sprintf("not ready: %s", orReason(c.Message, c.Reason))
	}
	return fmt.Sprintf("not ready (phase %s)", orReason(string(p.Status.Phase), "Pending"))
}

func orReason(message, reason string) string {
	if message = strings.TrimSpace(message); message != "" {
		return message
	}
	return reason
}

func suffix(message string) string {
	if message = strings.TrimSpace(message); message != "" {
		return ": " + message
	}
	return ""
}
