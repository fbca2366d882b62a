package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pipectl/pipectl/internal/testbin"
)

// The CI flow: a plan saved by one job, applied by another, maybe from
// another directory or another checkout at another path (issue 20). Each
// test runs the built binary as a CI script does.

// ciPipeline reads what a checkout holds through path.root, file() and a
// template, selects an environment, and takes a sensitive token, as a
// team's deploy pipeline does. Its exec step fails unless it runs in the
// pipeline's directory with the token given; "where" prints the $PWD its
// commands inherit.
const ciPipeline = `
pipeline "ci" {}
variable "image_tag" {
  type    = string
  default = "1.0"
}
variable "out_dir" { type = string }
variable "token" {
  type      = string
  sensitive = true
}
environment "dev" {
  name = "dev"
}
locals {
  data  = "${path.root}/data/x.txt"
  notes = file("notes.txt")
}
stage "deploy" {
  step "check" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "cat \"$0\" && test -n \"$TOKEN\"", local.data]
    env     = { TOKEN = var.token }
  }
  step "where" {
    action  = std.exec
    command = "printenv"
    args    = ["PWD"]
  }
  step "notes" {
    action        = std.render
    template_file = "${path.root}/templates/notes.tmpl"
    vars          = { env = env.name, tag = var.image_tag, notes = local.notes }
    output        = "${var.out_dir}/notes.txt"
  }
}`

// ciRepo is a checkout: repo/deploy holds the pipeline.
type ciRepo struct {
	root, deploy string
	p            *project // runs pipectl in deploy
}

func newCIRepo(t *testing.T) *ciRepo {
	t.Helper()
	root := t.TempDir()
	deploy := filepath.Join(root, "deploy")
	p := &project{t: t, dir: deploy, env: append(os.Environ(), "PIPECTL_PLUGIN_PATH="+binDir, "NO_COLOR=1")}
	r := &ciRepo{root: root, deploy: deploy, p: p}
	for name, content := range map[string]string{
		"pipeline.hcl":         ciPipeline,
		"data/x.txt":           "data of the checkout\n",
		"notes.txt":            "reviewed notes",
		"templates/notes.tmpl": "{{.env}} {{.tag}}: {{.notes}}\n",
		"ci.vars":              `image_tag = "2.0"`,
	} {
		r.write(name, content)
	}
	if out, errOut, code := p.run("init"); code != 0 {
		t.Fatalf("init: %d\n%s%s", code, out, errOut)
	}
	return r
}

func (r *ciRepo) write(name, content string) {
	r.p.t.Helper()
	path := filepath.Join(r.deploy, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		r.p.t.Fatal(err)
	}
}

// clone copies the checkout to another path, as a second CI job's
// checkout: the pipeline's files, not its run records.
func (r *ciRepo) clone(t *testing.T) *ciRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "elsewhere", "checkout")
	copyTree(t, r.deploy, dir)
	return &ciRepo{root: filepath.Dir(dir), deploy: dir, p: &project{t: t, dir: dir, env: r.p.env}}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			if d.Name() == ".pipectl" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// in is a project that runs pipectl in dir, with the environment of p.
func in(p *project, dir string, env ...string) *project {
	return &project{t: p.t, dir: dir, env: append(append([]string{}, p.env...), env...)}
}

