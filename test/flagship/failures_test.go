package flagship

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// An image with a HIGH CVE stops the pipeline in pre-deploy: the scan names
// the CVE, no deploy step starts, nothing is in the cluster, and the
// failure is notified. (Success criterion: the image passes the scan.)
func TestVulnerableImageStopsPreDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL
	f.vars["image_tag"] = "1.0.1-vuln"

	r := f.apply(nil)
	requireFailedAt(t, r, "pre_deploy", "image_scan", "CVE-2025-9230", "HIGH")
	requireNothingDeployed(t, f, r)
	requireFailureNotified(t, hook, "1.0.1-vuln", "image_scan", "CVE-2025-9230")
}

// A Secret the platform reads is missing: pre-deploy fails naming it and
// where it comes from, and nothing is deployed. (Success criterion:
// required secrets exist.)
func TestMissingSecretFailsPreDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev", withSecrets("alpha-members-db", "alpha-members-jwt"))
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL

	r := f.apply(nil)
	requireFailedAt(t, r, "pre_deploy", "secrets_check", "alpha-members-smtp: not found", "secret/data/alpha-members/dev")
	requireNothingDeployed(t, f, r)
	requireFailureNotified(t, hook, "1.0.0", "secrets_check", "alpha-members-smtp")
}

// Values the chart's schema refuses fail pre-deploy's values validation.
// (Success criterion: values validate against the schema.)
func TestInvalidValuesFailPreDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	f.appendFile("alpha-members/values/dev.yaml", "logLevel: chatty\n")

	// The plan renders the chart already: apply stops there, before any step.
	r := f.apply(nil)
	if r.code != 1 || !slices.ContainsFunc(r.messages, func(m message) bool {
		return m.Type == "diagnostic" && strings.Contains(m.Diagnostic.Summary, "values.schema.json") && strings.Contains(m.Diagnostic.Summary, "/logLevel")
	}) {
		t.Fatalf("want exit 1 with the schema's complaint about logLevel:\n%s", r)
	}
	if slices.ContainsFunc(r.messages, func(m message) bool { return m.Type == "step_started" }) {
		t.Errorf("steps ran:\n%s", r)
	}
	requireNothingDeployed(t, f, r)
}

// A release whose pods never become ready (no node matches their
// nodeSelector) fails the deploy; the release is back at the previous
// revision in the cluster, and the diagnosis names the cause. (Success
// criterion: all pods reach Ready.)
func TestUnreadyReleaseIsRolledBack(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	requireSucceeded(t, f.apply(nil))

	f.appendFile("alpha-members/values/dev.yaml", "nodeSelector:\n  disktype: ssd-that-no-node-has\n")
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL
	r := f.apply(nil)
	requireFailedAt(t, r, "deploy", "release", "rolled back")
	if r.ran("pods_ready") || r.ran("notify") {
		t.Errorf("validation or post-deploy ran after a failed deploy:\n%s", r)
	}
	// Helm's atomic upgrade rolled back by itself: the handler's rollback
	// (for a failed rollout after a good upgrade) has nothing to add.
	if st := r.finished(t, "rollback").Status; st != "skipped" {
		t.Errorf("rollback: %s, want skipped after Helm's own rollback", st)
	}

	// In the cluster: the newest revision is deployed and is revision 1's
	// configuration again; the failed one is recorded as failed.
	hist := releaseHistory(t, f.env, "alpha-members")
	last := hist[len(hist)-1]
	if last != (revision{3, "deployed"}) || !hasStatus(hist, 2, "failed") {
		t.Fatalf("release history %v: want revision 2 failed and 3 (the rollback to 1) deployed", hist)
	}
	dep, err := f.env.Client.AppsV1().Deployments(f.env.Namespace).Get(context.Background(), "alpha-members", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sel := dep.Spec.Template.Spec.NodeSelector; len(sel) != 0 {
		t.Errorf("the Deployment still has the failed revision's nodeSelector %v", sel)
	}
	if ready := readyPods(t, f.env); len(ready) != 1 {
		t.Errorf("%d pods Ready after the rollback, want 1", len(ready))
	}

	// The investigation names the cause.
	inv := r.finished(t, "investigate")
	summary, _ := inv.Outputs["summary"].(string)
	if inv.Status != "succeeded" || !strings.Contains(summary, "node affinity/selector") {
		t.Errorf("investigate: %s, summary %q: want the unmatched nodeSelector named", inv.Status, summary)
	}
	requireFailureNotified(t, hook, "1.0.0", "release", "rolled back")
}

// A health check that does not answer 200 fails validation, and the
// failure is investigated. (Success criterion: health checks pass.)
func TestFailingHealthCheckFailsValidation(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	f.vars["base_url"] = brokenStandIn(t, "/healthz", http.StatusServiceUnavailable)

	r := f.apply(nil)
	requireFailedAt(t, r, "validate", "health", "503")
	if r.finished(t, "validation_investigate").Status != "succeeded" {
		t.Errorf("the failed validation was not investigated:\n%s", r)
	}
	if r.ran("security_posture") {
		t.Errorf("post-deploy ran after a failed validation:\n%s", r)
	}
}

// A smoke test that gets the wrong answer fails validation: the members API
// must refuse a request without a token. (Success criterion: smoke tests
// pass.)
func TestFailingSmokeTestFailsValidation(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "staging")
	f.vars["base_url"] = brokenStandIn(t, "/api/v1/members", http.StatusOK)

	r := f.apply(nil)
	if r.code == 0 {
		t.Fatalf("the run succeeded:\n%s", r)
	}
	m := r.finished(t, "smoke", "members")
	if m.Status != "failed" || !strings.Contains(m.Message, "200") {
		t.Fatalf("smoke[members]: %s %q, want failed on HTTP 200\n%s", m.Status, m.Message, r)
	}
	// Outside dev a failed validation rolls back: a first install has
	// nothing to go back to, which the rollback says, and the
	// investigation goes on (continue_on_error).
	if m := r.finished(t, "validation_rollback"); !strings.Contains(m.Message, "no revision before the newest was deployed successfully") {
		t.Errorf("validation_rollback: %s %s", m.Status, m.Message)
	}
	if m := r.finished(t, "validation_investigate"); m.Status != "succeeded" {
		t.Errorf("validation_investigate: %s %s", m.Status, m.Message)
	}
}

