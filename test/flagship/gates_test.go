package flagship

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// Another helm upgrade lands while a run waits at its approval gate
// (issue 23, "approve what runs"): when the gate opens the release is
// planned again, its revision is not the one approved, so the run stops
// with the difference and upgrades nothing: the other deploy's value
// stays, the release has the revisions of the two deploys only.
func TestAnotherDeployWhileWaitingAtTheGate(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Cluster(t)
	vars := []string{"PIPECTL_VAR_kubeconfig=" + env.Kubeconfig, "PIPECTL_VAR_namespace=" + env.Namespace}
	// Two checkouts of one pipeline: two CI jobs, each with its own
	// records and lock, deploying the same release.
	waiting := releaseCheckout(t, vars, gated)
	other := releaseCheckout(t, vars, gated)
	other.mustRun("apply", "-auto-approve", "-approve", "deploy", "PIPECTL_VAR_value=first") // revision 1

	cmd := exec.Command(filepath.Join(bins, "pipectl"), "apply", "-auto-approve", "-json")
	cmd.Dir, cmd.Env = waiting.dir, append(waiting.env(), "PIPECTL_USER=alice", "PIPECTL_VAR_value=approved")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	var events strings.Builder
	for lines.Scan() && !strings.Contains(lines.Text(), `"type":"gate_waiting"`) {
		events.WriteString(lines.Text() + "\n")
	}
	id := waitingRunID(t, waiting)

	other.mustRun("apply", "-auto-approve", "-approve", "deploy", "PIPECTL_VAR_value=hotfix") // revision 2, while the first waits
	if out, errOut, code := waiting.run("approve", id, "-yes", "PIPECTL_USER=bob"); code != 0 ||
		!strings.Contains(out, "upgrade release moved in "+env.Namespace+" to revision 2") {
		t.Fatalf("approve -yes: exit %d, want the approved plan printed\n%s%s", code, out, errOut)
	}
	for lines.Scan() {
		events.WriteString(lines.Text() + "\n")
	}
	if code := exitCode(t, cmd.Wait(), nil, nil); code != 6 {
		t.Fatalf("apply: exit %d, want 6 (stopped at its gate)\n%s%s", code, events.String(), stderr.String())
	}
	for _, want := range []string{`"type":"gate_stale"`, "step release (helm.upgrade) observes a change",
		"approved: upgrade release moved in " + env.Namespace + " to revision 2", "now:      upgrade release moved in " + env.Namespace + " to revision 3"} {
		if !strings.Contains(strings.ReplaceAll(events.String(), `\n`, "\n"), want) {
			t.Errorf("apply -json does not say %q:\n%s", want, events.String())
		}
	}
	cm, err := env.Client.CoreV1().ConfigMaps(env.Namespace).Get(context.Background(), "moved-values", metav1.GetOptions{})
	if err != nil || cm.Data["value"] != "hotfix" {
		t.Fatalf("the stale plan was applied: %v %v", cm.Data, err)
	}
	if revs := releaseHistory(t, env, "moved"); len(revs) != 2 {
		t.Fatalf("release history %v, want the two deploys only", revs)
	}
	if show, _, _ := waiting.run("runs", "show", id); !strings.Contains(show, "Gate stage.deploy (approval): stale") {
		t.Fatalf("runs show:\n%s", show)
	}
}

// A run that failed before its deploy is resumed after another helm
// upgrade landed: the release is planned again and compared with what was
// approved (by its change: it comes after a step that ran); the resume is
// refused and upgrades nothing.
func TestResumeAfterAnotherDeploy(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Cluster(t)
	vars := []string{"PIPECTL_VAR_kubeconfig=" + env.Kubeconfig, "PIPECTL_VAR_namespace=" + env.Namespace}
	failed := releaseCheckout(t, vars, afterACheck)
	other := releaseCheckout(t, vars, gated)
	other.mustRun("apply", "-auto-approve", "-approve", "deploy", "PIPECTL_VAR_value=first") // revision 1
	if _, errOut, code := failed.run("apply", "-auto-approve", "PIPECTL_VAR_value=approved"); code != 7 {
		// 7: the check fails before the release, the one change, ran.
		t.Fatalf("first run: exit %d, want 7 (its check fails before any change)\n%s", code, errOut)
	}
	list, _, _ := failed.run("runs")
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	failed.write("ready", "")
	other.mustRun("apply", "-auto-approve", "-approve", "deploy", "PIPECTL_VAR_value=hotfix") // revision 2

	out, errOut, code := failed.run("apply", "-resume", id, "PIPECTL_VAR_value=approved")
	if code != 1 || !strings.Contains(errOut, "The run cannot be resumed as approved") ||
		!strings.Contains(errOut, "step release (helm.upgrade) would do something else than what was approved") ||
		!strings.Contains(errOut, "now:      upgrade release moved in "+env.Namespace+" to revision 3") {
		t.Fatalf("resume after another deploy: exit %d, want 1 with the difference\n%s%s", code, out, errOut)
	}
	cm, err := env.Client.CoreV1().ConfigMaps(env.Namespace).Get(context.Background(), "moved-values", metav1.GetOptions{})
	if err != nil || cm.Data["value"] != "hotfix" {
		t.Fatalf("the stale plan was applied: %v %v", cm.Data, err)
	}
	if revs := releaseHistory(t, env, "moved"); len(revs) != 2 {
		t.Fatalf("release history %v, want the two deploys only", revs)
	}
}

// How a checkout's deploy stage is held back: by an approval gate, or
// after a check that fails until a file named ready exists.
var (
	gated       = holdBack{head: `approval { message = "Deploy?" }`}
	afterACheck = holdBack{before: `
stage "check" {
  step "ready" {
    action  = std.exec
    command = "test"
    args    = ["-f", "ready"]
  }
}`, head: `depends_on = [stage.check]`}
)

// holdBack is what comes before the deploy stage, and at its head.
type holdBack struct{ before, head string }

// releaseCheckout is a checkout of a pipeline whose deploy stage (held
// back by head) upgrades the release "moved" (a ConfigMap of var.value).
func releaseCheckout(t *testing.T, vars []string, hold holdBack) *secretsProject {
	p := &secretsProject{t: t, dir: t.TempDir(), vars: vars}
	p.write("chart/Chart.yaml", "apiVersion: v2\nname: moved\nversion: 0.1.0\n")
	p.write("chart/templates/configmap.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-values
data:
  value: {{ .Values.value | quote }}
`)
	p.write("pipeline.hcl", `
pipeline "moved" {}
variable "kubeconfig" { type = string }
variable "namespace" { type = string }
variable "value" { type = string }
plugin "helm" { kubeconfig = var.kubeconfig }
`+hold.before+`
stage "deploy" {
  `+hold.head+`
  step "release" {
    action    = helm.upgrade
    release   = "moved"
    chart     = "./chart"
    namespace = var.namespace
    set       = { value = var.value }
  }
}`)
	p.mustRun("init")
	return p
}

// waitingRunID is the id of the run that waits for approval, once its
// record says so.
func waitingRunID(t *testing.T, p *secretsProject) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, _, _ := p.run("runs")
		if strings.Contains(out, "waiting for approval at stage.deploy") {
			return strings.Fields(strings.Split(out, "\n")[1])[0]
		}
	}
	t.Fatal("the run never waited at its gate")
	return ""
}
