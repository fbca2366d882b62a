package main_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// A saved plan applied from another directory (a CI runner's checkout,
// the pipeline's directory given absolute) names the pipeline's files
// relative to its directory wherever the text reaches people: run.failed_steps (what a handler posts to chat), the
// step's record and its recorded diagnostics.
func TestFailedStepErrorsNameFilesRelativeToThePipeline(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = std.noop
    fail   = "boom"
  }
}
on_failure {
  step "tell" {
    action  = std.exec
    command = "echo"
    args    = [run.failed_steps[0].error]
  }
}`)
	planPath := filepath.Join(p.dir, "plan.json")
	if _, errOut, code := p.run("plan", "-out", planPath); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	elsewhere := &project{t: t, dir: t.TempDir(), env: p.env}
	if out, errOut, code := elsewhere.run("apply", planPath, p.dir); code == 0 {
		t.Fatalf("apply of a failing plan from another directory succeeded:\n%s%s", out, errOut)
	}
	out, errOut, code := p.run("runs", "show", "latest", "-json")
	if code != 0 {
		t.Fatalf("runs show: exit %d\n%s", code, errOut)
	}
	var recs []struct {
		Steps []struct {
			Step, Message string
			Outputs       map[string]any
			Diagnostics   []struct {
				Range struct{ Filename string }
			}
		}
	}
	if err := runsJSON(out, &recs); err != nil || len(recs) != 1 {
		t.Fatalf("runs show -json: %v\n%s", err, out)
	}
	texts := map[string]string{}
	for _, s := range recs[0].Steps {
		texts[s.Step] = s.Message
		if s.Step == "tell" {
			texts["tell's message to chat"], _ = s.Outputs["stdout"].(string)
		}
		for _, d := range s.Diagnostics {
			texts[s.Step+"'s diagnostic file"] = d.Range.Filename
		}
	}
	for what, want := range map[string]string{"a": "pipeline.hcl:", "tell's message to chat": "pipeline.hcl:", "a's diagnostic file": "pipeline.hcl"} {
		if got := texts[what]; !strings.HasPrefix(got, want) || strings.Contains(got, p.dir) {
			t.Errorf("%s: %q, want it to start with %q, relative to the pipeline's directory", what, got, want)
		}
	}
}

// The plan shows each gate under its stage (or before its step), counts
// the gates in its Plan: line, and says when a failure handler acts.
func TestPlanShowsGatesWhereTheyWaitAndWhenHandlersAct(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "build" {
  step "a" { action = std.noop }
}
stage "deploy" {
  depends_on = [stage.build]
  approval {
    message = "Deploy?"
  }
  step "b" { action = std.noop }
  step "c" {
    action = std.noop
    approval { message = "Really c?" }
  }
  on_failure {
    step "rollback" {
      action = std.noop
      when   = run.steps.b.status == "succeeded"
    }
  }
}`)
	out, errOut, code := p.run("plan")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"Stage deploy\n  ⏸ stage.deploy waits here before it starts:\n      approval: \"Deploy?\" (1 approval)\n  + b ",
		"  ⏸ step.c waits here before it starts:\n      approval: \"Really c?\" (1 approval)\n  + c ",
		"  ! rollback                 std.noop  (when run.steps.b.status == \"succeeded\")\n",
		"; 1 failure handler and finally step; 2 gates to pass.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Gates (the stage or step waits here") {
		t.Errorf("the gates are listed again at the bottom:\n%s", out)
	}
	js, _, _ := p.run("plan", "-json")
	if !strings.Contains(js, `"step":"rollback"`) || !strings.Contains(js, `"when":"run.steps.b.status == \"succeeded\""`) {
		t.Errorf("plan -json does not give the handler's when:\n%s", js)
	}
}
