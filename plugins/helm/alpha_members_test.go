package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// The project's own chart, as pipelines/alpha-members.hcl uses it: lint
// (strict), template with the environment's values and the pipeline's
// overrides, validated by the cluster, and an atomic install with wait.
func TestAlphaMembersChart(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	chart := abs("../../pipelines/alpha-members")
	values := []string{filepath.Join(chart, "values/dev.yaml")}
	overrides := obj(map[string]any{
		"image":        obj(map[string]any{"repository": env.Registry + "/alpha-members", "tag": "1.0.0"}),
		"replicaCount": 1,
		"resources":    obj(map[string]any{"requests": obj(map[string]any{"cpu": "100m", "memory": "128Mi"})}),
		// The sandbox has no Prometheus Operator (no PrometheusRule CRD), and
		// CRDs are cluster-wide: other tests' business.
		"monitoring": obj(map[string]any{"enabled": false}),
	})

	lint := p.Apply("lint", obj(map[string]any{"chart": chart, "values": values, "set": overrides, "strict": true}))
	requireOK(t, lint)
	if !lint.Output("passed").True() {
		t.Fatalf("lint %#v", lint.Outputs)
	}
	tmpl := p.Apply("template", obj(map[string]any{"chart": chart, "values": values, "set": overrides,
		"release": "alpha-members", "namespace": env.Namespace, "validate": true}))
	requireOK(t, tmpl)

	cfg := obj(map[string]any{"release": "alpha-members", "chart": chart, "namespace": env.Namespace, "values": values,
		"set": overrides, "install": true, "atomic": true, "wait": true, "create_namespace": true})
	requirePlanOK(t, p.Plan("upgrade", cfg))
	run := p.Apply("upgrade", cfg)
	requireOK(t, run)
	if num(t, run.Output("revision")) != 1 || run.Output("status").AsString() != "deployed" || !strings.HasPrefix(run.Output("chart").AsString(), "alpha-members-") {
		t.Fatalf("outputs %#v", run.Outputs)
	}
	tests := p.Apply("test", obj(map[string]any{"release": "alpha-members", "namespace": env.Namespace}))
	requireOK(t, tests)
	if num(t, tests.Output("passed")) < 1 {
		t.Fatalf("tests %#v", tests.Outputs)
	}

	// The next image: the plan shows the one line that changes.
	next := obj(map[string]any{"release": "alpha-members", "chart": chart, "namespace": env.Namespace, "values": values,
		"set":    mergeObj(overrides, "image", obj(map[string]any{"repository": env.Registry + "/alpha-members", "tag": "1.0.1-vuln"})),
		"atomic": true, "wait": true})
	plan := p.Plan("upgrade", next)
	requirePlanOK(t, plan)
	if !hasLine(plan.Change, "-", "image: "+env.Image("1.0.0")) || !hasLine(plan.Change, "+", "image: "+env.Image("1.0.1-vuln")) {
		t.Fatalf("the image change is not in the plan:\n%s", plan.Change)
	}
}

// mergeObj returns the object with one attribute replaced.
func mergeObj(o cty.Value, name string, v cty.Value) cty.Value {
	m := o.AsValueMap()
	m[name] = v
	return cty.ObjectVal(m)
}

// hasLine says whether a diff line starts with sign and holds text.
func hasLine(diff, sign, text string) bool {
	for _, line := range strings.Split(diff, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, sign) && strings.Contains(l, text) {
			return true
		}
	}
	return false
}
