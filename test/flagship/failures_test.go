package flagship

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
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

// A release whose pods never become ready (its build's readiness probe
// answers 503, on the real node) fails the deploy at its deadline; the
// release is back at the previous revision in the cluster, and the
// diagnosis names the failing probe. (Success criterion: all pods reach
// Ready.)
func TestUnreadyReleaseIsRolledBack(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	requireSucceeded(t, f.apply(nil))

	f.vars["image_tag"] = "1.0.0-unready"
	f.vars["rollout_deadline"] = "40s"
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL
	r := f.apply(nil)
	requireFailedAt(t, r, "deploy", "release", "rolled back", "timed out after", "waiting for the release's objects")
	requireRolledBack(t, f, r)

	// The investigation names the cause: the kubelet's probe events.
	inv := r.finished(t, "investigate")
	summary, _ := inv.Outputs["summary"].(string)
	if inv.Status != "succeeded" || !strings.Contains(summary, "Readiness probe failed") || !strings.Contains(summary, "503") {
		t.Errorf("investigate: %s, summary %q: want the failing readiness probe named", inv.Status, summary)
	}
	requireFailureNotified(t, hook, "1.0.0-unready", "release", "rolled back")
}

// A release whose container crashes at start fails the deploy soon after
// the kubelet first reports CrashLoopBackOff (not at the deadline, 5m in
// dev), naming the cause, and is rolled back.
func TestCrashLoopingReleaseFailsFast(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	requireSucceeded(t, f.apply(nil))

	f.vars["image_tag"] = "1.0.0-crash"
	r := f.apply(nil)
	requireFailedAt(t, r, "deploy", "release", "rolled back", "CrashLoopBackOff", "last exit code 1")
	requireRolledBack(t, f, r)
	requireFailedWithin(t, f, r, 30*time.Second, "BackOff", "Back-off restarting failed container")
	requireCause(t, r, "crash loop: ")
}

// A release whose image is not in the registry when it deploys (it was,
// when pre-deploy scanned it: the test deletes its tag right after the
// scan) fails the deploy soon after the kubelet's first ErrImagePull,
// naming the image, and is rolled back.
func TestMissingImageFailsFast(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	requireSucceeded(t, f.apply(nil))

	tag := "1.0.0-gone-" + f.env.Namespace[len(f.env.Namespace)-5:]
	copyTag(t, f.env.Registry, "1.0.0", tag)
	f.vars["image_tag"] = tag
	r := f.apply(func(m message) {
		if m.Type == "step_finished" && m.Step == "image_scan" && m.Status == "succeeded" {
			deleteTag(t, f.env.Registry, tag)
		}
	})
	requireFailedAt(t, r, "deploy", "release", "rolled back", "ErrImagePull", tag, "not found")
	requireRolledBack(t, f, r)
	requireFailedWithin(t, f, r, 30*time.Second, "Failed", "ErrImagePull")
	requireCause(t, r, "image pull error: ")
}

// A helm test that fails fails validation: the chart's test pod calls the
// API through the Service's name, and this build's API answers 500. The
// failure carries the test pod's log, served by the kubelet. (Success
// criterion: helm tests pass.)
func TestFailingHelmTestFailsValidation(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	f.vars["image_tag"] = "1.0.0-auth-down"

	r := f.apply(nil)
	requireFailedAt(t, r, "validate", "helm_tests", "alpha-members-test-connection", "HTTP 500")
	if r.finished(t, "validation_investigate").Status != "succeeded" {
		t.Errorf("the failed validation was not investigated:\n%s", r)
	}
	if r.ran("security_posture") {
		t.Errorf("post-deploy ran after a failed validation:\n%s", r)
	}
}

