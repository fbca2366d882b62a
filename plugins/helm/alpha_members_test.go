package main

import (
	"path/filepath"
	"strings"
	"testing"

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
	status := p.Apply("status", obj(map[string]any{"release": "alpha-members", "namespace": env.Namespace}))
	requireOK(t, status)
}
