package main

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// The plugin is built and run as a real subprocess, as pipectl runs it.
func TestGreet(t *testing.T) {
	p := plugintest.BuildAndStart(t, ".")

	t.Run("schema", func(t *testing.T) {
		s := p.Schema()
		if s.Name != "greeter" || !s.Actions["greet"].Block.Attributes["name"].Required {
			t.Fatalf("schema: %+v", s)
		}
	})

	t.Run("validate", func(t *testing.T) {
		diags := p.Validate("greet", plugintest.Object(map[string]any{"name": "Ada", "style": "rude"}))
		if len(diags) != 1 || diags[0].Summary != `Unknown style "rude"` {
			t.Fatalf("diagnostics: %v", diags)
		}
		if diags := p.Validate("greet", plugintest.Object(map[string]any{"style": "formal"})); !diags.HasErrors() {
			t.Fatal("a config without name passed")
		}
	})

	t.Run("plan", func(t *testing.T) {
		plan := p.Plan("greet", plugintest.Object(map[string]any{"name": "Ada", "style": "formal"}))
		if plan.Summary != "greet Ada" || plan.Change != "+ Good day, Ada." {
			t.Fatalf("plan: %+v", plan)
		}
		unknown := p.Plan("greet", plugintest.Object(map[string]any{"name": cty.UnknownVal(cty.String)}))
		if unknown.PlannedOutputs.GetAttr("message").IsKnown() {
			t.Fatal("message should be unknown when name is")
		}
	})

	t.Run("plan with unknowns, in HCL", func(t *testing.T) {
		plan := p.PlanHCL("greet", `
name  = unknown # known only after an earlier step applies
style = "formal"
`)
		if plan.Summary != "greet (known after apply)" || plan.PlannedOutputs.GetAttr("message").IsKnown() {
			t.Fatalf("plan: %+v", plan)
		}
	})

	t.Run("a sensitive name is never shown", func(t *testing.T) {
		plan := p.PlanHCL("greet", `name = sensitive("Agent 47")`)
		if plan.Summary != "greet (sensitive)" || plan.Change != "+ (sensitive)" || plan.Diagnostics.HasErrors() {
			t.Fatalf("plan: %+v", plan)
		}
		run := p.ApplyHCL("greet", `name = sensitive("Agent 47")`)
		run.RequireSuccess(t)
		if msg := run.Outputs.GetAttr("message"); !msg.HasMark(sdk.Sensitive) {
			t.Errorf("the greeting of a sensitive name is not sensitive: %#v", msg)
		}
		for _, line := range run.Logs("") {
			if strings.Contains(line, "Agent 47") {
				t.Errorf("the name leaked into the logs: %q", line)
			}
		}
	})

	t.Run("apply", func(t *testing.T) {
		run := p.ApplyHCL("greet", `
name  = "Ada"
style = "pirate"
shout = true
`)
		run.RequireSuccess(t)
		if got := run.Output("message").AsString(); got != "AHOY, ADA!" {
			t.Fatalf("message %q", got)
		}
		if logs := run.Logs("stdout"); len(logs) != 1 || logs[0] != "AHOY, ADA!" {
			t.Fatalf("logs %q", logs)
		}
	})
}
