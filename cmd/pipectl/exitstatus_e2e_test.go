package main_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/engine"
)

// The exit statuses of a failed apply tell CI what the run left behind
// (docs/cli.md, Exit statuses): 7 nothing changed, 5 restored, 4 left
// changed. Each is produced here with std steps: std.render changes the
// target (a file), std.exec only runs. The run record and -json say the
// same as the exit status, and the plan says beforehand what a failure
// would leave.

// exitPipeline writes release.txt, then fails at verify (when fail is
// set) or before writing it (when early is set); handler is the stage's
// on_failure step.
func exitPipeline(handler string) string {
	return `
pipeline "exits" {}
variable "early" {
  type    = bool
  default = false
}
variable "version" {
  type    = string
  default = "2"
}
stage "deploy" {
  step "scan" {
    action  = std.exec
    command = "sh"
    args    = ["-c", var.early ? "echo vulnerable; exit 1" : "echo clean"]
  }
  step "release" {
    action     = std.render
    content    = "version ${var.version}\n"
    output     = "release.txt"
    depends_on = [step.scan]
  }
  step "verify" {
    action     = std.exec
    command    = "sh"
    args       = ["-c", "grep -q 'version 2' ${step.release.path}"]
  }
  on_failure {` + handler + `
  }
}
`
}

// A rollback changes the same target: it refers to the step it undoes.
const rollbackHandler = `
    step "rollback" {
      action  = std.render
      content = "version 1\n"
      output  = step.release.path
    }
    step "notify" {
      action  = std.exec
      command = "echo"
      args    = ["deploy failed"]
    }`

// A notification that succeeds restores nothing, even when it names the step.
const notifyHandler = `
    step "notify" {
      action  = std.exec
      command = "echo"
      args    = ["deploy of ${step.release.path} failed"]
    }`

func TestExitStatusSaysWhatAFailedRunLeft(t *testing.T) {
	cases := []struct {
		name, handler string
		vars          []string
		code          int
		outcome, says string
	}{
		{"blocked before any change", rollbackHandler, []string{"-var", "early=true"}, 7, "unchanged", "Nothing was changed"},
		{"restored by its rollback", rollbackHandler, []string{"-var", "version=3"}, 5, "restored", "Restored"},
		{"a notification restores nothing", notifyHandler, []string{"-var", "version=3"}, 4, "changed", "Left changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProject(t, exitPipeline(c.handler))
			out, errOut, code := p.run(append([]string{"apply", "-auto-approve"}, c.vars...)...)
			if code != c.code || !strings.Contains(out, c.says) {
				t.Fatalf("apply: exit %d, want %d saying %q\n%s%s", code, c.code, c.says, out, errOut)
			}
			if run := onlyRecordedRun(t, p); run.Status != "failed" || run.Outcome != c.outcome {
				t.Errorf("recorded run: %s, outcome %q; want failed, %q", run.Status, run.Outcome, c.outcome)
			}
			show, _, _ := p.run("runs", "show", "latest")
			if !strings.Contains(show, c.says) {
				t.Errorf("runs show does not say %q:\n%s", c.says, show)
			}
		})
	}
}

// -json's run_finished carries the outcome that gives the exit status.
func TestRunFinishedSaysTheOutcome(t *testing.T) {
	p := newProject(t, exitPipeline(rollbackHandler))
	out, _, code := p.run("apply", "-auto-approve", "-json", "-var", "version=3")
	evs := events(t, out)
	last := evs[len(evs)-1]
	if code != 5 || last.Type != "run_finished" || last.Outcome != "restored" {
		t.Fatalf("exit %d, last event %+v; want 5 and run_finished restored", code, last)
	}
}

// The plan says beforehand what a failure would leave, and lists the
// handlers apart: they may run, and are not changes of the plan.
func TestPlanSaysWhatAFailureWouldLeave(t *testing.T) {
	p := newProject(t, exitPipeline(rollbackHandler+`
    step "stamp" {
      action  = std.render
      content = "failed\n"
      output  = "failure.txt"
    }`))
	out, errOut, code := p.run("plan")
	for _, want := range []string{
		"On failure of stage deploy (may run)",
		"rollback                 std.render  (restores release)",
		"If the run fails after these changes\n  release                  restored by rollback\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("plan: exit %d, no %q in\n%s%s", code, want, out, errOut)
		}
	}
	p = newProject(t, exitPipeline(notifyHandler))
	if out, _, _ := p.run("plan"); !strings.Contains(out, "release                  not restored: no failure handler changes its target") {
		t.Errorf("plan with a notification only:\n%s", out)
	}
}

// -detailed-exitcode counts the main steps' changes only: right after an
// apply it is 0, however many handlers would change something if they ran.
func TestDetailedExitcodeIgnoresHandlers(t *testing.T) {
	p := newProject(t, exitPipeline(rollbackHandler))
	if out, errOut, code := p.run("plan", "-detailed-exitcode"); code != 2 {
		t.Fatalf("before the first apply: exit %d, want 2 (release.txt to write)\n%s%s", code, out, errOut)
	}
	if out, errOut, code := p.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := p.run("plan", "-detailed-exitcode")
	if code != 0 || !strings.Contains(out, "(0 to change, 1 unchanged)") {
		t.Fatalf("right after apply: exit %d, want 0 (the rollback may run, it is no change)\n%s%s", code, out, errOut)
	}
	if _, _, code := p.run("plan", "-detailed-exitcode", "-var", "version=3"); code != 2 {
		t.Fatalf("with a new version: exit %d, want 2", code)
	}
}

// A resumed run continues the failed one: what the steps it does not run
// again changed is still to be restored. Without a rollback, resuming into
// the same failure leaves it changed (4), not "nothing changed" (7).
func TestResumedRunCountsTheChangesItContinues(t *testing.T) {
	p := newProject(t, exitPipeline(notifyHandler))
	if out, errOut, code := p.run("apply", "-auto-approve", "-var", "version=3"); code != 4 {
		t.Fatalf("first run: exit %d, want 4\n%s%s", code, out, errOut)
	}
	first := onlyRecordedRun(t, p).ID
	out, errOut, code := p.run("apply", "-resume", first, "-json")
	evs := events(t, out)
	reused := slices.ContainsFunc(evs, func(e engine.Event) bool {
		return e.Type == engine.StepFinished && e.Step == "release" && strings.Contains(e.Message, "not run again")
	})
	if last := evs[len(evs)-1]; code != 4 || !reused || last.Outcome != engine.OutcomeChanged {
		t.Fatalf("resume: exit %d, outcome %q, release reused %v; want 4, changed, true\n%s%s", code, last.Outcome, reused, out, errOut)
	}
}
