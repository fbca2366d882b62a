package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

// run.* in handlers: every failed instance with its address and error,
// each step's status, error and duration, and run.status as it stands
// in on_failure and in finally; run.id is the Runner's.
func TestRunReferencesSeeHowTheRunWent(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "ok" {
    action   = std.sleep
    duration = "50ms"
  }
  step "deploy" {
    for_each   = toset(["eu", "us"])
    action     = std.noop
    fail       = "no capacity in ${each.key}"
    depends_on = [step.ok]
  }
  step "after" {
    action     = std.noop
    depends_on = [step.deploy]
  }
  on_failure {
    step "collect" {
      action = std.noop
      inputs = {
        id       = run.id
        status   = run.status
        failed   = [for f in run.failed_steps : "${f.address}|${f.step}"]
        errors   = run.steps.deploy.error
        ok       = run.steps.ok.status
        ok_time  = run.steps.ok.duration >= 0.05
        ok_error = run.steps.ok.error == null
        after    = run.steps.after.status
        pending  = run.steps.summary.status
        no_time  = run.steps.after.duration == null
      }
    }
  }
}
finally {
  step "summary" {
    action = std.noop
    inputs = "${run.status} ${run.steps.collect.status}"
    when   = run.status != "succeeded"
  }
}`, dsl.Inputs{})
	r := &engine.Runner{Pipeline: f.pipeline, Host: f.host, Redactor: f.redactor, RunID: "r-42",
		Events: engine.EventFunc(func(e engine.Event) { f.mu.Lock(); f.events = append(f.events, e); f.mu.Unlock() })}
	if res := r.Apply(context.Background(), context.Background()); res.Status != engine.StatusFailed {
		t.Fatalf("status %s", res.Status)
	}
	got := f.finished("collect").Outputs["inputs"].(map[string]any)
	want := map[string]any{"id": "r-42", "status": "failed", "ok": "succeeded", "ok_time": true, "ok_error": true,
		"after": "not_run", "pending": "pending", "no_time": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	failed, _ := got["failed"].([]any)
	if len(failed) != 2 || !strings.Contains(strings.Join([]string{failed[0].(string), failed[1].(string)}, " "), `step.deploy["eu"]|deploy`) {
		t.Errorf("failed = %v", got["failed"])
	}
	errs, _ := got["errors"].(string)
	if !strings.Contains(errs, `deploy["eu"]: `) || !strings.Contains(errs, "no capacity in us") || strings.Count(errs, "\n") != 1 {
		t.Errorf("errors = %q", errs)
	}
	if s := f.finished("summary"); s.Status != engine.StatusSucceeded || s.Outputs["inputs"] != "failed succeeded" {
		t.Errorf("summary: %s %v", s.Status, s.Outputs)
	}
}
