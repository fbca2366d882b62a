package main_test

import (
	"strings"
	"testing"

	"github.com/pipectl/pipectl/engine"
)

func TestPlanFailsOnABadOutput(t *testing.T) {
	p := newProject(t, onePipeline+`
output "bad" {
  value = step.a.no_such_output
}`)
	_, errOut, code := p.run("plan")
	if code != 1 || !strings.Contains(errOut, "no_such_output") {
		t.Fatalf("plan exit %d, stderr:\n%s\nwant exit 1 naming the bad output", code, errOut)
	}
}

func TestOutputErrorAfterApplyHasItsOwnExitCode(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action  = std.exec
    command = "echo"
    args    = ["abc"]
  }
}
output "n" {
  value = tonumber(trimspace(step.a.stdout))
}`)
	out, errOut, code := p.run("apply", "-auto-approve")
	if code != 3 { // steps succeeded, outputs failed
		t.Fatalf("apply exit %d, want %d\n%s%s", code, 3, out, errOut)
	}
	if !strings.Contains(out, "Run succeeded.") || !strings.Contains(out, "outputs could not be evaluated") {
		t.Errorf("apply output:\n%s", out)
	}
	runsOut, _, _ := p.run("runs")
	if !strings.Contains(runsOut, string(engine.StatusSucceeded)) {
		t.Errorf("the run was not recorded as succeeded:\n%s", runsOut)
	}
}

func TestSavedPlanLeavesUnchangedStepsAlone(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "notes" {
    action  = std.render
    content = "v1\n"
    output  = "out.txt"
  }
}`)
	if out, errOut, code := p.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("first apply: %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := p.run("plan", "-out", "plan.json"); code != 0 || !strings.Contains(out, "no changes") {
		t.Fatalf("plan: %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := p.run("apply", "plan.json")
	if code != 0 || !strings.Contains(out, "= notes unchanged, not applied") || !strings.Contains(out, "1 unchanged") {
		t.Fatalf("apply of an unchanged plan: %d\n%s%s", code, out, errOut)
	}
}
