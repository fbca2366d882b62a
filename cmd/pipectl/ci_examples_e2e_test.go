package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	ctyyaml "github.com/zclconf/go-cty-yaml"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// The CI examples (examples/ci, docs/ci.md) run as written: the test reads
// the workflow files and runs the `run:` / `script:` lines of their plan
// and apply jobs — not a copy — the plan job in one clone, the apply job
// in another at another path, with the plan file carried between them as
// the CI system carries an artifact. The pipeline is std-only
// (testdata/ci), placed where the workflow's PIPELINE_DIR says; its target
// is a directory outside both clones. A second plan, in a third clone,
// finds nothing to change and says so with -detailed-exitcode.

const ciSecret = "tok-ci-S3cr3t-7"

// ciRunner is the CI system's side of a job: where its checkout is and
// what it gives the job's shell.
type ciRunner struct {
	t      *testing.T
	clone  string // the checkout
	env    []string
	target string
}

// newCIRunner clones origin into a directory of its own (runner/path).
func newCIRunner(t *testing.T, origin, path, target string) *ciRunner {
	t.Helper()
	clone := filepath.Join(t.TempDir(), path)
	if out, err := exec.Command("git", "clone", "-q", origin, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PIPECTL_PLUGIN_PATH="+binDir, "NO_COLOR=1", "PIPECTL_VAR_target_dir="+target)
	return &ciRunner{t: t, clone: clone, env: env, target: target}
}

// shell runs a job's script as the CI system does (opts: GitHub's bash
// -e, or GitLab's -e -o pipefail), with the job's variables; it returns the output
// and the exit status.
func (r *ciRunner) shell(script string, opts []string, vars map[string]string) (string, int) {
	r.t.Helper()
	cmd := exec.Command("bash", append(opts, "-c", script)...)
	cmd.Dir, cmd.Env = r.clone, r.env
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), exitCode(err)
}

// ciOrigin is a repository holding the test pipeline at dir.
func ciOrigin(t *testing.T, dir string) string {
	t.Helper()
	origin := filepath.Join(t.TempDir(), "origin")
	copyTree(t, "testdata/ci", filepath.Join(origin, dir))
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "pipeline"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = origin
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return origin
}

// readYAML decodes a workflow file into v (through JSON).
func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	val, err := ctyyaml.Standard.Unmarshal(src, cty.DynamicPseudoType)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	b, err := ctyjson.Marshal(val, val.Type())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// requireNoSecret checks that the plan artifact holds no sensitive value:
// the CI system keeps it and shows it to whoever reads the job.
func requireNoSecret(t *testing.T, planFile string) {
	t.Helper()
	plan, err := os.ReadFile(planFile)
	if err != nil || len(plan) == 0 || strings.Contains(string(plan), ciSecret) {
		t.Fatalf("the plan artifact %s holds the sensitive value (or cannot be read: %v)", planFile, err)
	}
}

// requireDeployed checks what the apply job deployed.
func requireDeployed(t *testing.T, target string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(target, "release.txt")); err != nil || string(b) != "replicas: 1\n" {
		t.Fatalf("the target after the apply job: %q, %v", b, err)
	}
}

// GitHub Actions.

type ghWorkflow struct {
	Env  map[string]string
	Jobs map[string]ghJob
}

type ghJob struct {
	If    string
	Needs any
	Env   map[string]string
	Steps []ghStep
}

type ghStep struct {
	Name, ID, If, Uses, Run string
	With                    map[string]string
	Env                     map[string]string
}

