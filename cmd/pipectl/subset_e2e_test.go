package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const subsetPipeline = `
pipeline "e2e" {}
variable "rev" {
  type = string
}
stage "build" {
  step "compile" {
    action = std.noop
    inputs = "app-${var.rev}"
  }
  step "lint" {
    action = std.noop
    inputs = "clean"
  }
}
stage "deploy" {
  depends_on = [stage.build]
  step "push" {
    action = std.noop
    inputs = "pushed ${step.compile.inputs}"
  }
  step "migrate" {
    action = std.noop
    inputs = "migrated"
  }
}
stage "verify" {
  depends_on = [stage.deploy]
  step "smoke" {
    action  = std.exec
    command = "echo"
    args    = ["smoke of", step.push.inputs]
  }
}
finally {
  step "report" {
    action = std.noop
    inputs = run.steps.smoke.status
  }
}`

// flat is text with its line wrapping undone.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// statuses is the status and message of each step of the newest run.
func newestSteps(t *testing.T, p *project) map[string]string {
	t.Helper()
	list := listRuns(t, p)
	out := map[string]string{}
	for _, s := range list[0].Steps {
		out[s.Step] = s.Status
	}
	return out
}

// -target runs the steps and stages named and what they depend on, no
// more; the plan shows what is left out.
func TestTargetRunsWhatItNeeds(t *testing.T) {
	p := newProject(t, subsetPipeline)
	out, errOut, code := p.run("plan", "-var", "rev=1", "-target", "step.push", "-target", "step.migrate")
	if code != 0 {
		t.Fatalf("plan -target: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"smoke", "(left out: not targeted (-target step.push, -target step.migrate))", "1 left out (-target step.push -target step.migrate)", "4 steps to run"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan -target has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "lint") == false {
		t.Errorf("lint (push waits for stage build) is not in the plan:\n%s", out)
	}
	out, errOut, code = p.run("apply", "-auto-approve", "-var", "rev=1", "-target", "step.push", "-target", "step.migrate")
	if code != 0 {
		t.Fatalf("apply -target: exit %d\n%s%s", code, out, errOut)
	}
	got := newestSteps(t, p)
	for step, want := range map[string]string{"compile": "succeeded", "lint": "succeeded", "push": "succeeded", "migrate": "succeeded", "smoke": "skipped", "report": "succeeded"} {
		if got[step] != want {
			t.Errorf("%s: %s, want %s (%v)", step, got[step], want, got)
		}
	}
	if !strings.Contains(out, "left out: not targeted") {
		t.Errorf("apply does not say smoke was left out:\n%s", out)
	}
	// A saved plan carries its targets.
	if out, errOut, code := p.run("plan", "-var", "rev=1", "-target", "step.compile", "-out", "plan.json"); code != 0 {
		t.Fatalf("plan -target -out: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := p.run("apply", "-target", "step.push", "plan.json"); code != 1 || !strings.Contains(errOut, "a saved plan") {
		t.Errorf("apply PLAN -target: exit %d\n%s", code, errOut)
	}
	out, errOut, code = p.run("apply", "plan.json")
	if got := newestSteps(t, p); code != 0 || got["compile"] != "succeeded" || got["lint"] != "skipped" || got["push"] != "skipped" {
		t.Errorf("apply of a saved -target plan: exit %d %v\n%s%s", code, got, out, errOut)
	}
	out, _, code = p.run("apply", "-auto-approve", "-var", "rev=1", "-target", "stage.build")
	if got := newestSteps(t, p); code != 0 || got["compile"] != "succeeded" || got["push"] != "skipped" {
		t.Errorf("apply -target stage.build: exit %d %v\n%s", code, got, out)
	}
}

func TestUnknownTargetsAreDiagnosed(t *testing.T) {
	p := newProject(t, subsetPipeline)
	for _, c := range []struct{ flag, value, want string }{
		{"-target", "step.pussh", "Did you mean step.push?"},
		{"-target", "stage.deplyo", "Did you mean stage.deploy?"},
		{"-target", "push", "-target takes step.NAME or stage.NAME. Did you mean step.push?"},
		{"-only", "verify", "-only takes stage.NAME. Did you mean stage.verify?"},
		{"-target", "step.report", `Step "report" is a finally step`},
		{"-only", "step.push", "-only takes a stage (stage.NAME), not step.push: to run one step and what it depends on, use -target step.push"},
		{"-only", "stage.verfiy", "Did you mean stage.verify?"},
	} {
		out, errOut, code := p.run("plan", "-var", "rev=1", c.flag, c.value)
		if code != 1 || !strings.Contains(flat(errOut), c.want) {
			t.Errorf("plan %s %s: exit %d, want %q\n%s%s", c.flag, c.value, code, c.want, out, errOut)
		}
	}
}

// -only runs one stage with the outputs of the steps before it from the
// last successful run; refused when there is none or the pipeline changed.
func TestOnlyRunsAStageWithTheLastRunsOutputs(t *testing.T) {
	p := newProject(t, subsetPipeline)
	_, errOut, code := p.run("apply", "-auto-approve", "-var", "rev=1", "-only", "stage.verify")
	if code != 1 || !strings.Contains(flat(errOut), "from the last successful run of pipeline \"e2e\", and there is none") {
		t.Fatalf("-only without a run: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := p.run("apply", "-auto-approve", "-var", "rev=1"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	full := listRuns(t, p)[0].ID
	out, errOut, code := p.run("plan", "-var", "rev=1", "-only", "stage.verify")
	if code != 0 || !strings.Contains(out, "(left out: not in stage.verify (-only): its outputs come from run "+full+")") ||
		!strings.Contains(out, "4 left out (-only stage.verify, outputs before it from run "+full+")") {
		t.Errorf("plan -only: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = p.run("apply", "-auto-approve", "-var", "rev=1", "-only", "stage.verify", "-json")
	if code != 0 || !strings.Contains(out, "smoke of pushed app-1") || !strings.Contains(out, "succeeded in run "+full+"; not run again") {
		t.Fatalf("apply -only: exit %d\n%s%s", code, out, errOut)
	}
	if got := newestSteps(t, p); got["smoke"] != "succeeded" || got["report"] != "succeeded" {
		t.Errorf("apply -only: %v", got)
	}
	// The -only run keeps what it read: another -only reads it in turn.
	if out, errOut, code := p.run("apply", "-auto-approve", "-var", "rev=1", "-only", "stage.verify"); code != 0 {
		t.Errorf("a second -only: exit %d\n%s%s", code, out, errOut)
	}

	// What comes after the stage is left out, not taken from the run.
	out, errOut, code = p.run("apply", "-auto-approve", "-var", "rev=1", "-only", "stage.deploy")
	got := newestSteps(t, p)
	if code != 0 || got["push"] != "succeeded" || got["smoke"] != "skipped" || !strings.Contains(out, "smoke") ||
		!strings.Contains(out, "left out: not in stage.deploy (-only)") {
		t.Errorf("apply -only stage.deploy: exit %d %v\n%s%s", code, got, out, errOut)
	}

	_, errOut, code = p.run("apply", "-auto-approve", "-var", "rev=2", "-only", "stage.verify")
	if code != 1 || !strings.Contains(flat(errOut), `variable "rev" is "2" now, "1" in the plan`) {
		t.Errorf("-only with another variable: exit %d\n%s", code, errOut)
	}
	src, _ := os.ReadFile(filepath.Join(p.dir, "pipeline.hcl"))
	p.write("pipeline.hcl", string(src)+"\n# changed\n")
	_, errOut, code = p.run("apply", "-auto-approve", "-var", "rev=1", "-only", "stage.verify")
	if code != 1 || !strings.Contains(flat(errOut), "the pipeline's files changed since") {
		t.Errorf("-only after the pipeline changed: exit %d\n%s", code, errOut)
	}
}
