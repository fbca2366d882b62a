package flagship

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// The whole pipeline, for real, in dev: every step succeeds, the release is
// deployed and Ready in the cluster with its alert rules, stakeholders hear
// about it, and a plan right after says the release has no changes.
func TestDevDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL

	r := f.apply(nil)
	requireSucceeded(t, r)
	requireEveryStepSucceeded(t, r)
	requireDeployed(t, f, 1, 1)
	requireWorkflowOutputs(t, f, r)

	notes := hook.received()
	if len(notes) != 1 || !strings.Contains(fmt.Sprint(notes[0]["text"]), "alpha-members 1.0.0 is live in dev (revision 1)") {
		t.Fatalf("the webhook received %v", notes)
	}
	summary, _ := notes[0]["summary"].(map[string]any)
	if summary["status"] != "deployed" || summary["revision"] != 1.0 || summary["namespace"] != f.env.Namespace || fmt.Sprint(summary["run"]) == "" || summary["run"] == nil ||
		summary["pods_ready"] != 1.0 || summary["image"] != f.env.Image("1.0.0") {
		t.Errorf("the notification's run summary: %v", summary)
	}

	// Re-planning right after the deploy: the release has no changes.
	p := f.plan()
	if p.code != 0 {
		t.Fatalf("plan: exit %d\n%s", p.code, p)
	}
	requireNoChange(t, p, "release")
}

// CI: the plan job saves a dev plan in its checkout; the apply job, on
// another runner, applies that plan file in a fresh checkout at another
// path (its own pipectl init; the sensitive webhook given again). The plan
// file holds no sensitive value.
func TestDevDeployFromASavedPlanInAnotherClone(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL
	planFile := filepath.Join(t.TempDir(), "dev.plan")
	if out, errOut, code := f.pipectl(append([]string{"plan", "-out", planFile}, f.args()...)...); code != 0 {
		t.Fatalf("plan job: exit %d\n%s%s", code, out, errOut)
	}
	if b, err := os.ReadFile(planFile); err != nil || strings.Contains(string(b), hook.URL) {
		t.Fatalf("the plan file holds the sensitive webhook URL (%v)", err)
	}

	job := *f
	job.dir = filepath.Join(t.TempDir(), "runner-b", "checkout", "pipelines")
	copyDir(t, f.dir, job.dir)
	if out, errOut, code := job.pipectl("init"); code != 0 {
		t.Fatalf("apply job: pipectl init: exit %d\n%s%s", code, out, errOut)
	}
	r := job.stream(nil, "apply", "-json", planFile, "-var", "notify_webhook="+hook.URL)
	requireSucceeded(t, r)
	requireEveryStepSucceeded(t, r)
	requireDeployed(t, f, 1, 1)
	if notes := hook.received(); len(notes) != 1 || !strings.Contains(fmt.Sprint(notes[0]["text"]), "is live in dev") {
		t.Errorf("the webhook received %v", notes)
	}
}

// Staging: two replicas, the same pipeline.
func TestStagingDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "staging")
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL

	r := f.apply(nil)
	requireSucceeded(t, r)
	requireEveryStepSucceeded(t, r)
	requireDeployed(t, f, 1, 2)
	if notes := hook.received(); len(notes) != 1 || !strings.Contains(fmt.Sprint(notes[0]["text"]), "is live in staging") {
		t.Errorf("the webhook received %v", notes)
	}
}

