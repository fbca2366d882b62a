package main

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// capacityReport is what capacity found, rendered as Markdown.
type capacityReport struct {
	ns            string
	need          need
	nodes         []nodeFree
	nodesErr      error
	quotaLeft     corev1.ResourceList
	quotaProblems []string
	rangeProblems []string
	nodeProblems  []string
}

func (r capacityReport) problems() []string {
	return append(append(append([]string{}, r.quotaProblems...), r.rangeProblems...), r.nodeProblems...)
}

func (r capacityReport) verdict() string {
	if p := r.problems(); len(p) > 0 {
		return fmt.Sprintf("does NOT fit: %s", plural(len(p), "problem"))
	}
	return "fits: " + describeList(r.need.total(requestsOf)) + fmt.Sprintf(", %s", plural(int(r.podCount()), "pod"))
}

func (r capacityReport) podCount() int64 {
	p := r.need.total(requestsOf)[corev1.ResourcePods]
	return p.Value()
}

func (r capacityReport) totalFree() corev1.ResourceList {
	total := corev1.ResourceList{}
	for _, n := range r.nodes {
		addAll(total, n.free)
	}
	return total
}

func (r capacityReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Capacity in namespace %s\n\nVerdict: **%s**\n\n", r.ns, r.verdict())
	needed, limits := r.need.total(requestsOf), r.need.total(limitsOf)
	free := r.totalFree()
	b.WriteString("| resource | needed (requests) | needed (limits) | quota left | free on nodes |\n|---|---|---|---|---|\n")
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", res, qty(needed, res), qty(limits, res), qtyOr(r.quotaLeft, res, "no quota"), r.freeCell(free, res))
	}
	b.WriteString("\n## Workloads\n\n| source | pods | requests of one pod |\n|---|---|---|\n")
	for _, g := range r.need.groups {
		fmt.Fprintf(&b, "| %s | %d | %s |\n", g.source, g.count, describeList(g.requests))
	}
	r.writeNodes(&b)
	if p := r.problems(); len(p) > 0 {
		b.WriteString("\n## Problems\n\n- " + strings.Join(p, "\n- ") + "\n")
	}
	return b.String()
}

func (r capacityReport) writeNodes(b *strings.Builder) {
	b.WriteString("\n## Nodes\n\n")
	if r.nodesErr != nil {
		fmt.Fprintf(b, "Not checked: %v (reading nodes and every namespace's pods needs cluster-wide list access).\n", r.nodesErr)
		return
	}
	b.WriteString("| node | free cpu | free memory | free pods |\n|---|---|---|---|\n")
	for _, n := range r.nodes {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", n.name, qty(n.free, corev1.ResourceCPU), qty(n.free, corev1.ResourceMemory), qty(n.free, corev1.ResourcePods))
	}
}

func (r capacityReport) freeCell(free corev1.ResourceList, res corev1.ResourceName) string {
	if r.nodesErr != nil {
		return "not checked"
	}
	return qty(free, res)
}

func qty(l corev1.ResourceList, r corev1.ResourceName) string { return qtyOr(l, r, "0") }

func qtyOr(l corev1.ResourceList, r corev1.ResourceName, none string) string {
	q, ok := l[r]
	if !ok {
		return none
	}
	return (&q).String()
}