func TestSavedPlanAppliesFromWhereverItsContentIs(t *testing.T) {
	const token = "ci-Secret-token-7f3a"
	repo := newCIRepo(t)
	out := t.TempDir()
	// -env, -var-file (named from where pipectl runs) and -var, as CI gives them.
	given := func(varFile string, more ...string) []string {
		return append([]string{"-env", "dev", "-var-file", varFile, "-var", "out_dir=" + out}, more...)
	}
	secret := "PIPECTL_VAR_token=" + token
	plans := t.TempDir()
	for _, c := range []struct {
		name string
		// plan runs in planDir with planArgs after -out; apply runs in
		// applyDir with applyArgs after the plan file.
		planDir, applyDir   string
		planArgs, applyArgs []string
	}{
		{"in the pipeline's directory", repo.deploy, repo.deploy, given("ci.vars"), nil},
		{"from its parent", repo.deploy, repo.root, given("ci.vars"), []string{"deploy", "-var-file", "deploy/ci.vars"}},
		{"planned from its parent, applied with an absolute DIR", repo.root, t.TempDir(), given("deploy/ci.vars", "deploy"), []string{repo.deploy}},
	} {
		t.Run(c.name, func(t *testing.T) {
			planFile := filepath.Join(plans, strings.ReplaceAll(c.name, " ", "-")+".plan")
			if _, errOut, code := in(repo.p, c.planDir, secret).run(append([]string{"plan", "-out", planFile}, c.planArgs...)...); code != 0 {
				t.Fatalf("plan: exit %d\n%s", code, errOut)
			}
			apply := append([]string{"apply", planFile}, c.applyArgs...)
			stdout, errOut, code := in(repo.p, c.applyDir, secret).run(apply...)
			if code != 0 || !strings.Contains(stdout, "Run succeeded") || !strings.Contains(stdout, "where │ "+repo.deploy+"\n") {
				t.Fatalf("pipectl %s (its commands' $PWD the pipeline's directory): exit %d\n%s%s", strings.Join(apply, " "), code, stdout, errOut)
			}
		})
	}

	// A second job: another checkout at another path, the plan file its
	// artifact, the token given again (here in a var file outside it).
	planFile := filepath.Join(plans, "ci.plan")
	if _, errOut, code := in(repo.p, repo.deploy, secret).run(append([]string{"plan", "-out", planFile}, given("ci.vars")...)...); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), token) {
		t.Fatal("the plan file holds the sensitive value")
	}
	other := repo.clone(t)
	secrets := filepath.Join(t.TempDir(), "secrets.vars")
	if err := os.WriteFile(secrets, []byte(`token = "`+token+`"`), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, errOut, code := other.p.run("apply", planFile, "-var-file", secrets)
	if code != 0 || !strings.Contains(stdout, "Run succeeded") {
		t.Fatalf("apply in another checkout: exit %d\n%s%s", code, stdout, errOut)
	}
	if strings.Contains(stdout+errOut, token) {
		t.Fatal("apply shows the sensitive value")
	}
	rendered, err := os.ReadFile(filepath.Join(out, "notes.txt"))
	if err != nil || string(rendered) != "dev 2.0: reviewed notes\n" {
		t.Fatalf("rendered notes: %q, %v", rendered, err)
	}
	if _, err := os.Stat(filepath.Join(repo.deploy, ".pipectl", "runs.db")); err != nil {
		t.Fatalf("the runs applied in the first checkout are not recorded there: %v", err)
	}
}

// Between plan and apply a file the plan read differs: the plan is
// refused, naming the first file that differs and how, before any step.
func TestSavedPlanIsRefusedNamingTheFileThatDiffers(t *testing.T) {
	for _, c := range []struct {
		name, want string
		edit       func(r *ciRepo)
	}{
		{"a changed .hcl file", "pipeline.hcl changed since the plan was made",
			func(r *ciRepo) { r.write("pipeline.hcl", ciPipeline+"\n# reviewed? no\n") }},
		{"a changed file read by file()", "notes.txt changed since the plan was made",
			func(r *ciRepo) { r.write("notes.txt", "other notes") }},
		{"a changed template a step reads", "templates/notes.tmpl changed since the plan was made",
			func(r *ciRepo) { r.write("templates/notes.tmpl", "{{.env}} something else\n") }},
		{"a file a step reads gone", "data/x.txt is missing",
			func(r *ciRepo) { os.Remove(filepath.Join(r.deploy, "data", "x.txt")) }},
		{"a pipeline file added", "z.hcl was added since the plan was made",
			func(r *ciRepo) { r.write("z.hcl", "# more\n") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := newCIRepo(t)
			out := t.TempDir()
			args := []string{"-env", "dev", "-var", "out_dir=" + out, "-var", "token=t"}
			if _, errOut, code := repo.p.run(append([]string{"plan", "-out", "../ci.plan"}, args...)...); code != 0 {
				t.Fatalf("plan: exit %d\n%s", code, errOut)
			}
			c.edit(repo)
			stdout, errOut, code := repo.p.run("apply", "../ci.plan", "-var", "token=t")
			if code != 1 || !strings.Contains(errOut, "Saved plan is stale") || !strings.Contains(errOut, c.want) || started(stdout, "check") {
				t.Fatalf("apply after %s: exit %d, want the refusal %q\n%s%s", c.name, code, c.want, stdout, errOut)
			}
		})
	}
}

