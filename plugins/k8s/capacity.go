package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*capacity)(nil)

// capacity checks that a release fits before it is deployed: its pods'
// requests against the namespace's ResourceQuotas and LimitRanges and the
// nodes' free room.
type capacity struct{ cluster *cluster }

type capacityConfig struct {
	Namespace string            `cty:"namespace"`
	Pods      *int              `cty:"pods"`
	Requests  map[string]string `cty:"requests"`
	Limits    map[string]string `cty:"limits"`
	Manifest  string            `cty:"manifest"`
}

func (capacity) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Check that a release fits: the CPU, memory and pod count it needs (pods × requests, or every workload of rendered manifests) against the namespace's ResourceQuotas and LimitRanges and the nodes' allocatable minus what is already requested. Report artifact capacity.md; fails listing every shortfall.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace": namespaceAttr,
			"pods":      {Type: cty.Number, Description: "How many pods (replicas; the autoscaler's maximum when it scales). With requests."},
			"requests":  {Type: cty.Map(cty.String), Description: "Requests of one pod: { cpu = \"500m\", memory = \"512Mi\" }. With pods."},
			"limits":    {Type: cty.Map(cty.String), Description: "Limits of one pod, checked against limits.* quotas and LimitRange maximums. With pods."},
			"manifest":  {Type: cty.String, Description: "Rendered manifests (helm.template's output) instead of pods/requests: every Deployment, StatefulSet, ReplicaSet, DaemonSet (one pod per node), Job and Pod in them."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"needed":    {Type: cty.Map(cty.String), Description: "Total requests needed: cpu, memory, pods."},
			"available": {Type: cty.Map(cty.String), Description: "Free on the schedulable nodes, summed: cpu, memory, pods."},
			"report":    {Type: cty.String, Description: "The Markdown report (also attached as capacity.md)."},
		},
	}
}

func (capacity) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	c := req.Config
	pods, manifest := c.GetAttr("pods"), c.GetAttr("manifest")
	if pods.IsKnown() && manifest.IsKnown() && pods.IsNull() == manifest.IsNull() {
		resp.Diagnostics.AddError("Set either pods (with requests) or manifest", "pods = 3 with requests = { cpu = \"500m\", memory = \"512Mi\" } says what one pod needs; manifest = rendered YAML reads it from the workloads.")
	}
	for _, name := range []string{"requests", "limits"} {
		v, _ := c.GetAttr(name).UnmarkDeep()
		if !v.IsWhollyKnown() || v.IsNull() {
			continue
		}
		m := map[string]string{}
		for k, q := range v.AsValueMap() {
			m[k] = q.AsString()
		}
		if _, err := resourceList(m); err != nil {
			resp.Diagnostics.AddAttributeError(attr(name), "Invalid "+name, err.Error())
		}
	}
}

func (capacity) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "check quota, limit ranges and node capacity for the release"
	if v, _ := req.Config.GetAttr("pods").Unmark(); v.IsKnown() && !v.IsNull() {
		resp.Summary = fmt.Sprintf("check quota, limit ranges and node capacity for %s", plural(int(bigInt(v)), "pod"))
	}
}

func (a capacity) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg capacityConfig
	cn := a.cluster.decodeAndConnect(req, &cfg, resp)
	if cn == nil {
		return
	}
	ns := cn.namespaceOr(cfg.Namespace)
	quotas, err := cn.client.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the namespace's ResourceQuotas", err.Error())
		return
	}
	ranges, err := cn.client.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the namespace's LimitRanges", err.Error())
		return
	}
	nodes, nodesErr := freeOnNodes(ctx, cn)
	n, aerr := capacityNeed(cfg, ranges.Items, len(nodes))
	if aerr != nil {
		resp.Diagnostics.AddAttributeError(attr(aerr.attribute), "Cannot tell what the release needs", aerr.Error())
		return
	}
	r := capacityReport{ns: ns, need: n, nodes: nodes, nodesErr: nodesErr}
	r.quotaLeft, r.quotaProblems = checkQuotas(quotas.Items, n)
	r.rangeProblems = checkLimitRanges(ranges.Items, n)
	if nodesErr == nil {
		r.nodeProblems = place(nodes, n)
	}
	report := r.markdown()
	req.Events.Artifact("capacity.md", "text/markdown", []byte(report))
	if nodesErr != nil {
		req.Events.Log(sdk.Stderr, fmt.Sprintf("nodes not checked: %v", nodesErr))
	}
	req.Events.Log(sdk.Stdout, r.verdict())
	if problems := r.problems(); len(problems) > 0 {
		resp.Diagnostics.AddError(fmt.Sprintf("The release does not fit in namespace %s", ns), "- "+strings.Join(problems, "\n- "))
		return
	}
	resp.Summary = r.verdict()
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"needed": quantities(n.total(requestsOf)), "available": quantities(r.totalFree()), "report": cty.StringVal(report),
	})
}

// attrError is an error about one attribute.
type attrError struct {
	attribute string
	err       error
}

func (e *attrError) Error() string { return e.err.Error() }

// capacityNeed reads what the release needs, from pods × requests or
// from manifests (with the LimitRanges' defaults for containers that set
// no requests, as admission will fill them in).
func capacityNeed(cfg capacityConfig, ranges []corev1.LimitRange, nodes int) (need, *attrError) {
	if cfg.Manifest != "" {
		objs, err := parseManifests(cfg.Manifest)
		if err != nil {
			return need{}, &attrError{"manifest", err}
		}
		n, err := needFromManifests(objs, nodes, ranges)
		if err != nil {
			return need{}, &attrError{"manifest", err}
		}
		return n, nil
	}
	requests, err := resourceList(cfg.Requests)
	if err != nil {
		return need{}, &attrError{"requests", err}
	}
	limits, err := resourceList(cfg.Limits)
	if err != nil {
		return need{}, &attrError{"limits", err}
	}
	count := int64(1)
	if cfg.Pods != nil {
		count = int64(*cfg.Pods)
	}
	container := corev1.ResourceRequirements{Requests: requests, Limits: limits}
	g := podGroup{source: "the release", count: count, requests: requests, limits: limits, containers: []corev1.ResourceRequirements{container}}
	return need{groups: []podGroup{g}}, nil
}

// resourceList reads { cpu = "500m", memory = "512Mi" }.
func resourceList(m map[string]string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, k := range sortedKeys(m) {
		if k != "cpu" && k != "memory" && k != "ephemeral-storage" {
			return nil, fmt.Errorf("unknown resource %q: use cpu, memory or ephemeral-storage", k)
		}
		parsed, err := resource.ParseQuantity(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s = %q is not a quantity (write \"500m\", \"1\", \"512Mi\", \"2Gi\")", k, m[k])
		}
		out[corev1.ResourceName(k)] = parsed
	}
	return out, nil
}

func stringMap(m map[string]string) map[string]cty.Value {
	out := make(map[string]cty.Value, len(m))
	for k, v := range m {
		out[k] = cty.StringVal(v)
	}
	return out
}

func quantities(l corev1.ResourceList) cty.Value {
	m := map[string]cty.Value{}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		q := l[r]
		m[string(r)] = cty.StringVal(q.String())
	}
	return cty.MapVal(m)
}
