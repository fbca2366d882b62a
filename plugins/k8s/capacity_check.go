package main

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// quotaNeeds maps a ResourceQuota's resource names to what counts against
// them: the pods' total requests, limits or count.
var quotaNeeds = map[corev1.ResourceName]struct {
	limits   bool
	resource corev1.ResourceName
}{
	corev1.ResourcePods:           {false, corev1.ResourcePods},
	"count/pods":                  {false, corev1.ResourcePods},
	corev1.ResourceCPU:            {false, corev1.ResourceCPU},
	corev1.ResourceRequestsCPU:    {false, corev1.ResourceCPU},
	corev1.ResourceMemory:         {false, corev1.ResourceMemory},
	corev1.ResourceRequestsMemory: {false, corev1.ResourceMemory},
	corev1.ResourceLimitsCPU:      {true, corev1.ResourceCPU},
	corev1.ResourceLimitsMemory:   {true, corev1.ResourceMemory},
}

// checkQuotas compares the totals with what each quota has left. left is
// the least left of any quota, by needed resource.
func checkQuotas(quotas []corev1.ResourceQuota, n need) (left corev1.ResourceList, problems []string) {
	requests, limits := n.total(requestsOf), n.total(limitsOf)
	left = corev1.ResourceList{}
	for _, q := range quotas {
		for _, rn := range sortedKeys(q.Status.Hard) {
			what, ok := quotaNeeds[rn]
			if !ok {
				continue
			}
			remaining := q.Status.Hard[rn].DeepCopy()
			used := q.Status.Used[rn]
			remaining.Sub(used)
			if cur, seen := left[what.resource]; !what.limits && (!seen || remaining.Cmp(cur) < 0) {
				left[what.resource] = remaining
			}
			needed := requests[what.resource]
			if what.limits {
				needed = limits[what.resource]
				if p := missingLimit(n, what.resource); p != "" {
					problems = append(problems, fmt.Sprintf("quota %s sets %s: every pod must set it, but %s", q.Name, rn, p))
				}
			}
			if needed.Cmp(remaining) > 0 {
				hard := q.Status.Hard[rn]
				problems = append(problems, fmt.Sprintf("quota %s: %s needs %s, only %s left (%s of %s used)",
					q.Name, rn, needed.String(), remaining.String(), used.String(), hard.String()))
			}
		}
	}
	return left, problems
}

func missingLimit(n need, r corev1.ResourceName) string {
	for _, g := range n.groups {
		if _, ok := g.limits[r]; !ok {
			return g.source + " sets no " + string(r) + " limit"
		}
	}
	return ""
}

// checkLimitRanges checks each container (and pod) against the
// namespace's LimitRanges: requests at least min, limits at most max.
func checkLimitRanges(ranges []corev1.LimitRange, n need) []string {
	var problems []string
	for _, lr := range ranges {
		for _, item := range lr.Spec.Limits {
			for _, g := range n.groups {
				switch item.Type {
				case corev1.LimitTypeContainer:
					for _, c := range g.containers {
						problems = append(problems, outOfRange(lr.Name, "a container of "+g.source, item, c.Requests, c.Limits)...)
					}
				case corev1.LimitTypePod:
					problems = append(problems, outOfRange(lr.Name, "a pod of "+g.source, item, g.requests, g.limits)...)
				}
			}
		}
	}
	return problems
}

func outOfRange(lrName, who string, item corev1.LimitRangeItem, requests, limits corev1.ResourceList) []string {
	var out []string
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := requests[r]
		lim, hasLim := limits[r]
		if min, ok := item.Min[r]; ok && hasReq && req.Cmp(min) < 0 {
			out = append(out, fmt.Sprintf("limit range %s: %s requests %s %s, below the minimum %s", lrName, who, r, req.String(), min.String()))
		}
		if max, ok := item.Max[r]; ok {
			if hasReq && req.Cmp(max) > 0 {
				out = append(out, fmt.Sprintf("limit range %s: %s requests %s %s, above the maximum %s", lrName, who, r, req.String(), max.String()))
			}
			if hasLim && lim.Cmp(max) > 0 {
				out = append(out, fmt.Sprintf("limit range %s: %s has a %s limit of %s, above the maximum %s", lrName, who, r, lim.String(), max.String()))
			}
		}
	}
	return out
}

