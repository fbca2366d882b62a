package main

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

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

	t.Run("apply", func(t *testing.T) {
		run := p.Apply("greet", plugintest.Object(map[string]any{"name": "Ada", "style": "pirate", "shout": true}))
		run.RequireSuccess(t)
		if got := run.Output("message").AsString(); got != "AHOY, ADA!" {
			t.Fatalf("message %q", got)
		}
		if logs := run.Logs("stdout"); len(logs) != 1 || logs[0] != "AHOY, ADA!" {
			t.Fatalf("logs %q", logs)
		}
	})
}
