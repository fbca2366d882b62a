package main

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// need is what a release asks of the cluster: its pods and their
// requests and limits.
type need struct {
	groups []podGroup
}

// podGroup is count identical pods (a workload's replicas).
type podGroup struct {
	source   string // deployment/web, or "pods" from the attributes
	count    int64
	requests corev1.ResourceList // of one pod
	limits   corev1.ResourceList // of one pod
	// containers' own requests and limits, for LimitRange checks
	containers []corev1.ResourceRequirements
}

// total is the sum over every pod of the resource in list (requests or
// limits), plus the pod count.
func (n need) total(pick func(podGroup) corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(0, resource.DecimalSI)}
	for _, g := range n.groups {
		for name, q := range pick(g) {
			addScaled(out, name, q, g.count)
		}
		addScaled(out, corev1.ResourcePods, *resource.NewQuantity(1, resource.DecimalSI), g.count)
	}
	return out
}

func addScaled(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity, times int64) {
	sum := list[name]
	for range times {
		sum.Add(q)
	}
	list[name] = sum
}

func requestsOf(g podGroup) corev1.ResourceList { return g.requests }
func limitsOf(g podGroup) corev1.ResourceList   { return g.limits }

// needFromManifests reads the pods that rendered manifests will create.
// DaemonSets count one pod per node.
func needFromManifests(objs []*unstructured.Unstructured, nodes int, ranges []corev1.LimitRange) (need, error) {
	var n need
	for _, u := range objs {
		spec, count, err := podTemplate(u, nodes)
		if err != nil {
			return n, fmt.Errorf("%s: %w", objectName(u), err)
		}
		if spec != nil {
			defaultRequests(spec, ranges)
			n.groups = append(n.groups, groupOf(lower(u.GetKind())+"/"+u.GetName(), count, spec))
		}
	}
	return n, nil
}

// podTemplate returns the pod spec of a workload and how many pods it runs;
// nil for objects that run no pods.
func podTemplate(u *unstructured.Unstructured, nodes int) (*corev1.PodSpec, int64, error) {
	conv := runtime.DefaultUnstructuredConverter
	switch u.GroupVersionKind().GroupKind().String() {
	case "Deployment.apps":
		var d appsv1.Deployment
		err := conv.FromUnstructured(u.Object, &d)
		return &d.Spec.Template.Spec, int64(replicas(d.Spec.Replicas)), err
	case "StatefulSet.apps":
		var s appsv1.StatefulSet
		err := conv.FromUnstructured(u.Object, &s)
		return &s.Spec.Template.Spec, int64(replicas(s.Spec.Replicas)), err
	case "ReplicaSet.apps":
		var r appsv1.ReplicaSet
		err := conv.FromUnstructured(u.Object, &r)
		return &r.Spec.Template.Spec, int64(replicas(r.Spec.Replicas)), err
	case "DaemonSet.apps":
		var d appsv1.DaemonSet
		err := conv.FromUnstructured(u.Object, &d)
		return &d.Spec.Template.Spec, int64(nodes), err
	case "Job.batch":
		var j batchv1.Job
		err := conv.FromUnstructured(u.Object, &j)
		return &j.Spec.Template.Spec, int64(replicas(j.Spec.Parallelism)), err
	case "Pod":
		var p corev1.Pod
		err := conv.FromUnstructured(u.Object, &p)
		return &p.Spec, 1, err
	}
	return nil, 0, nil
}

// groupOf sums a pod spec's requests the way the scheduler does: the
// containers' sum, or the largest init container if that is more, plus
// the pod overhead.
func groupOf(source string, count int64, spec *corev1.PodSpec) podGroup {
	g := podGroup{source: source, count: count, requests: corev1.ResourceList{}, limits: corev1.ResourceList{}}
	for _, c := range spec.Containers {
		addAll(g.requests, c.Resources.Requests)
		addAll(g.limits, c.Resources.Limits)
		g.containers = append(g.containers, c.Resources)
	}
	for _, c := range spec.InitContainers {
		maxAll(g.requests, c.Resources.Requests)
		maxAll(g.limits, c.Resources.Limits)
	}
	addAll(g.requests, spec.Overhead)
	return g
}

func addAll(into, from corev1.ResourceList) {
	for name, q := range from {
		sum := into[name]
		sum.Add(q)
		into[name] = sum
	}
}

func maxAll(into, from corev1.ResourceList) {
	for name, q := range from {
		if cur, ok := into[name]; !ok || q.Cmp(cur) > 0 {
			into[name] = q
		}
	}
}

// defaultRequests fills in what LimitRange admission will: a container
// without a request gets the default request (or the default limit).
func defaultRequests(spec *corev1.PodSpec, ranges []corev1.LimitRange) {
	for _, lr := range ranges {
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypeContainer {
				continue
			}
			for i := range spec.Containers {
				res := &spec.Containers[i].Resources
				res.Requests = fillMissing(res.Requests, item.DefaultRequest, item.Default)
				res.Limits = fillMissing(res.Limits, item.Default)
			}
		}
	}
}

func fillMissing(list corev1.ResourceList, defaults ...corev1.ResourceList) corev1.ResourceList {
	if list == nil {
		list = corev1.ResourceList{}
	}
	for _, d := range defaults {
		for name, q := range d {
			if _, ok := list[name]; !ok {
				list[name] = q
			}
		}
	}
	return list
}