// nodeFree is what a schedulable node has left: allocatable minus the
// requests of the pods already on it.
type nodeFree struct {
	name string
	free corev1.ResourceList
}

// freeOnNodes reads every schedulable node's free CPU, memory and pods.
func freeOnNodes(ctx context.Context, cn *conn) ([]nodeFree, error) {
	nodes, err := cn.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	pods, err := cn.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"})
	if err != nil {
		return nil, err
	}
	used := map[string]corev1.ResourceList{}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" {
			continue
		}
		if used[p.Spec.NodeName] == nil {
			used[p.Spec.NodeName] = corev1.ResourceList{}
		}
		g := groupOf("", 1, &p.Spec)
		addAll(used[p.Spec.NodeName], g.requests)
		addAll(used[p.Spec.NodeName], corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)})
	}
	var out []nodeFree
	for _, node := range nodes.Items {
		if schedulable(&node) {
			out = append(out, nodeFree{name: node.Name, free: subtract(node.Status.Allocatable, used[node.Name])})
		}
	}
	return out, nil
}

func schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func subtract(total, used corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		q := total[r].DeepCopy()
		q.Sub(used[r])
		out[r] = q
	}
	return out
}

// place puts every pod on a node with room for it, largest groups first,
// and says which do not fit: a pod larger than any node's free room is
// over-sized; otherwise the nodes are simply full.
func place(nodes []nodeFree, n need) []string {
	free := make([]corev1.ResourceList, len(nodes))
	for i, nd := range nodes {
		free[i] = nd.free.DeepCopy()
	}
	var problems []string
	for _, g := range n.groups {
		pod := withPod(g.requests)
		if !fitsAnywhere(nodes, pod) {
			problems = append(problems, fmt.Sprintf("one pod of %s asks %s: more than any node has free (%s)", g.source, describeList(pod), largestFree(nodes)))
			continue
		}
		placed := int64(0)
		for ; placed < g.count; placed++ {
			i := slices.IndexFunc(free, func(f corev1.ResourceList) bool { return fits(pod, f) })
			if i < 0 {
				break
			}
			free[i] = subtract(free[i], pod)
		}
		if placed < g.count {
			problems = append(problems, fmt.Sprintf("only %d of the %d pods of %s fit in the nodes' free capacity", placed, g.count, g.source))
		}
	}
	return problems
}

func withPod(requests corev1.ResourceList) corev1.ResourceList {
	out := requests.DeepCopy()
	out[corev1.ResourcePods] = *resource.NewQuantity(1, resource.DecimalSI)
	return out
}

func fits(pod, free corev1.ResourceList) bool {
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		if q, ok := pod[r]; ok && q.Cmp(free[r]) > 0 {
			return false
		}
	}
	return true
}

func fitsAnywhere(nodes []nodeFree, pod corev1.ResourceList) bool {
	return slices.ContainsFunc(nodes, func(n nodeFree) bool { return fits(pod, n.free) })
}

func largestFree(nodes []nodeFree) string {
	if len(nodes) == 0 {
		return "no schedulable node"
	}
	best := slices.MaxFunc(nodes, func(a, b nodeFree) int {
		ac, bc := a.free[corev1.ResourceCPU], b.free[corev1.ResourceCPU]
		return ac.Cmp(bc)
	})
	return fmt.Sprintf("the most is %s on %s", describeList(best.free), best.name)
}

func describeList(l corev1.ResourceList) string {
	cpu, mem := l[corev1.ResourceCPU], l[corev1.ResourceMemory]
	return fmt.Sprintf("cpu %s, memory %s", cpu.String(), mem.String())
}
