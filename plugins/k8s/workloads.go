package main

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// workload is a Deployment, StatefulSet or DaemonSet, reduced to what a
// rollout report needs.
type workload struct {
	kind, name                         string
	selector                           *metav1.LabelSelector
	desired, updated, ready, available int32
	status                             status.Status
	message                            string
}

func (w workload) id() string { return strings.ToLower(w.kind) + "/" + w.name }

// line is one progress line: "deployment/web: 2/3 updated, 1/3 ready, 1/3 available".
func (w workload) line() string {
	s := fmt.Sprintf("%s: %d/%d updated, %d/%d ready, %d/%d available", w.id(),
		w.updated, w.desired, w.ready, w.desired, w.available, w.desired)
	if w.status != status.CurrentStatus && w.message != "" {
		s += " (" + w.message + ")"
	}
	return s
}

func fromDeployment(d *appsv1.Deployment) workload {
	w := workload{kind: "Deployment", name: d.Name, selector: d.Spec.Selector, desired: replicas(d.Spec.Replicas),
		updated: d.Status.UpdatedReplicas, ready: d.Status.ReadyReplicas, available: d.Status.AvailableReplicas}
	return withStatus(w, d, appsv1.SchemeGroupVersion.WithKind("Deployment"))
}

func fromStatefulSet(s *appsv1.StatefulSet) workload {
	w := workload{kind: "StatefulSet", name: s.Name, selector: s.Spec.Selector, desired: replicas(s.Spec.Replicas),
		updated: s.Status.UpdatedReplicas, ready: s.Status.ReadyReplicas, available: s.Status.AvailableReplicas}
	return withStatus(w, s, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))
}

func fromDaemonSet(d *appsv1.DaemonSet) workload {
	w := workload{kind: "DaemonSet", name: d.Name, selector: d.Spec.Selector, desired: d.Status.DesiredNumberScheduled,
		updated: d.Status.UpdatedNumberScheduled, ready: d.Status.NumberReady, available: d.Status.NumberAvailable}
	return withStatus(w, d, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// withStatus decides "rolled out" with kstatus, the rules kubectl and
// Flux use: observed generation current, every replica updated, ready and
// available, no old replicas left; Failed when the progress deadline passed.
func withStatus(w workload, obj runtime.Object, gvk schema.GroupVersionKind) workload {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		w.status, w.message = status.UnknownStatus, err.Error()
		return w
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetGroupVersionKind(gvk) // objects from informers carry no apiVersion/kind
	res, err := status.Compute(u)
	if err != nil {
		w.status, w.message = status.UnknownStatus, err.Error()
		return w
	}
	w.status, w.message = res.Status, res.Message
	return w
}

// podsOf returns the pods a workload selects.
func podsOf(w workload, pods []*corev1.Pod) []*corev1.Pod {
	sel, err := metav1.LabelSelectorAsSelector(w.selector)
	if err != nil {
		return nil
	}
	var out []*corev1.Pod
	for _, p := range pods {
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}