// A release without its alert rules (monitoring turned off in the values)
// deploys, but post-deploy fails on "monitoring alerts configured", naming
// the missing PrometheusRule. (Success criterion: alerts configured.)
func TestMissingAlertRulesFailPostDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	f.appendFile("alpha-members/values/dev.yaml", "monitoring:\n  enabled: false\n")

	r := f.apply(nil)
	requireFailedAt(t, r, "post_deploy", "alerts_configured", "PrometheusRule/alpha-members: not found")
	if st := r.finished(t, "release").Status; st != "succeeded" {
		t.Errorf("release: %s, want succeeded (only the alert rules are missing)", st)
	}
}

// A container restart inside the monitor window fails post-deploy, naming
// the pod. kwok runs no containers, so the test writes the restart into the
// pod's status once the window is being watched. (Success criterion: no
// restarts in the window.)
func TestRestartInMonitorWindowFailsPostDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	f.vars["monitor_window"] = "45s"
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL

	var restarted string
	r := f.apply(func(m message) {
		if m.Type == "step_progress" && m.Step == "monitor" && restarted == "" {
			restarted = restartPod(t, f)
		}
	})
	if restarted == "" {
		t.Fatalf("the monitor window never started:\n%s", r)
	}
	requireFailedAt(t, r, "post_deploy", "monitor", restarted, "restarted")
	// The deploy itself succeeded and was announced; the failure after it too.
	if got := hook.received(); len(got) != 2 {
		t.Errorf("the webhook received %d messages, want the success and the failure: %v", len(got), got)
	}
}

// restartPod marks the first Ready pod's container as restarted once, with
// the termination a real kubelet would report, through the status
// subresource; it returns the pod's name.
func restartPod(t *testing.T, f *flagship) string {
	ready := readyPods(t, f.env)
	if len(ready) == 0 {
		t.Errorf("no Ready pod to restart")
		return "(none)"
	}
	pod := ready[0]
	patch := fmt.Sprintf(`{"status":{"containerStatuses":[{"name":%q,"restartCount":1,"ready":true,"image":%q,"imageID":"","started":true,`+
		`"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}},"lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:00:00Z"}}}]}}`,
		pod.Spec.Containers[0].Name, pod.Spec.Containers[0].Image)
	if _, err := f.env.Client.CoreV1().Pods(f.env.Namespace).Patch(context.Background(), pod.Name, types.StrategicMergePatchType,
		[]byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Errorf("patching %s's status: %v", pod.Name, err)
	}
	return pod.Name
}

// brokenStandIn is the stand-in service with one path answering status.
func brokenStandIn(t *testing.T, path string, status int) string {
	target, err := url.Parse(standIn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			w.WriteHeader(status)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// requireNothingDeployed: no deploy step started and there is no release,
// Deployment or alert rule in the namespace.
func requireNothingDeployed(t *testing.T, f *flagship, r *run) {
	t.Helper()
	for _, step := range []string{"select_values", "manifests", "release", "rollout"} {
		if r.ran(step) {
			t.Errorf("deploy step %s ran after pre-deploy failed", step)
		}
	}
	if hist := releaseHistory(t, f.env, "alpha-members"); len(hist) != 0 {
		t.Errorf("release history %v, want no release", hist)
	}
	_, err := f.env.Client.AppsV1().Deployments(f.env.Namespace).Get(context.Background(), "alpha-members", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a Deployment alpha-members exists (err %v)", err)
	}
}

// requireFailureNotified: exactly one message reached the webhook, the
// failure's, with the run's summary and the step that failed, with why.
func requireFailureNotified(t *testing.T, hook *receiver, tag, failedStep, why string) {
	t.Helper()
	got := hook.received()
	if len(got) != 1 {
		t.Fatalf("the webhook received %d messages, want the failure only: %v", len(got), got)
	}
	text, _ := got[0]["text"].(string)
	summary, _ := got[0]["summary"].(map[string]any)
	failed, _ := summary["failed_steps"].([]any)
	if !strings.Contains(text, "alpha-members "+tag+" did not deploy to dev: run ") || !strings.Contains(text, " failed.") ||
		!strings.Contains(text, "step."+failedStep+": ") || !strings.Contains(text, why) ||
		summary["status"] != "failed" || summary["run"] == "" || !slices.Contains(failed, any("step."+failedStep)) ||
		!strings.HasSuffix(fmt.Sprint(summary["image"]), ":"+tag) {
		t.Errorf("failure notification %v", got[0])
	}
}

func hasStatus(hist []revision, n int, status string) bool {
	for _, r := range hist {
		if r.Number == n {
			return r.Status == status
		}
	}
	return false
}
