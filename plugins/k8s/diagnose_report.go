package main

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// markdown renders the report: causes, pods, events, logs.
func (d *diagnosis) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Diagnosis of %s in namespace %s\n\n", selectorText(d.selector), d.ns)
	b.WriteString("## Probable causes\n\n")
	if len(d.causes) == 0 {
		b.WriteString("Nothing looks wrong.\n")
	}
	for _, c := range d.causes {
		fmt.Fprintf(&b, "- %s\n", c)
	}
	d.writePods(&b)
	d.writeEvents(&b)
	d.writeLogs(&b)
	return b.String()
}

func (d *diagnosis) writePods(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Pods (%d)\n\n", len(d.pods))
	if len(d.pods) == 0 {
		b.WriteString("No pod matches.\n")
		return
	}
	b.WriteString("| pod | phase | ready | restarts | node |\n|---|---|---|---|---|\n")
	for _, p := range d.pods {
		fmt.Fprintf(b, "| %s | %s | %t | %d | %s |\n", p.Name, p.Status.Phase, podReady(&p), restarts(&p), orReason(p.Spec.NodeName, "(none)"))
	}
	for _, p := range d.pods {
		fmt.Fprintf(b, "\n### %s\n\n", p.Name)
		for _, c := range p.Status.Conditions {
			fmt.Fprintf(b, "- condition %s=%s%s\n", c.Type, c.Status, suffix(strings.TrimSpace(c.Reason+" "+c.Message)))
		}
		for _, cs := range allContainerStatuses(&p) {
			fmt.Fprintf(b, "- container %s: %s, ready %t, restarts %d%s\n", cs.Name, containerState(cs.State), cs.Ready, cs.RestartCount, lastTermination(cs))
		}
	}
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range allContainerStatuses(p) {
		n += cs.RestartCount
	}
	return n
}

func containerState(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return "waiting: " + s.Waiting.Reason + suffix(s.Waiting.Message)
	case s.Terminated != nil:
		return "terminated: " + describeTermination(s.Terminated)
	case s.Running != nil:
		return "running since " + s.Running.StartedAt.UTC().Format("15:04:05")
	}
	return "unknown"
}

func lastTermination(cs corev1.ContainerStatus) string {
	if t := cs.LastTerminationState.Terminated; t != nil {
		return "; last terminated: " + describeTermination(t)
	}
	return ""
}

func (d *diagnosis) writeEvents(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Events (%d)\n\n", len(d.events))
	if len(d.events) == 0 {
		b.WriteString("No events (the API server keeps them for an hour by default).\n")
		return
	}
	b.WriteString("| time | type | reason | object | message |\n|---|---|---|---|---|\n")
	for _, e := range d.events {
		fmt.Fprintf(b, "| %s | %s | %s | %s/%s | %s |\n", eventTime(e).UTC().Format("15:04:05"), e.Type, e.Reason,
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, tableCell(e.Message))
	}
}

func (d *diagnosis) writeLogs(b *strings.Builder) {
	b.WriteString("\n## Logs\n")
	if d.logLines == 0 {
		b.WriteString("\nNot collected (log_lines = 0).\n")
		return
	}
	if len(d.logs) == 0 && len(d.logErrors) > 0 {
		b.WriteString("\nThe cluster served no logs (a cluster without kubelets, such as a kwok sandbox, has none; containers that never started have none either).\n")
	}
	for _, key := range sortedKeys(d.logs) {
		text := strings.TrimRight(d.logs[key], "\n")
		if text == "" {
			text = "(empty)"
		}
		fmt.Fprintf(b, "\n### %s (last %d lines)\n\n```\n%s\n```\n", key, d.logLines, text)
	}
	for _, key := range sortedKeys(d.logErrors) {
		fmt.Fprintf(b, "\n- %s: logs unavailable: %s\n", key, d.logErrors[key])
	}
}

func tableCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(s), "\n", " "), "|", "\\|")
}