// Prod: the run waits at the deploy stage's approval gate until someone
// other than its starter approves it with pipectl approve (a
// self-approval is refused); then three replicas under an autoscaler
// (3 to 20).
func TestProdDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "prod")
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL

	approved := false
	r := f.apply(func(m message) {
		if m.Type == "gate_waiting" && m.Gate == "stage.deploy" && !approved {
			approved = true
			id := f.onlyRun()
			// Four eyes: whoever started the run cannot approve it. The
			// record says the run waits a moment after the event: until
			// then approve answers "not waiting", which proves nothing.
			_, errOut, code := f.pipectl("approve", id, "-reason", "my own change")
			for deadline := time.Now().Add(time.Minute); strings.Contains(errOut, "is not waiting for approval") && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				_, errOut, code = f.pipectl("approve", id, "-reason", "my own change")
			}
			if code != 1 || !strings.Contains(errOut, "cannot approve it") {
				t.Errorf("a self-approval: exit %d, want 1 with the reason\n%s", code, errOut)
			}
			approve := f.command("approve", id, "-reason", "e2e: CHG-1 approved")
			approve.Env = append(approve.Env, "PIPECTL_USER=release-manager")
			if out, err := approve.CombinedOutput(); err != nil {
				t.Errorf("pipectl approve %s as release-manager: %v\n%s", id, err, out)
			}
		}
	})
	if !approved {
		t.Fatalf("prod never waited at its approval gate:\n%s", r)
	}
	requireSucceeded(t, r)
	requireEveryStepSucceeded(t, r)
	requireDeployed(t, f, 1, 3)
	hpa, err := f.env.Client.AutoscalingV2().HorizontalPodAutoscalers(f.env.Namespace).Get(context.Background(), "alpha-members", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("prod's autoscaler: %v", err)
	}
	if *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 20 {
		t.Errorf("autoscaler %d–%d, want 3–20", *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	if notes := hook.received(); len(notes) != 1 || !strings.Contains(fmt.Sprint(notes[0]["text"]), "is live in prod") {
		t.Errorf("the webhook received %v", notes)
	}
}

// requireEveryStepSucceeded: each step of the four stages ran and succeeded
// (none skipped, none left out), and no failure handler ran.
func requireEveryStepSucceeded(t *testing.T, r *run) {
	t.Helper()
	want := []string{
		"chart_lint", "values_validate", "secrets_check", "cluster_access", "image_scan", "chart_scan", "secret_scan", "capacity",
		"checklist", "select_values", "manifests", "release", "rollout", "release_status",
		"pods_ready", "helm_tests", "endpoints", "health", "smoke[home]", "smoke[login]", "smoke[members]", "validation_results",
		"security_posture", "pod_security", "release_notes", "documentation", "deployment_summary", "notify", "alerts_configured", "monitor",
		"record",
	}
	got := r.statuses()
	for _, step := range want {
		if got[step] != "succeeded" {
			t.Errorf("step %s: %q, want succeeded", step, got[step])
		}
	}
	for _, handler := range []string{"rollback", "investigate", "validation_rollback", "validation_investigate", "notify_failure"} {
		if r.ran(handler) {
			t.Errorf("failure handler %s ran in a successful deploy", handler)
		}
	}
	if t.Failed() {
		t.Fatalf("the run:\n%s", r)
	}
}

// requireDeployed checks the cluster: the release at revision rev,
// deployed, with pods Ready, a Service and its alert rules.
func requireDeployed(t *testing.T, f *flagship, rev, pods int) {
	t.Helper()
	hist := releaseHistory(t, f.env, "alpha-members")
	if len(hist) == 0 || hist[len(hist)-1] != (revision{rev, "deployed"}) {
		t.Fatalf("release history %v, want revision %d deployed last", hist, rev)
	}
	if ready := readyPods(t, f.env); len(ready) < pods {
		t.Errorf("%d pods Ready, want %d", len(ready), pods)
	}
	ctx := context.Background()
	if _, err := f.env.Client.CoreV1().Services(f.env.Namespace).Get(ctx, "alpha-members", metav1.GetOptions{}); err != nil {
		t.Errorf("the release's Service: %v", err)
	}
	dyn, err := dynamic.NewForConfig(f.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(prometheusRules).Namespace(f.env.Namespace).Get(ctx, "alpha-members", metav1.GetOptions{}); err != nil {
		t.Errorf("the release's alert rules (PrometheusRule): %v", err)
	}
}

// requireNoChange: the plan says step has no changes.
func requireNoChange(t *testing.T, p *run, step string) {
	t.Helper()
	for _, m := range p.messages {
		if m.Type == "step_planned" && m.Step == step {
			if len(m.Instances) != 1 || m.Instances[0].Kind != "no-change" || !strings.Contains(m.Instances[0].Summary, "no changes") {
				t.Fatalf("plan of %s: %+v, want no changes", step, m.Instances)
			}
			return
		}
	}
	t.Fatalf("no plan of step %s:\n%s", step, p)
}

// requireWorkflowOutputs: the workflow's outputs are artifacts of the run
// (pre-deploy checklist, security scan results, resource availability
// report, release status, validation results, deployment summary, release
// notes), and the ones pipectl renders say what happened.
func requireWorkflowOutputs(t *testing.T, f *flagship, r *run) {
	t.Helper()
	got := r.artifacts()
	for _, want := range []string{
		"checklist/pre-deploy-checklist.md",
		"image_scan/trivy-image-report.md", "chart_scan/trivy-config-report.md", "secret_scan/trivy-secret-report.md",
		"capacity/capacity.md",
		"manifests/manifests.yaml",
		"validation_results/validation-results.md",
		"security_posture/trivy-config-report.md", "pod_security/pod-security.md",
		"deployment_summary/deployment-summary.md", "release_notes/release-notes.md", "documentation/DEPLOYMENT.md",
		"record/summary.json",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("artifact %s is missing; the run attached %v", want, got)
		}
	}
	work := filepath.Join(f.dir, ".pipectl", "alpha-members", f.envName)
	for file, want := range map[string][]string{
		"pre-deploy-checklist.md": {"Required secrets exist in " + f.env.Namespace + ": alpha-members-db, alpha-members-jwt, alpha-members-smtp", "Image passes security scan: " + f.env.Image("1.0.0")},
		"validation-results.md":   {"Pods ready: 1", "Helm tests: 1 passed, 0 failed", "Smoke test members: HTTP 401"},
		"deployment-summary.md":   {"revision 1 (deployed)", "PrometheusRule/alpha-members", "- 1: deployed"},
	} {
		b, err := os.ReadFile(filepath.Join(work, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not say %q:\n%s", file, w, b)
			}
		}
	}
}
