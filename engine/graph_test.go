package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

func loadGraph(t *testing.T, src string) (*engine.Graph, string) {
	t.Helper()
	cfg, diags := dsl.LoadSource("pipeline.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	g, diags := engine.BuildGraph(cfg)
	return g, diags.Error()
}

func TestGraphEdgesFromReferencesAndDependsOn(t *testing.T) {
	g, errs := loadGraph(t, `
pipeline "p" {}
stage "a" {
  step "one" {
    action = std.noop
  }
  step "two" {
    action = std.noop
    inputs = step.one.inputs
  }
}
stage "b" {
  depends_on = [stage.a]
  step "three" {
    action = std.noop
  }
}
stage "c" {
  step "four" {
    action     = std.noop
    depends_on = [step.three]
  }
}`)
	if errs != "no diagnostics" {
		t.Fatalf("diagnostics: %s", errs)
	}
	check := func(step string, want ...string) {
		t.Helper()
		if got := engine.DirectSteps(g.Main, engine.StepAddr(step)); !slices.Equal(got, want) {
			t.Errorf("%s waits for %v, want %v", step, got, want)
		}
	}
	check("one")
	check("two", "one")
	check("three", "one", "two") // through stage.a
	check("four", "three")
	if got := engine.StepNames(g.Main); !slices.Equal(got, []string{"one", "two", "three", "four"}) {
		t.Errorf("order %v", got)
	}
}

func TestGraphReportsCyclesWithTheirPathAndRanges(t *testing.T) {
	_, errs := loadGraph(t, `
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.noop
    inputs = step.c.inputs
  }
  step "b" {
    action = std.noop
    inputs = step.a.inputs
  }
  step "c" {
    action     = std.noop
    depends_on = [step.b]
  }
}`)
	wantDiagnostics(t, errs,
		"Dependency cycle: step.a → step.c → step.b → step.a",
		"step.a depends on step.c (pipeline.hcl:6:14)",
		"step.c depends on step.b (pipeline.hcl:14:19)",
		"step.b depends on step.a (pipeline.hcl:10:14)",
	)
}

// A cycle through a stage's depends_on names the entry that closes it; a
// step that both depends on and refers to another is shown its depends_on
// (the first reason, as the edge was drawn).
func TestGraphReportsCyclesThroughStagesWithTheirRanges(t *testing.T) {
	_, errs := loadGraph(t, `
pipeline "p" {}
stage "a" {
  step "a1" {
    action     = std.noop
    depends_on = [step.b1]
    inputs     = step.b1.inputs
  }
}
stage "b" {
  depends_on = [stage.a]
  step "b1" {
    action = std.noop
  }
}`)
	wantDiagnostics(t, errs,
		"step.a1 depends on step.b1 (pipeline.hcl:6:19)",
		"step.b1 depends on stage.a (pipeline.hcl:11:17)",
		"step.a1 is part of stage.a",
	)
}

func TestGraphRefusesMainStepWaitingForAHandler(t *testing.T) {
	_, errs := loadGraph(t, `
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.noop
    inputs = step.cleanup.inputs
  }
}
finally {
  step "cleanup" {
    action = std.noop
  }
}`)
	if !strings.Contains(errs, "Reference to a failure handler") {
		t.Fatalf("diagnostics: %s", errs)
	}
}

// wantDiagnostics fails t for each of wants the diagnostics errs lack.
func wantDiagnostics(t *testing.T, errs string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(errs, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, errs)
		}
	}
}
