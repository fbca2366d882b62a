package engine_test

import (
	"fmt"
	"testing"

	"github.com/pipectl/pipectl/dsl"
)

// A for_each step's instances are planned side by side; each instance gets
// its own plan, in key order, and the step after reads each one's outputs.
func TestForEachInstancesPlannedApart(t *testing.T) {
	f := load(t, `
pipeline "p" {}
stage "s" {
  step "each" {
    action   = std.noop
    for_each = toset([for i in range(40) : format("k%02d", i)])
    inputs   = each.key
  }
  step "after" {
    action = std.noop
    inputs = [for k, v in step.each : v.step_id]
  }
}`, dsl.Inputs{})
	plan := f.plan()
	var want []any
	for i, in := range plan.Step("each").Instances {
		key := fmt.Sprintf("k%02d", i)
		if in.Key != key || in.Kind == "" || inputs(in.Config) != key {
			t.Errorf("instance %d: %s, kind %q, config %v", i, in.Key, in.Kind, in.Config)
		}
		want = append(want, fmt.Sprintf("each[%q]", key))
	}
	after := inputs(plan.Step("after").Instances[0].Config)
	if after != fmt.Sprint(want) {
		t.Errorf("after reads %v, want %v", after, want)
	}
}

// inputs is a planned noop config's inputs, printed.
func inputs(config any) string {
	m, _ := config.(map[string]any)
	return fmt.Sprint(m["inputs"])
}
