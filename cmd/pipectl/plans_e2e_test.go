package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Saved plans mean what they say: each apply below either applies exactly
// what was planned or is refused with the reason.

const envsPipeline = `
pipeline "e2e" {}
variable "image_tag" {
  type    = string
  default = "1.0"
}
variable "token" {
  type      = string
  sensitive = true
  default   = "default-token"
}
environment "dev" {
  name = "dev"
}
environment "prod" {
  name = "prod"
}
stage "s" {
  step "deploy" {
    action = std.noop
    inputs = "${env.name}:${var.image_tag}"
  }
}`

func TestVariablesFromFilesCountLikeVarFlags(t *testing.T) {
	p := newProject(t, envsPipeline)
	p.write("prod.vars", `image_tag = "2.0"`)
	if _, errOut, code := p.run("plan", "-env", "prod", "-var-file", "prod.vars", "-out", "plan.json"); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	out, errOut, code := p.run("apply", "plan.json")
	if code != 0 || !strings.Contains(out, "Run succeeded") {
		t.Fatalf("apply of a plan made with -var-file: exit %d\n%s%s", code, out, errOut)
	}
	// A run started with -var-file resumes too.
	p.write("pipeline.hcl", envsPipeline+`
stage "after" {
  step "flaky" {
    action     = std.noop
    depends_on = [stage.s]
    fail       = fileexists("broken") ? "broken" : null
  }
}`)
	p.write("broken", "")
	if _, _, code := p.run("apply", "-env", "prod", "-var-file", "prod.vars", "-auto-approve"); code != 7 { // failed, nothing changed
		t.Fatalf("the failing run did not fail")
	}
	os.Remove(filepath.Join(p.dir, "broken"))
	id := listRuns(t, p)[0].ID
	out, errOut, code = p.run("apply", "-resume", id, "-var-file", "prod.vars", "-auto-approve")
	if code != 0 || started(out, "deploy") || !started(out, "flaky") {
		t.Fatalf("resume of a run started with -var-file: exit %d\n%s%s", code, out, errOut)
	}
}

