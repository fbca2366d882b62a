package main

import (
	"context"
	"errors"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestSleep(t *testing.T) {
	p := start(t)
	run := p.Apply("sleep", cfg(map[string]any{"duration": "20ms"}))
	run.RequireSuccess(t)
	if run.Output("slept").AsString() != "20ms" || len(run.Progress()) != 2 {
		t.Errorf("outputs %#v, progress %+v", run.Outputs, run.Progress())
	}
	requireError(t, p.Validate("sleep", cfg(map[string]any{"duration": "forever"})), `Invalid duration "forever"`)
}

func TestSleepCancel(t *testing.T) {
	p := start(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		_, err := p.Plugin.Apply(ctx, applyReq("sleep", cfg(map[string]any{"duration": "1h"})), func(event) { close(started) })
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestNoopEchoesInputsKeepingSecrets(t *testing.T) {
	p := start(t)
	inputs := cty.ObjectVal(map[string]cty.Value{
		"user":     cty.StringVal("deploy"),
		"password": cty.StringVal("hunter2").Mark("sensitive"),
	})
	run := p.Apply("noop", cfg(map[string]any{"inputs": inputs}))
	run.RequireSuccess(t)
	echoed := run.Outputs.GetAttr("inputs")
	if !echoed.GetAttr("password").HasMark("sensitive") || echoed.GetAttr("user").IsMarked() {
		t.Errorf("marks not kept: %#v", echoed)
	}
	if unmarked, _ := echoed.UnmarkDeep(); !unmarked.RawEquals(cty.ObjectVal(map[string]cty.Value{
		"user": cty.StringVal("deploy"), "password": cty.StringVal("hunter2")})) {
		t.Errorf("inputs changed: %#v", unmarked)
	}
	if run.Output("step_id").AsString() != t.Name() {
		t.Errorf("step_id %#v", run.Output("step_id"))
	}
}

func TestNoopPlanFailAndFingerprint(t *testing.T) {
	p := start(t)
	plan := p.Plan("noop", cfg(map[string]any{"inputs": cty.UnknownVal(cty.String), "fingerprint": "v1"}))
	if plan.Fingerprint != "v1" || plan.PlannedOutputs.GetAttr("inputs").IsKnown() {
		t.Errorf("plan: %+v", plan)
	}
	run := p.Apply("noop", cfg(map[string]any{"fail": "boom"}))
	requireError(t, run.Diagnostics, "boom")
}

// A duration from a sensitive variable: reading it must not panic (cty's
// AsString does on a marked value), and the plan must not show it.
func TestSleepWithASensitiveDuration(t *testing.T) {
	p := start(t)
	plan := p.PlanHCL("sleep", `duration = sensitive("10ms")`)
	if plan.Diagnostics.HasErrors() || plan.Summary != "sleep (sensitive)" {
		t.Errorf("plan: %+v", plan)
	}
	run := p.ApplyHCL("sleep", `duration = sensitive("10ms")`)
	run.RequireSuccess(t)
	if got := run.Output("slept").AsString(); got != "10ms" {
		t.Errorf("slept %q", got)
	}
}
