package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// relatedOwners names what the pods belong to (ReplicaSets, and through
// them Deployments) and the workloads the selector matches, whose events
// explain pods that were never created (quota, admission).
func relatedOwners(ctx context.Context, cn *conn, ns string, sel labels.Selector, pods []corev1.Pod) (map[string]bool, error) {
	owners := map[string]bool{}
	for _, p := range pods {
		for _, o := range p.OwnerReferences {
			owners[o.Name] = true
		}
	}
	opts := metav1.ListOptions{LabelSelector: sel.String()}
	apps := cn.client.AppsV1()
	rss, err := apps.ReplicaSets(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, rs := range rss.Items {
		owners[rs.Name] = true
		for _, o := range rs.OwnerReferences {
			owners[o.Name] = true
		}
	}
	deps, err := apps.Deployments(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		owners[d.Name] = true
	}
	sts, err := apps.StatefulSets(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, s := range sts.Items {
		owners[s.Name] = true
	}
	return owners, nil
}

// relatedEvents keeps the events about the pods and their owners (all
// events of the namespace when everything is selected), oldest first. It
// keeps those of pods that are gone too, when an owner's name says it made
// them: after an atomic rollback the failed revision's pods are deleted,
// and their events are all that is left of why they never became ready.
func relatedEvents(all []corev1.Event, pods []corev1.Pod, owners map[string]bool, everything bool) []corev1.Event {
	podNames := map[string]bool{}
	for _, p := range pods {
		podNames[p.Name] = true
	}
	var out []corev1.Event
	for _, e := range all {
		o := e.InvolvedObject
		if everything || (o.Kind == "Pod" && (podNames[o.Name] || madeBy(o.Name, owners))) || (o.Kind != "Pod" && owners[o.Name]) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b).Time) })
	return out
}

// madeBy says whether a pod's name is one its owner gives the pods it
// makes: a ReplicaSet's pods are named <replicaset>-<suffix>, a
// StatefulSet's <statefulset>-<ordinal>: the owner's name, a dash and a
// suffix without one.
func madeBy(pod string, owners map[string]bool) bool {
	i := strings.LastIndexByte(pod, '-')
	return i > 0 && owners[pod[:i]]
}

func eventTime(e corev1.Event) metav1.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.NewTime(e.EventTime.Time)
	}
	return e.CreationTimestamp
}

// findCauses concludes the probable causes, most telling first. Events
// count once per object and reason: a ReplicaSet refused by a quota says
// so for every pod it tries to create.
func (d *diagnosis) findCauses() {
	add := func(c string) {
		if !slices.Contains(d.causes, c) {
			d.causes = append(d.causes, c)
		}
	}
	if len(d.pods) == 0 {
		add(fmt.Sprintf("no pods match %s in namespace %s", selectorText(d.selector), d.ns))
	}
	for _, p := range d.pods {
		for _, c := range podCauses(&p) {
			add(c)
		}
	}
	seen := map[string]bool{}
	for _, e := range slices.Backward(d.events) { // the latest of each kind
		key := e.Reason + "/" + e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name
		if c := eventCause(e); c != "" && !seen[key] {
			seen[key] = true
			if e.InvolvedObject.Kind == "Pod" && !d.hasPod(e.InvolvedObject.Name) {
				c += " (that pod is gone: replaced, or removed by a rollback)"
			}
			add(c)
		}
	}
}

// podCauses names the problems of one pod that explain a failed deploy.
func podCauses(p *corev1.Pod) []string {
	var out []string
	if c := podCondition(p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
		out = append(out, fmt.Sprintf("unschedulable: pod %s: %s", p.Name, orReason(c.Message, c.Reason)))
	}
	for _, cs := range allContainerStatuses(p) {
		where := fmt.Sprintf("pod %s, container %s", p.Name, cs.Name)
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
				out = append(out, fmt.Sprintf("image pull error: %s: %s%s", where, w.Reason, suffix(w.Message)))
			case "CrashLoopBackOff":
				out = append(out, fmt.Sprintf("crash loop: %s: restarted %d times", where, cs.RestartCount))
			case "CreateContainerConfigError":
				out = append(out, fmt.Sprintf("bad container config: %s%s", where, suffix(w.Message)))
			}
		}
		for _, t := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
			if t != nil && t.Reason == "OOMKilled" {
				out = append(out, fmt.Sprintf("OOMKilled: %s: out of memory (limit too low or a leak)", where))
			}
		}
		if cs.State.Running != nil && !cs.Ready && cs.Started != nil && *cs.Started {
			out = append(out, fmt.Sprintf("failing readiness probe: %s is running but not ready", where))
		}
	}
	return out
}

// eventCause reads a cause from a warning event.
func eventCause(e corev1.Event) string {
	if e.Type != corev1.EventTypeWarning {
		return ""
	}
	who := strings.ToLower(e.InvolvedObject.Kind) + " " + e.InvolvedObject.Name
	msg := strings.TrimPrefix(firstLine(e.Message), "(combined from similar events): ")
	switch {
	case e.Reason == "FailedScheduling":
		return fmt.Sprintf("unschedulable: %s: %s", who, msg)
	case e.Reason == "Unhealthy":
		return fmt.Sprintf("failing probe: %s: %s", who, msg)
	case e.Reason == "BackOff" && strings.Contains(msg, "restarting"):
		return fmt.Sprintf("crash loop: %s: %s", who, msg)
	case strings.Contains(msg, "pull") && (e.Reason == "Failed" || e.Reason == "BackOff"):
		return fmt.Sprintf("image pull error: %s: %s", who, msg)
	case e.Reason == "FailedCreate":
		return fmt.Sprintf("pods not created: %s: %s", who, msg)
	case e.Reason == "OOMKilling":
		return fmt.Sprintf("OOMKilled: %s: %s", who, msg)
	}
	return ""
}

func (d *diagnosis) hasPod(name string) bool {
	return slices.ContainsFunc(d.pods, func(p corev1.Pod) bool { return p.Name == name })
}

func selectorText(sel labels.Selector) string {
	if sel.Empty() {
		return "(everything)"
	}
	return sel.String()
}

// summary is the causes, one a line.
func (d *diagnosis) summary() string {
	if len(d.causes) == 0 {
		return fmt.Sprintf("nothing looks wrong with %s in namespace %s", plural(len(d.pods), "pod"), d.ns)
	}
	return "probable causes:\n- " + strings.Join(d.causes, "\n- ")
}