func TestSavedPlanIsForItsEnvironmentAndSaysSo(t *testing.T) {
	p := newProject(t, envsPipeline)
	if _, errOut, code := p.run("plan", "-env", "dev", "-out", "dev-plan.json"); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	out, errOut, code := p.run("apply", "-env", "prod", "dev-plan.json")
	if code != 1 || !strings.Contains(errOut, "for environment dev, not prod") || strings.Contains(out, "started") {
		t.Fatalf("apply -env prod of a dev plan: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = p.run("apply", "dev-plan.json")
	if code != 0 || !strings.Contains(out, `Applying pipeline "e2e" to environment dev`) {
		t.Fatalf("apply of the dev plan does not name its environment: exit %d\n%s%s", code, out, errOut)
	}
}

func TestEditedPlanIsRefused(t *testing.T) {
	p := newProject(t, envsPipeline)
	if _, errOut, code := p.run("plan", "-env", "dev", "-out", "plan.json"); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	b, _ := os.ReadFile(filepath.Join(p.dir, "plan.json"))
	for name, edited := range map[string]string{
		"environment": strings.Replace(string(b), `"environment": "dev"`, `"environment": "prod"`, 1),
		"variable":    strings.Replace(string(b), `"variables": {`, `"variables": {"image_tag": {"value": "6.6"},`, 1),
	} {
		if edited == string(b) {
			t.Fatalf("the %s edit changed nothing", name)
		}
		p.write("edited.json", edited)
		out, errOut, code := p.run("apply", "edited.json")
		if code != 1 || !strings.Contains(errOut, "was modified after pipectl saved it") || strings.Contains(out, "started") {
			t.Errorf("apply of a plan with an edited %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	p.write("garbage.json", "\x00\x1b[31mnot a plan")
	_, errOut, code := p.run("apply", "garbage.json")
	if code != 1 || !strings.Contains(errOut, "is not a pipectl plan file") || strings.ContainsAny(errOut, "\x00\x1b") {
		t.Errorf("apply of a garbage file: exit %d\n%q", code, errOut)
	}
}

// A saved plan whose configurations hold what JSON does not carry exactly
// (an integer past 2^53, which a reader decodes as a float) applies: its
// hash is of what the reader sees.
func TestSavedPlanOfLargeIntegersApplies(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "big" {
    action = std.noop
    inputs = { id = 9007199254740993, ids = [-9007199254740995, 3], ratio = 0.1 }
  }
}`)
	if _, errOut, code := p.run("plan", "-out", "plan.json"); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	out, errOut, code := p.run("apply", "plan.json")
	if code != 0 || !strings.Contains(out, "Run succeeded") {
		t.Fatalf("apply of the saved plan: exit %d\n%s%s", code, out, errOut)
	}
}

// A file read by a function that changed after the plan makes the plan
// stale, named: the step would run something else than what was reviewed.
func TestFileReadByAFunctionChangedMakesThePlanStale(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "script" {
    action  = std.exec
    command = "sh"
    args    = ["-c", file("script.sh")]
  }
}`)
	p.write("script.sh", "echo reviewed")
	if _, errOut, code := p.run("plan", "-out", "plan.json"); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	p.write("script.sh", "echo something else")
	out, errOut, code := p.run("apply", "plan.json")
	if code != 1 || !strings.Contains(errOut, "Saved plan is stale") || !strings.Contains(errOut, "script.sh changed since the plan was made") || strings.Contains(out, "something else") {
		t.Fatalf("apply after the script changed: exit %d\n%s%s", code, out, errOut)
	}
}

func TestSavedPlanIsAppliedOnce(t *testing.T) {
	p := newProject(t, onePipeline)
	if _, errOut, code := p.run("plan", "-out", "plan.json"); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	if _, errOut, code := p.run("apply", "plan.json"); code != 0 {
		t.Fatalf("first apply: %s", errOut)
	}
	out, errOut, code := p.run("apply", "plan.json")
	if code != 1 || !strings.Contains(errOut, "was already applied") || strings.Contains(out, "started") {
		t.Fatalf("second apply of a saved plan: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := p.run("apply", "-allow-reapply", "plan.json"); code != 0 {
		t.Fatalf("apply -allow-reapply: %s", errOut)
	}
}

// A variable flag at apply that differs from the plan is refused with the
// reason, never ignored; a defaulted variable is named as such.
func TestVariableDifferingFromThePlanIsRefused(t *testing.T) {
	p := newProject(t, envsPipeline)
	if _, errOut, code := p.run("plan", "-env", "dev", "-out", "plan.json"); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	out, errOut, code := p.run("apply", "plan.json", "-var", "image_tag=9.9")
	if code != 1 || !strings.Contains(errOut, `variable "image_tag" is "9.9" now; the plan used its default`) || strings.Contains(out, "started") {
		t.Fatalf("apply with a differing -var: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := p.run("apply", "plan.json", "-var", "image_tag=1.0"); code != 0 {
		t.Fatalf("apply with the same -var: exit %d\n%s%s", code, out, errOut)
	}
}

// A sensitive value is not in the plan, but a salted digest is: a value
// not given again (its default would stand in) or a different one is
// refused, and the digest does not give the secret away.
func TestSensitiveValueMustBeGivenAgainTheSame(t *testing.T) {
	const secret = "the-reviewed-Token-42"
	p := newProject(t, envsPipeline)
	plan := func() {
		t.Helper()
		p.env = append(p.env, "PIPECTL_VAR_token="+secret)
		if _, errOut, code := p.run("plan", "-env", "dev", "-out", "plan.json"); code != 0 {
			t.Fatalf("plan: %s", errOut)
		}
		p.env = p.env[:len(p.env)-1]
	}
	plan()
	b, _ := os.ReadFile(filepath.Join(p.dir, "plan.json"))
	if strings.Contains(string(b), secret) {
		t.Fatal("the plan file holds the secret")
	}
	var saved struct {
		Variables map[string]struct{ Digest string }
	}
	if json.Unmarshal(b, &saved) != nil || saved.Variables["token"].Digest == "" {
		t.Fatalf("no digest of the sensitive variable in the plan:\n%s", b)
	}
	for name, extra := range map[string][]string{"not given": nil, "different": {"-var", "token=another"}} {
		out, errOut, code := p.run(append([]string{"apply", "plan.json"}, extra...)...)
		if code != 1 || !strings.Contains(errOut, `sensitive variable "token" is not the value planned`) || strings.Contains(out, "started") {
			t.Errorf("apply with the sensitive value %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	if out, errOut, code := p.run("apply", "plan.json", "-var", "token="+secret); code != 0 {
		t.Fatalf("apply with the same value: exit %d\n%s%s", code, out, errOut)
	}
}

// A plan applies from any directory (apply PLAN DIR); -resume RUN DIR
// resumes in DIR.
func TestPlansAndResumesWorkFromElsewhere(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = std.noop
  }
  step "b" {
    action     = std.noop
    depends_on = [step.a]
    fail       = fileexists("broken") ? "broken" : null
  }
}`)
	planPath := filepath.Join(p.dir, "plan.json")
	if _, errOut, code := p.run("plan", "-out", planPath); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	elsewhere := &project{t: t, dir: t.TempDir(), env: p.env}
	if out, errOut, code := elsewhere.run("apply", planPath, p.dir); code != 0 {
		t.Fatalf("apply /abs/plan.json DIR from another directory: exit %d\n%s%s", code, out, errOut)
	}
	p.write("broken", "")
	if _, _, code := p.run("apply", "-auto-approve"); code != 7 { // failed, nothing changed
		t.Fatal("the run did not fail")
	}
	os.Remove(filepath.Join(p.dir, "broken"))
	id := listRuns(t, p)[0].ID
	out, errOut, code := elsewhere.run("apply", "-resume", id, p.dir, "-auto-approve")
	if code != 0 || started(out, "a") || !started(out, "b") {
		t.Fatalf("apply -resume RUN DIR from another directory: exit %d\n%s%s", code, out, errOut)
	}
}
