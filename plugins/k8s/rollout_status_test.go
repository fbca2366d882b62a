package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

func TestRolloutStatusRollsOut(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "web", 2, "100m")
	run := applyWithin(t, p, time.Minute, "rollout_status", cfg(map[string]any{"namespace": env.Namespace, "deployment": "web"}))
	run.RequireSuccess(t)
	if got := run.Output("workloads"); !got.Equals(stringList([]string{"deployment/web"})).True() {
		t.Errorf("workloads %#v", got)
	}
	if len(run.Progress()) == 0 {
		t.Error("no progress streamed")
	}
	if !logsContain(run, "deployment/web: 2/2 updated, 2/2 ready, 2/2 available") {
		t.Errorf("no final progress line; logs:\n%v", run.Logs(""))
	}
}

// A manifest names the workloads; StatefulSets and DaemonSets roll out too.
func TestRolloutStatusFromManifest(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "api", 1, "50m")
	statefulSet(t, env, "cache", 2)
	daemonSet(t, env, "agent")
	manifest := `
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cache}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
`
	run := applyWithin(t, p, time.Minute, "rollout_status", cfg(map[string]any{"namespace": env.Namespace, "manifest": manifest}))
	run.RequireSuccess(t)
	want := stringList([]string{"daemonset/agent", "deployment/api", "statefulset/cache"})
	if got := run.Output("workloads"); !got.Equals(want).True() {
		t.Errorf("workloads %#v, want %#v", got, want)
	}
}

func TestRolloutStatusBySelector(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "one", 1, "50m")
	run := applyWithin(t, p, time.Minute, "rollout_status", cfg(map[string]any{
		"namespace": env.Namespace, "selector": map[string]any{"app": "one"}}))
	run.RequireSuccess(t)
	if got := run.Output("workloads"); !got.Equals(stringList([]string{"deployment/one"})).True() {
		t.Errorf("workloads %#v", got)
	}
}

// A deployment whose pods cannot be scheduled never rolls out: the step
// fails at its deadline saying why.
func TestRolloutStatusNeverReady(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "huge", 1, "100")
	run := applyWithin(t, p, 6*time.Second, "rollout_status", cfg(map[string]any{"namespace": env.Namespace, "deployment": "huge"}))
	requireFailure(t, run, "Not rolled out", "deployment/huge:", "0/1 ready", "unschedulable", "Insufficient cpu")
	if !logsContain(run, "Insufficient cpu") {
		t.Errorf("the progress stream does not say why; logs:\n%v", run.Logs(""))
	}
}

// Cancelling the step stops the watch promptly.
func TestRolloutStatusCancelled(t *testing.T) {
	env, p := sandbox(t)
	deployment(t, env, "stuck", 1, "100")
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(2*time.Second, cancel)
	began := time.Now()
	run := p.ApplyContext(ctx, "rollout_status", cfg(map[string]any{"namespace": env.Namespace, "deployment": "stuck"}))
	took := time.Since(began)
	if !errors.Is(run.Err, context.Canceled) {
		t.Fatalf("want a cancelled call, got err %v, diagnostics %v", run.Err, run.Diagnostics)
	}
	if took > 10*time.Second {
		t.Errorf("the watch took %s to stop after the cancel at 2s", took)
	}
	t.Logf("returned %s after the cancel", took-2*time.Second)
	if len(run.Progress()) == 0 {
		t.Error("no progress streamed before the cancel")
	}
	// The plugin process is still serving after a cancelled step.
	if s := p.Schema(); s.Actions["rollout_status"] == nil {
		t.Error("the plugin lost its schema")
	}
}

// Every check and wait plans as a run: it changes nothing.
func TestChecksPlanAsRuns(t *testing.T) {
	p := plugintestStart(t)
	for action, config := range map[string]map[string]any{
		"check_access":   {},
		"secrets_exist":  {"names": []string{"db"}},
		"capacity":       {"pods": 1, "requests": map[string]string{"cpu": "1"}},
		"rollout_status": {"deployment": "web"},
		"wait_ready":     {"selector": "app=web"},
		"endpoints":      {"service": "web"},
		"no_restarts":    {"selector": "app=web", "window": "1m"},
		"pod_security":   {},
		"diagnose":       {},
		"exists":         {"objects": cty.ListVal([]cty.Value{ref("v1", "ConfigMap", "settings")})},
	} {
		plan := p.Plan(action, cfg(config))
		if plan.Kind != sdk.PlanRun || plan.Summary == "" || plan.Diagnostics.HasErrors() {
			t.Errorf("%s plans as %v %q %v", action, plan.Kind, plan.Summary, plan.Diagnostics)
		}
	}
}

// A Deployment past its progress deadline fails the step at once, without
// waiting for the step's timeout.
func TestRolloutStatusProgressDeadlineExceeded(t *testing.T) {
	env, p := sandbox(t)
	d := newDeployment(env, "late", 1, "100")
	d.Spec.ProgressDeadlineSeconds = ptrInt32(1)
	create(t, env, d)
	began := time.Now()
	run := applyWithin(t, p, time.Minute, "rollout_status", cfg(map[string]any{"namespace": env.Namespace, "deployment": "late"}))
	requireFailure(t, run, "Rollout failed", "progress deadline exceeded", "Insufficient cpu")
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("took %s: the step waited for its timeout", took)
	}
}

func ptrInt32(v int32) *int32 { return &v }
