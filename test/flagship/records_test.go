package flagship

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A rollback's record says what the rollback did, not what its plan
// guessed: planned while the release was at revision 2 ("from revision 2
// to revision 1, as revision 3"), it runs after the run's own upgrade made
// revision 3, so it really rolls back from 3 to 2, as revision 4. The step
// table of `runs show`, its JSON and the HTML report all say so. (A small
// pipeline of its own, on the flagship's binaries and sandbox: it needs
// Helm and a cluster, not trivy.)
func TestRollbackRecordSaysWhatHappened(t *testing.T) {
	t.Parallel()
	env := cluster(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"pipeline.hcl":            rollbackPipeline,
		"chart/Chart.yaml":        "apiVersion: v2\nname: rb\nversion: 0.1.0\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rb\ndata:\n  version: {{ .Values.version | quote }}\n",
	})
	f := &flagship{t: t, env: env, dir: dir, envName: "dev",
		vars: map[string]string{"kubeconfig": env.Kubeconfig, "namespace": env.Namespace}}
	if out, errOut, code := f.pipectl("init"); code != 0 {
		t.Fatalf("pipectl init: exit %d\n%s%s", code, out, errOut)
	}
	apply := func(version, fail string) *run {
		f.vars["version"], f.vars["fail"] = version, fail
		return f.apply(nil)
	}
	requireSucceeded(t, apply("1", "false"))
	requireSucceeded(t, apply("2", "false"))

	// The plan's guess, before this run's own upgrade.
	f.vars["version"], f.vars["fail"] = "3", "true"
	planned := ""
	for _, m := range f.plan().messages {
		if m.Type == "step_planned" && m.Step == "rollback" && len(m.Instances) == 1 {
			planned = m.Instances[0].Summary
		}
	}
	if !strings.Contains(planned, "from revision 2 (deployed) to revision 1, as revision 3") {
		t.Fatalf("rollback planned as %q, want the plan-time guess from revision 2 to 1 (the test's premise)", planned)
	}

	r := apply("3", "true")
	if r.code == 0 {
		t.Fatalf("the run did not fail:\n%s", r)
	}
	const did = "from revision 3 (deployed) to revision 2, as revision 4 (deployed)"
	if m := r.finished(t, "rollback"); m.Status != "succeeded" || !strings.Contains(m.Message, did) {
		t.Fatalf("rollback step_finished: %s %q, want what it did: %q\n%s", m.Status, m.Message, did, r)
	}
	if hist := releaseHistory(t, env, "rb"); len(hist) != 4 || hist[3] != (revision{4, "deployed"}) {
		t.Fatalf("release history %v, want revision 4 deployed (the rollback to 2)", hist)
	}

	const id = "latest"
	table, errOut, code := f.pipectl("runs", "show", id)
	if code != 0 {
		t.Fatalf("runs show: exit %d\n%s", code, errOut)
	}
	requireRow(t, "runs show", table, "rollback", did)

	asJSON, _, _ := f.pipectl("runs", "show", id, "-json")
	var rec struct {
		Steps []struct{ Step, Status, Message string }
	}
	for _, line := range strings.Split(asJSON, "\n") {
		if strings.Contains(line, `"type":"run"`) {
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	recorded := "(no record of the step)"
	for _, s := range rec.Steps {
		if s.Step == "rollback" {
			recorded = s.Message
		}
	}
	if !strings.Contains(recorded, did) {
		t.Errorf("runs show -json records the rollback as %q, want what it did: %q", recorded, did)
	}

	report := filepath.Join(dir, "report.html")
	if _, errOut, code := f.pipectl("runs", "report", id, "-o", report); code != 0 {
		t.Fatalf("runs report: exit %d\n%s", code, errOut)
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "rolled back release rb in "+env.Namespace+" "+did) {
		t.Errorf("the report does not say what the rollback did (%q)", did)
	}
}

const rollbackPipeline = `
pipeline "rollback-record" {}

variable "kubeconfig" { type = string }
variable "namespace" { type = string }
variable "version" { type = string }
variable "fail" { type = bool }

environment "dev" {}

plugin "helm" { kubeconfig = var.kubeconfig }
plugin "std" {}

stage "deploy" {
  step "release" {
    action    = helm.upgrade
    release   = "rb"
    chart     = "${path.root}/chart"
    namespace = var.namespace
    set       = { version = var.version }
    wait      = true
  }
  step "verify" {
    action     = std.exec
    command    = var.fail ? "false" : "true"
    depends_on = [step.release]
  }
  on_failure {
    step "rollback" {
      action    = helm.rollback
      release   = "rb"
      namespace = var.namespace
      wait      = true
    }
  }
}
`

// requireRow fails unless a line of a table starts with name and says want.
func requireRow(t *testing.T, what, table, name, want string) {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), name+" ") && strings.Contains(line, want) {
			return
		}
	}
	t.Errorf("%s: no %s row saying %q:\n%s", what, name, want, table)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
