package main_test

import (
	"strings"
	"testing"

	"github.com/pipectl/pipectl/engine"
)

// Every answer to a gate is recorded, refused ones too (the record layer's
// contract). On main at 03b9d15 an approval by someone who is not an
// approver, or by who started the run, was refused without a trace.
func TestRefusedApprovalsAreRecorded(t *testing.T) {
	p := newProject(t, `
pipeline "gated" {}
stage "build" {
  step "compile" { action = std.noop }
}
stage "deploy" {
  depends_on = [stage.build]
  approval {
    message   = "Deploy to prod?"
    approvers = ["bob", "carol"]
  }
  step "release" { action = std.noop }
}`)
	cmd, ch, stderr := startApplyAs(t, p, "alice")
	var seen []engine.Event
	id := waitingRun(t, p, ch, &seen)
	for user, why := range map[string]string{"mallory": "mallory is not one of the approvers", "alice": "alice is not one of the approvers"} {
		if _, errOut, code := p.as(user, "approve", id, "-yes"); code != 1 || !strings.Contains(errOut, why) || !strings.Contains(errOut, "recorded as refused") {
			t.Errorf("%s's approval: exit %d\n%s", user, code, errOut)
		}
	}
	if out, errOut, code := p.as("bob", "approve", id, "-yes", "-reason", "CHG-7"); code != 0 {
		t.Fatalf("bob's approval: exit %d\n%s%s", code, out, errOut)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	show, _, _ := p.run("runs", "show", id)
	for _, want := range []string{"refused by mallory (mallory is not one of the approvers", "refused by alice (alice is not one of the approvers",
		"approved by bob: CHG-7", "Gate stage.deploy (approval): passed"} {
		if !strings.Contains(show, want) {
			t.Errorf("runs show lacks %q:\n%s", want, show)
		}
	}
}