// ghExpr replaces the ${{ }} expressions the workflow uses with what
// GitHub would give this run; an expression it does not know fails.
func ghExpr(t *testing.T, s string, env map[string]string) string {
	t.Helper()
	return regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`).ReplaceAllStringFunc(s, func(m string) string {
		expr := strings.TrimSpace(m[3 : len(m)-2])
		switch {
		case expr == "github.actor":
			return "ci-bot"
		case expr == "secrets.NOTIFY_TOKEN":
			return ciSecret
		case strings.HasPrefix(expr, "env."):
			return env[strings.TrimPrefix(expr, "env.")]
		case strings.HasPrefix(expr, "steps.") || expr == "always()":
			return m // step outputs and conditions: read by the test itself
		}
		t.Fatalf("the workflow uses ${{ %s }}, which this test does not provide", expr)
		return ""
	})
}

// run runs a GitHub job on r: its run steps, with the workflow's, job's
// and step's env; checkout is r's clone, download-artifact copies the
// artifact's files into its path. It returns the job's outputs
// ($GITHUB_OUTPUT) and the files upload-artifact would keep.
func (w *ghWorkflow) run(r *ciRunner, name string, artifact []string) (outputs string, uploads []string) {
	t := r.t
	t.Helper()
	job, ok := w.Jobs[name]
	if !ok {
		t.Fatalf("the workflow has no job %q", name)
	}
	env := map[string]string{}
	for _, m := range []map[string]string{w.Env, job.Env} {
		for k, v := range m {
			env[k] = ghExpr(t, v, env)
		}
	}
	outFile := filepath.Join(t.TempDir(), "github_output")
	env["GITHUB_OUTPUT"] = outFile
	for _, st := range job.Steps {
		switch {
		case strings.HasPrefix(st.Uses, "actions/checkout@"):
		case strings.HasPrefix(st.Uses, "actions/upload-artifact@") && st.If == "":
			for _, p := range strings.Fields(ghExpr(t, st.With["path"], env)) {
				uploads = append(uploads, filepath.Join(r.clone, p))
			}
		case strings.HasPrefix(st.Uses, "actions/download-artifact@"):
			into := filepath.Join(r.clone, ghExpr(t, st.With["path"], env))
			for _, f := range artifact { // files at the artifact's root: each upload was one directory's files
				copyFile(t, f, filepath.Join(into, filepath.Base(f)))
			}
		case st.Run != "":
			vars := merged(env, st.Env)
			out, code := r.shell(ghExpr(t, st.Run, env), []string{"-e"}, vars)
			if code != 0 {
				t.Fatalf("job %s, step %q in %s: exit %d\n%s", name, st.Name, r.clone, code, out)
			}
		}
	}
	b, _ := os.ReadFile(outFile)
	return string(b), uploads
}

func merged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("the artifact lacks %s: %v", from, err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGitHubWorkflowExample(t *testing.T) {
	var w ghWorkflow
	readYAML(t, "../../examples/ci/github-workflow.yml", &w)
	if w.Jobs["apply"].If != "needs.plan.outputs.changes == 'true'" {
		t.Fatalf("the apply job runs on %q; this test expects it to run when the plan job says changes=true", w.Jobs["apply"].If)
	}
	origin := ciOrigin(t, w.Env["PIPELINE_DIR"])
	target := t.TempDir()

	a := newCIRunner(t, origin, "runner-a/_work/app/app", target)
	outputs, uploads := w.run(a, "plan", nil)
	if !strings.Contains(outputs, "changes=true") {
		t.Fatalf("the plan job's outputs: %q, want changes=true (nothing deployed yet)", outputs)
	}
	requireNoSecret(t, filepath.Join(a.clone, w.Env["PIPELINE_DIR"], "plan.bin"))
	b := newCIRunner(t, origin, "runner-b/builds/0/group/app", target)
	w.run(b, "apply", uploads)
	requireDeployed(t, target)

	again := newCIRunner(t, origin, "runner-c/work", target)
	if outputs, _ := w.run(again, "plan", nil); !strings.Contains(outputs, "changes=false") {
		t.Fatalf("the plan job after the deploy: %q, want changes=false (the apply job is skipped)", outputs)
	}
}

// GitLab CI.

type glJob struct {
	Stage     string
	Script    []string
	Needs     []string
	Artifacts struct {
		Paths   []string
		Reports struct{ Dotenv string }
	}
}

// readGitLab reads .gitlab-ci.yml: its variables and its plan and apply jobs.
func readGitLab(t *testing.T) (vars map[string]string, plan, apply glJob) {
	t.Helper()
	var top struct {
		Variables map[string]string
		Plan      glJob
		Apply     glJob
	}
	readYAML(t, "../../examples/ci/.gitlab-ci.yml", &top)
	return top.Variables, top.Plan, top.Apply
}

// run runs a GitLab job's script on r, as one bash script with set -eo
// pipefail (GitLab's shell), with the variables, predefined and CI/CD ones.
func (j glJob) run(r *ciRunner, name string, vars map[string]string) string {
	r.t.Helper()
	all := merged(vars, map[string]string{"GITLAB_USER_LOGIN": "ci-bot", "NOTIFY_TOKEN": ciSecret, "CI_PROJECT_DIR": r.clone})
	out, code := r.shell(strings.Join(j.Script, "\n"), []string{"-e", "-o", "pipefail"}, all)
	if code != 0 {
		r.t.Fatalf("job %s in %s: exit %d\n%s", name, r.clone, code, out)
	}
	return out
}

// expand is a path of artifacts: with the job's variables.
func expand(p string, vars map[string]string) string {
	return os.Expand(p, func(k string) string { return vars[k] })
}

func TestGitLabCIExample(t *testing.T) {
	vars, plan, apply := readGitLab(t)
	if len(plan.Script) == 0 || len(apply.Script) == 0 || len(apply.Needs) != 1 || apply.Needs[0] != "plan" {
		t.Fatalf("the plan and apply jobs: %+v %+v", plan, apply)
	}
	origin := ciOrigin(t, vars["PIPELINE_DIR"])
	target := t.TempDir()

	a := newCIRunner(t, origin, "runner-a/builds/abc/0/group/app", target)
	plan.run(a, "plan", vars)
	dotenv := readDotenv(t, filepath.Join(a.clone, expand(plan.Artifacts.Reports.Dotenv, vars)))
	if dotenv["CHANGES"] != "true" {
		t.Fatalf("the plan job's dotenv: %v, want CHANGES=true", dotenv)
	}
	requireNoSecret(t, filepath.Join(a.clone, vars["PIPELINE_DIR"], "plan.bin"))
	b := newCIRunner(t, origin, "runner-b/srv/gitlab-runner/builds/x/app", target)
	for _, p := range plan.Artifacts.Paths { // artifacts keep their paths
		p = expand(p, vars)
		copyFile(t, filepath.Join(a.clone, p), filepath.Join(b.clone, p))
	}
	apply.run(b, "apply", merged(vars, dotenv))
	requireDeployed(t, target)

	again := newCIRunner(t, origin, "runner-c/builds/y/app", target)
	plan.run(again, "plan", vars)
	if d := readDotenv(t, filepath.Join(again.clone, expand(plan.Artifacts.Reports.Dotenv, vars))); d["CHANGES"] != "false" {
		t.Fatalf("the plan job after the deploy: %v, want CHANGES=false", d)
	}
	if out := apply.run(again, "apply", merged(vars, map[string]string{"CHANGES": "false"})); !strings.Contains(out, "nothing to change") {
		t.Fatalf("the apply job with nothing to change:\n%s", out)
	}
}

func readDotenv(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}