// A health check that does not answer 200 fails validation, and the
// failure is investigated: the build's /healthz answers 500, from the pod,
// through the Service. (Success criterion: health checks pass.)
func TestFailingHealthCheckFailsValidation(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	f.vars["image_tag"] = "1.0.0-unhealthy"

	r := f.apply(nil)
	requireFailedAt(t, r, "validate", "health", "status 500, want 200")
	if r.finished(t, "validation_investigate").Status != "succeeded" {
		t.Errorf("the failed validation was not investigated:\n%s", r)
	}
	if r.ran("security_posture") {
		t.Errorf("post-deploy ran after a failed validation:\n%s", r)
	}
}

// A smoke test that gets the wrong answer fails validation: the members
// API must refuse a request without a token (401); this build answers 500.
// (Success criterion: smoke tests pass.)
func TestFailingSmokeTestFailsValidation(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "staging")
	f.vars["image_tag"] = "1.0.0-members-down"

	r := f.apply(nil)
	if r.code == 0 {
		t.Fatalf("the run succeeded:\n%s", r)
	}
	m := r.finished(t, "smoke", "members")
	if m.Status != "failed" || !strings.Contains(m.Message, "500") {
		t.Fatalf("smoke[members]: %s %q, want failed on HTTP 500\n%s", m.Status, m.Message, r)
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

// A container that restarts inside the monitor window fails post-deploy,
// naming the pod: once the window is watched, the test asks this build to
// crash (POST /debug/crash through the Service); the kubelet restarts it.
// (Success criterion: no restarts in the window.)
func TestRestartInMonitorWindowFailsPostDeploy(t *testing.T) {
	t.Parallel()
	f := newFlagship(t, "dev")
	f.vars["image_tag"] = "1.0.0-crash-on-request"
	f.vars["monitor_window"] = "45s"
	hook := newReceiver(t)
	f.vars["notify_webhook"] = hook.URL

	var crashed string
	r := f.apply(func(m message) {
		if m.Type == "step_progress" && m.Step == "monitor" && crashed == "" {
			crashed = crashPod(t, f)
		}
	})
	if crashed == "" {
		t.Fatalf("the monitor window never started:\n%s", r)
	}
	requireFailedAt(t, r, "post_deploy", "monitor", crashed, "restarted")
	// The deploy itself succeeded and was announced; the failure after it too.
	if got := hook.received(); len(got) != 2 {
		t.Errorf("the webhook received %d messages, want the success and the failure: %v", len(got), got)
	}
	pod, err := f.env.Client.CoreV1().Pods(f.env.Namespace).Get(context.Background(), crashed, metav1.GetOptions{})
	if err != nil || pod.Status.ContainerStatuses[0].RestartCount < 1 {
		t.Errorf("pod %s: the kubelet reports no restart (%v)", crashed, err)
	}
}

// crashPod asks the release's one pod to crash, through the Service; it
// returns the pod's name.
func crashPod(t *testing.T, f *flagship) string {
	ready := readyPods(t, f.env)
	if len(ready) != 1 {
		t.Errorf("%d Ready pods, want dev's one", len(ready))
		return "(none)"
	}
	resp, err := http.Post("http://"+f.vars["service_ip"]+"/debug/crash", "", nil)
	if err != nil {
		t.Errorf("POST /debug/crash: %v", err)
		return "(none)"
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST /debug/crash: HTTP %d, want 202", resp.StatusCode)
	}
	return ready[0].Name
}

// requireRolledBack: in the cluster, the newest revision is deployed and is
// revision 1's configuration again (image 1.0.0, one pod Ready); the
// failed one is recorded as failed; validation and post-deploy never ran.
// Helm's atomic upgrade rolled back by itself, so the handler's rollback
// (for a failed rollout after a good upgrade) had nothing to add.
func requireRolledBack(t *testing.T, f *flagship, r *run) {
	t.Helper()
	if r.ran("pods_ready") || r.ran("notify") {
		t.Errorf("validation or post-deploy ran after a failed deploy:\n%s", r)
	}
	if st := r.finished(t, "rollback").Status; st != "skipped" {
		t.Errorf("rollback: %s, want skipped after Helm's own rollback", st)
	}
	hist := releaseHistory(t, f.env, "alpha-members")
	if last := hist[len(hist)-1]; last != (revision{3, "deployed"}) || !hasStatus(hist, 2, "failed") {
		t.Fatalf("release history %v: want revision 2 failed and 3 (the rollback to 1) deployed", hist)
	}
	dep, err := f.env.Client.AppsV1().Deployments(f.env.Namespace).Get(context.Background(), "alpha-members", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; img != f.env.Image("1.0.0") {
		t.Errorf("the Deployment runs %s after the rollback, want %s", img, f.env.Image("1.0.0"))
	}
	if ready := readyPods(t, f.env); len(ready) != 1 {
		t.Errorf("%d pods Ready after the rollback, want 1", len(ready))
	}
}

// requireFailedWithin: the release step gave up on the upgrade (its
// rollback began) at most limit after the kubelet's first event of reason
// whose message holds what: measured between the recorded events (the
// cluster's, and the run's), not by the test's clock.
func requireFailedWithin(t *testing.T, f *flagship, r *run, limit time.Duration, reason, what string) {
	t.Helper()
	first := firstPodEvent(t, f.env, reason, what)
	var gaveUp time.Time
	for _, m := range r.messages {
		if m.Type == "step_log" && m.Step == "release" && strings.HasPrefix(m.Message, "rolling back:") {
			gaveUp = m.Time
			break
		}
	}
	if first.IsZero() || gaveUp.IsZero() {
		t.Fatalf("no %s event %q (%v) or no rollback in the release's log (%v):\n%s", reason, what, first, gaveUp, r)
	}
	// Events are stamped to the second: the first one happened up to a
	// second after its stamp.
	took := gaveUp.Sub(first)
	t.Logf("the deploy gave up %s after the first %s event", took.Round(100*time.Millisecond), reason)
	if took < -time.Second || took > limit+time.Second {
		t.Errorf("the deploy gave up %s after the first %s event (%s), want at most %s", took, reason, first, limit)
	}
}

// firstPodEvent is the time of the earliest event about a pod of the
// test's namespace with this reason and a message holding what.
func firstPodEvent(t *testing.T, env *sandboxtest.Env, reason, what string) time.Time {
	t.Helper()
	list, err := env.Client.CoreV1().Events(env.Namespace).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod,reason=" + reason})
	if err != nil {
		t.Fatal(err)
	}
	var first time.Time
	for _, e := range list.Items {
		at := e.FirstTimestamp.Time
		if at.IsZero() {
			at = e.EventTime.Time
		}
		if strings.Contains(e.Message, what) && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first
}

// requireCause: the investigation after the failed deploy names the cause.
func requireCause(t *testing.T, r *run, cause string) {
	t.Helper()
	inv := r.finished(t, "investigate")
	if summary, _ := inv.Outputs["summary"].(string); inv.Status != "succeeded" || !strings.Contains(summary, cause) {
		t.Errorf("investigate: %s, summary %q: want %q", inv.Status, summary, cause)
	}
}

// copyTag tags the manifest of from as to too, in the sandbox registry's
// alpha-members repository (the OCI distribution API, plain HTTP).
func copyTag(t *testing.T, registry, from, to string) {
	t.Helper()
	base := "http://" + registry + "/v2/alpha-members/manifests/"
	req, _ := http.NewRequest(http.MethodGet, base+from, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s: HTTP %d %v", from, resp.StatusCode, err)
	}
	put, _ := http.NewRequest(http.MethodPut, base+to, bytes.NewReader(body))
	put.Header.Set("Content-Type", resp.Header.Get("Content-Type"))
	if resp, err = http.DefaultClient.Do(put); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT manifest %s: %v %v", to, resp, err)
	}
	resp.Body.Close()
}

// deleteTag removes a tag from the alpha-members repository.
func deleteTag(t *testing.T, registry, tag string) {
	req, _ := http.NewRequest(http.MethodDelete, "http://"+registry+"/v2/alpha-members/manifests/"+tag, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Errorf("DELETE manifest %s: %v %v", tag, resp, err)
		return
	}
	resp.Body.Close()
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
