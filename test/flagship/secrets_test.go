package flagship

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// The sensitive values of a helm.upgrade (its set) and of a k8s.apply
// (a ConfigMap's data) are changed: the plans' diffs show neither the new
// value nor the old one — which the run's redactor never learnt: the
// plugin knows it is at a sensitive path — nor any line of a multi-line
// key, which a YAML block scalar puts one per diff line (issue 22, items 1
// and 2). Fails on main at e65b3f1: the old password is shown on the -
// side of both diffs, and the key's lines on both sides.
func TestRotatedAndMultiLineSecretsHiddenInDiffs(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Cluster(t)
	p := &secretsProject{t: t, dir: t.TempDir(), vars: []string{
		"PIPECTL_VAR_kubeconfig=" + env.Kubeconfig, "PIPECTL_VAR_namespace=" + env.Namespace,
	}}
	p.write("chart/Chart.yaml", "apiVersion: v2\nname: rotate\nversion: 0.1.0\n")
	p.write("chart/templates/configmap.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-values
data:
  password: {{ .Values.password | quote }}
  quoted: {{ toJson .Values.password | quote }}
  key: |
{{ .Values.key | indent 4 }}
`)
	p.write("pipeline.hcl", `
pipeline "rotate" {}
variable "kubeconfig" { type = string }
variable "namespace" { type = string }
variable "password" {
  type      = string
  sensitive = true
}
variable "key" {
  type      = string
  sensitive = true
}
plugin "helm" { kubeconfig = var.kubeconfig }
plugin "k8s" { kubeconfig = var.kubeconfig }
stage "deploy" {
  step "release" {
    action    = helm.upgrade
    release   = "rotate"
    chart     = "./chart"
    namespace = var.namespace
    set       = { password = var.password, key = var.key }
  }
  step "config" {
    action    = k8s.apply
    namespace = var.namespace
    objects = [{
      apiVersion = "v1"
      kind       = "ConfigMap"
      metadata   = { name = "app-config" }
      data       = { password = var.password, key = var.key, plain = "visible-${var.namespace}" }
    }]
  }
}`)
	p.mustRun("init")
	old := []string{"PIPECTL_VAR_password=0ldPa55'w0rd", "PIPECTL_VAR_key=-----BEGIN KEY-----\nOLDKEYLINE1\nOLDKEYLINE2\n-----END KEY-----"}
	p.mustRun(append([]string{"apply", "-auto-approve"}, old...)...)

	p.vars = append(p.vars, "PIPECTL_VAR_password=N3wPa55'w0rd", "PIPECTL_VAR_key=-----BEGIN KEY-----\nNEWKEYLINE1\nNEWKEYLINE2\n-----END KEY-----")
	places := p.everyPlace()
	plan := places["plan stdout"]
	if !strings.Contains(plan, "(sensitive value)") || !strings.Contains(plan, "will be changed") {
		t.Fatalf("the plan shows no masked change:\n%s", plan)
	}
	noFormIn(t, places, "0ldPa55", "N3wPa55", "OLDKEYLINE", "NEWKEYLINE")
}

// secretsProject is a pipeline of the test's own in a directory, run with
// the real pipectl and plugins.
type secretsProject struct {
	t    *testing.T
	dir  string
	vars []string // PIPECTL_VAR_* of every command
}

func (p *secretsProject) write(name, content string) {
	p.t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// run runs pipectl; args of the form PIPECTL_VAR_x=... go to its
// environment for this command only.
func (p *secretsProject) run(args ...string) (stdout, stderr string, code int) {
	p.t.Helper()
	env := append(os.Environ(), "PIPECTL_PLUGIN_PATH="+bins, "NO_COLOR=1")
	env = append(env, p.vars...)
	var cmdArgs []string
	for _, a := range args {
		if strings.HasPrefix(a, "PIPECTL_VAR_") {
			env = append(env, a)
		} else {
			cmdArgs = append(cmdArgs, a)
		}
	}
	cmd := exec.Command(filepath.Join(bins, "pipectl"), cmdArgs...)
	cmd.Dir, cmd.Env = p.dir, env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code = exitCode(p.t, cmd.Run(), &out, &errOut)
	return out.String(), errOut.String(), code
}

func (p *secretsProject) mustRun(args ...string) {
	p.t.Helper()
	if out, errOut, code := p.run(args...); code != 0 {
		p.t.Fatalf("pipectl %s: exit %d\n%s%s", args[0], code, out, errOut)
	}
}

// everyPlace runs the pipeline the ways a user meets its secrets — plan
// (-out), plan -json, apply, apply -json — and collects every place a
// secret may then be seen or kept: those commands' stdout and stderr, the
// plan file, runs.db's raw bytes, and of every recorded run `runs show`
// (plain, -logs, -json), `runs logs` (plain, -json) and its HTML report.
// (cmd/pipectl's e2e tests have the same helper for the std plugin.)
func (p *secretsProject) everyPlace() map[string]string {
	p.t.Helper()
	places := map[string]string{}
	run := func(name string, args ...string) {
		out, errOut, _ := p.run(args...)
		places[name+" stdout"], places[name+" stderr"] = out, errOut
	}
	run("plan", "plan", "-out", "plan.json")
	run("plan -json", "plan", "-json")
	run("apply", "apply", "-auto-approve")
	run("apply -json", "apply", "-auto-approve", "-json")
	files := map[string]string{"plan file": "plan.json", "runs.db": ".pipectl/runs.db"}
	list, _, _ := p.run("runs", "-json")
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		var m message
		if json.Unmarshal([]byte(line), &m) != nil || m.Type != "run" {
			continue
		}
		run("runs show "+m.ID, "runs", "show", m.ID)
		run("runs show -logs "+m.ID, "runs", "show", m.ID, "-logs")
		run("runs show -json "+m.ID, "runs", "show", m.ID, "-json")
		run("runs logs "+m.ID, "runs", "logs", m.ID)
		run("runs logs -json "+m.ID, "runs", "logs", m.ID, "-json")
		run("runs report "+m.ID, "runs", "report", m.ID, "-o", m.ID+".html")
		files["report "+m.ID] = m.ID + ".html"
	}
	for name, file := range files {
		b, err := os.ReadFile(filepath.Join(p.dir, file))
		if err != nil {
			p.t.Fatalf("%s: %v", name, err)
		}
		places[name] = string(b)
	}
	return places
}

// noFormIn fails for every form found in a place, quoting it in context.
func noFormIn(t *testing.T, places map[string]string, forms ...string) {
	t.Helper()
	for name, text := range places {
		for _, form := range forms {
			if i := strings.Index(text, form); i >= 0 {
				t.Errorf("%s shows %q: …%q…", name, form, text[max(0, i-80):min(len(text), i+len(form)+80)])
			}
		}
	}
}