// A -var-file given again at apply that says another value is refused,
// as a differing -var is: never silently ignored.
func TestDifferingVarFileIsRefused(t *testing.T) {
	repo := newCIRepo(t)
	repo.write("other.vars", `image_tag = "3.0"`)
	args := []string{"-env", "dev", "-var", "out_dir=" + t.TempDir(), "-var", "token=t"}
	if _, errOut, code := repo.p.run(append([]string{"plan", "-out", "ci.plan", "-var-file", "ci.vars"}, args...)...); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	stdout, errOut, code := repo.p.run("apply", "ci.plan", "-var-file", "other.vars", "-var", "token=t")
	if code != 1 || !strings.Contains(errOut, `variable "image_tag" is "3.0" now, "2.0" in the plan`) || started(stdout, "check") {
		t.Fatalf("apply with a differing -var-file: exit %d\n%s%s", code, stdout, errOut)
	}
	if stdout, errOut, code := repo.p.run("apply", "ci.plan", "-var-file", "ci.vars", "-var", "token=t"); code != 0 {
		t.Fatalf("apply with the same -var-file: exit %d\n%s%s", code, stdout, errOut)
	}
}

// apply writes nothing before it has found a pipeline: not for a
// mistyped plan, not where there is no pipeline (it names the directory
// the plan was made in, and reads nothing there).
func TestApplyWithoutAPipelineCreatesNothing(t *testing.T) {
	repo := newCIRepo(t)
	args := []string{"-env", "dev", "-var", "out_dir=" + t.TempDir(), "-var", "token=t"}
	planFile := filepath.Join(t.TempDir(), "ci.plan")
	if _, errOut, code := repo.p.run(append([]string{"plan", "-out", planFile}, args...)...); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	empty := in(repo.p, t.TempDir())
	_, errOut, code := empty.run("apply", "typo.plan")
	if code != 1 || !strings.Contains(errOut, "typo.plan is neither a saved plan nor a pipeline") {
		t.Fatalf("apply typo.plan: exit %d\n%s", code, errOut)
	}
	_, errOut, code = empty.run("apply", planFile)
	if code != 1 || !strings.Contains(errOut, "the current directory holds no pipeline") || !strings.Contains(errOut, "the plan was made in "+repo.deploy) {
		t.Fatalf("apply PLAN where there is no pipeline: exit %d\n%s", code, errOut)
	}
	_, errOut, code = empty.run("apply", planFile, "missing/dir")
	if code != 1 || !strings.Contains(errOut, "missing/dir holds no pipeline") {
		t.Fatalf("apply PLAN missing/dir: exit %d\n%s", code, errOut)
	}
	if entries, _ := os.ReadDir(empty.dir); len(entries) > 0 {
		t.Fatalf("apply without a pipeline wrote %s in %s", entries[0].Name(), empty.dir)
	}
	if _, err := os.Stat(filepath.Join(repo.deploy, ".pipectl", "runs.db")); err == nil {
		t.Fatal("apply read or wrote the directory the plan was made in, not given as DIR")
	}
}

