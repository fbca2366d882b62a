package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

// A plugin that dies during a step fails the step with what happened
// (client.ErrPluginExited), and the host launches it afresh for the next
// step rather than call the dead one.
func TestPluginThatDiesFailsTheStepAndIsRelaunched(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "dies" {
    action            = std.exec
    command           = "sh"
    args              = ["-c", "kill -9 $PPID; sleep 30"]
    continue_on_error = true
  }
  step "next" {
    action     = std.noop
    depends_on = [step.dies]
  }
}`, dsl.Inputs{})
	res := f.apply(context.Background(), 10)
	if res.Steps["dies"] != engine.StatusFailedContinued || res.Steps["next"] != engine.StatusSucceeded {
		t.Fatalf("steps %v", res.Steps)
	}
	if e := f.finished("dies"); !strings.HasPrefix(e.Message, "plugin std exited or stopped answering during the step: ") {
		t.Errorf("dies: %q", e.Message)
	}
}
