package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A failure handler's webhook says what failed: run.failed_steps with
// their errors, run.steps.NAME, run.status and run.id; the sensitive
// value in the failing step's error is redacted; finally's `when` reads
// run.status.
func TestFailureHandlerKnowsWhatFailed(t *testing.T) {
	bodies := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
	}))
	defer srv.Close()
	p := newProject(t, `
pipeline "e2e" {}
variable "token" {
  type      = string
  sensitive = true
}
variable "hook" {
  type = string
}
stage "deploy" {
  step "prepare" {
    action = std.noop
    inputs = "ok"
  }
  step "push" {
    action     = std.noop
    fail       = "registry refused token ${var.token}"
    depends_on = [step.prepare]
  }
}
on_failure {
  step "notify" {
    action = std.webhook
    url    = var.hook
    text = join("\n", concat(
      ["run ${run.id} ${run.status}: ${length(run.failed_steps)} failed"],
      [for f in run.failed_steps : "${f.address} (${f.step}): ${f.error}"],
      ["push: ${run.steps.push.status}, prepare: ${run.steps.prepare.status} in ${run.steps.prepare.duration >= 0 ? "some" : "no"} time",
       "prepare error: ${coalesce(run.steps.prepare.error, "none")}, notify: ${run.steps.notify.status}"],
    ))
  }
}
finally {
  step "on_success" {
    action  = std.noop
    inputs  = run.status
    when    = run.status == "succeeded"
  }
  step "on_failed" {
    action  = std.noop
    inputs  = "${run.status} ${run.steps.push.error}"
    when    = run.status == "failed"
  }
}`)
	const secret = "tok-S3cr3t-42"
	p.env = append(p.env, "PIPECTL_VAR_token="+secret)
	out, errOut, code := p.run("apply", "-auto-approve", "-var", "hook="+srv.URL)
	if code != 7 { // failed before any step changed something; its failure handler ran
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	var body struct{ Text string }
	if err := json.Unmarshal([]byte(<-bodies), &body); err != nil {
		t.Fatal(err)
	}
	list := listRuns(t, p)
	for _, want := range []string{
		"run " + list[0].ID + " failed: 1 failed",
		"step.push (push): pipeline.hcl:15:3: (sensitive value): noop was asked to fail.",
		"push: failed, prepare: succeeded in some time",
		"prepare error: none, notify: pending",
	} {
		if !strings.Contains(body.Text, want) {
			t.Errorf("the webhook's text has no %q:\n%s", want, body.Text)
		}
	}
	if strings.Contains(body.Text, secret) {
		t.Errorf("the webhook's text holds the secret:\n%s", body.Text)
	}
	got := map[string]string{}
	for _, s := range list[0].Steps {
		got[s.Step] = s.Status
	}
	if got["on_success"] != "skipped" || got["on_failed"] != "succeeded" || got["notify"] != "succeeded" {
		t.Errorf("steps: %v", got)
	}
	show, _, _ := p.run("runs", "show", list[0].ID, "-json")
	if !strings.Contains(show, `"inputs":"failed pipeline.hcl:`) || strings.Contains(show, secret) {
		t.Errorf("finally's inputs in the record:\n%s", show)
	}
}

// run.* is checked: what cannot be known where it is used is refused
// with the reason; unknown names get a suggestion.
func TestRunReferencesAreValidated(t *testing.T) {
	cases := map[string]string{
		`inputs = run.status`:       "run.status cannot be used in a stage's steps",
		`inputs = run.failed_steps`: "known in on_failure and finally steps",
		`inputs = run.stauts`:       "Did you mean run.status?",
		`inputs = run.id`:           "",
	}
	p := newProject(t, onePipeline)
	for expr, want := range cases {
		p.write("pipeline.hcl", `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = std.noop
    `+expr+`
  }
}
finally {
  step "f" {
    action = std.noop
    inputs = [run.steps.a.status, run.steps.b.status, run.steps.a.outputs]
  }
}`)
		out, errOut, code := p.run("validate")
		if !strings.Contains(out+errOut, `Did you mean run.steps.a?`) || !strings.Contains(out+errOut, `run.steps.a has no attribute "outputs"`) {
			t.Errorf("%s: finally's references:\n%s%s", expr, out, errOut)
		}
		if want != "" && (code != 1 || !strings.Contains(out+errOut, want)) {
			t.Errorf("%s: exit %d, want %q:\n%s%s", expr, code, want, out, errOut)
		}
		if want == "" && strings.Contains(out+errOut, "run.id") {
			t.Errorf("%s is refused:\n%s%s", expr, out, errOut)
		}
	}
}

// on_waiting steps run while the main steps do: how the run went is
// refused there as in a stage's steps, and so is an approval of their own,
// each with its own words.
func TestOnWaitingReferencesAndApprovalAreValidated(t *testing.T) {
	p := newProject(t, onePipeline)
	for body, want := range map[string]string{
		`inputs = run.status`:             "run.status cannot be used in on_waiting steps",
		`inputs = run.steps.a.status`:     "run.steps cannot be used in on_waiting steps",
		`approval { message = "tell?" }`:  "Approval on an on_waiting step",
		`inputs = [run.id, gate.address]`: "",
	} {
		p.write("pipeline.hcl", `
pipeline "e2e" {}
stage "s" {
  approval { message = "go?" }
  step "a" { action = std.noop }
}
on_waiting {
  step "tell" {
    action = std.noop
    `+body+`
  }
}`)
		out, errOut, code := p.run("validate")
		switch {
		case want == "" && code != 0:
			t.Errorf("%s: exit %d\n%s%s", body, code, out, errOut)
		case want != "" && (code != 1 || !strings.Contains(out+errOut, want) || !strings.Contains(out+errOut, "on pipeline.hcl line 10")):
			t.Errorf("%s: exit %d, want %q with its place:\n%s%s", body, code, want, out, errOut)
		}
	}
}