// A plan saved by an older pipectl (format 2, which named the pipeline by
// its absolute directory) is refused, saying what to do.
func TestPlanOfAnOlderFormatIsRefused(t *testing.T) {
	p := newProject(t, onePipeline)
	_, errOut, code := p.run("apply", filepath.Join(testdataDir(t), "plan-format-2.json"))
	if code != 1 || !strings.Contains(errOut, "was saved in plan format 2, which pipectl 0.1.0 built from commits 572a463 to fdbcfc4 applies; "+
		"this pipectl reads format 3: plan again with this pipectl") {
		t.Fatalf("apply of a format 2 plan: exit %d\n%s", code, errOut)
	}
}

func testdataDir(t *testing.T) string {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// A local chart is what the helm plugin reads: a template changed between
// plan and apply refuses the plan, naming the template. Linting needs no
// cluster; the chart is the helm plugin's podinfo fixture.
func TestChangedChartTemplateRefusesTheSavedPlan(t *testing.T) {
	buildHelmPlugin(t)
	p := newProject(t, `
pipeline "charts" {}
plugin "helm" {}
stage "check" {
  step "lint" {
    action = helm.lint
    chart  = "${path.root}/chart"
  }
}`)
	copyTree(t, filepath.Join(testbin.Root(), "plugins", "helm", "testdata", "charts", "podinfo"), filepath.Join(p.dir, "chart"))
	if _, errOut, code := p.run("plan", "-out", "../chart.plan"); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	other := &project{t: t, dir: filepath.Join(t.TempDir(), "clone"), env: p.env}
	copyTree(t, p.dir, other.dir)
	planFile := filepath.Join(filepath.Dir(p.dir), "chart.plan")
	if out, errOut, code := in(p, filepath.Dir(other.dir)).run("apply", planFile, "clone"); code != 0 || !strings.Contains(out, "Run succeeded") {
		t.Fatalf("apply of the chart's plan in a clone: exit %d\n%s%s", code, out, errOut)
	}
	deployment := filepath.Join(p.dir, "chart", "templates", "deployment.yaml")
	b, err := os.ReadFile(deployment)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deployment, append(b, "# unreviewed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := p.run("apply", planFile)
	if code != 1 || !strings.Contains(errOut, "chart/templates/deployment.yaml changed since the plan was made") || started(out, "lint") {
		t.Fatalf("apply after a chart template changed: exit %d\n%s%s", code, out, errOut)
	}
}

var helmPlugin struct {
	once sync.Once
	err  error
}

// buildHelmPlugin builds the helm plugin beside pipectl, once, for the
// tests that need it (the others do without its build time).
func buildHelmPlugin(t *testing.T) {
	t.Helper()
	helmPlugin.once.Do(func() {
		helmPlugin.err = testbin.Build(filepath.Join(binDir, "pipectl-plugin-helm"), "plugins/helm")
	})
	if helmPlugin.err != nil {
		t.Fatal(helmPlugin.err)
	}
}

// A file named by a sensitive value is read, but its name is a secret
// too: the plan records neither, and still applies.
func TestSensitiveFileNameIsNotInThePlan(t *testing.T) {
	const name = "vault-Path-91c2/token.txt"
	p := newProject(t, `
pipeline "e2e" {}
variable "token_file" {
  type      = string
  sensitive = true
}
stage "s" {
  step "a" {
    action = std.noop
    inputs = file(var.token_file)
  }
}`)
	if err := os.MkdirAll(filepath.Join(p.dir, filepath.Dir(name)), 0o755); err != nil {
		t.Fatal(err)
	}
	p.write(name, "the token")
	if _, errOut, code := p.run("plan", "-out", "plan.json", "-var", "token_file="+name); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(filepath.Join(p.dir, "plan.json"))
	if err != nil || strings.Contains(string(b), "vault-Path-91c2") || strings.Contains(string(b), "the token") {
		t.Fatalf("the plan file holds the sensitive file name or its content (%v):\n%s", err, b)
	}
	if out, errOut, code := p.run("apply", "plan.json", "-var", "token_file="+name); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
}
