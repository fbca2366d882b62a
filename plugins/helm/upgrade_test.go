package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/pipectl/pipectl/sdk/plugintest"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/sdk"
)

func with(base map[string]any, extra map[string]any) cty.Value {
	m := maps.Clone(base)
	maps.Copy(m, extra)
	return obj(m)
}

// The whole life of a third-party chart: install with wait, a no-change
// plan, an upgrade whose plan is the diff, status, tests, a stale saved
// plan after an out-of-band upgrade, an explicit rollback.
func TestPodinfoLifecycle(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	base := map[string]any{"release": "podinfo", "chart": podinfoChart, "namespace": env.Namespace, "wait": true, "atomic": true}

	plan := p.Plan("upgrade", with(base, nil))
	requirePlanOK(t, plan)
	if plan.Kind != sdk.PlanChange || !strings.Contains(plan.Summary, "install release podinfo") || !strings.Contains(plan.Summary, "revision 1") {
		t.Fatalf("install plan: %v %q", plan.Kind, plan.Summary)
	}
	if err := contains2(plan.Change, "+ Deployment/podinfo ("+env.Namespace+") will be created", "+ Service/podinfo"); err != nil {
		t.Fatal(err)
	}

	run := p.Apply("upgrade", with(base, nil))
	requireOK(t, run)
	if num(t, run.Output("revision")) != 1 || run.Output("status").AsString() != "deployed" || run.Output("chart").AsString() != "podinfo-6.14.1" {
		t.Fatalf("install outputs: %#v", run.Outputs)
	}
	logs := strings.Join(run.Logs(""), "\n")
	if err := contains2(logs, "Deployment/podinfo: Current", "Service/podinfo: Current"); err != nil {
		t.Fatalf("progress not streamed: %v", err)
	}
	if len(run.Progress()) == 0 {
		t.Fatal("no progress events")
	}
	if !strings.Contains(run.Output("manifest").AsString(), "kind: Deployment") {
		t.Fatal("manifest output lacks the Deployment")
	}

	t.Run("no change", func(t *testing.T) {
		plan := p.Plan("upgrade", with(base, nil))
		requirePlanOK(t, plan)
		if plan.Kind != sdk.PlanNoChange || plan.Change != "" {
			t.Fatalf("want no change, got %v %q\n%s", plan.Kind, plan.Summary, plan.Change)
		}
		if num(t, plan.PlannedOutputs.GetAttr("revision")) != 1 {
			t.Fatalf("planned revision %#v", plan.PlannedOutputs.GetAttr("revision"))
		}
	})

	changed := with(base, map[string]any{"set": obj(map[string]any{"replicaCount": 2})})
	t.Run("diff", func(t *testing.T) {
		plan := p.Plan("upgrade", changed)
		requirePlanOK(t, plan)
		if plan.Kind != sdk.PlanChange || !strings.Contains(plan.Summary, "to revision 2") || !strings.Contains(plan.Summary, "1 to change") {
			t.Fatalf("upgrade plan: %v %q", plan.Kind, plan.Summary)
		}
		if err := contains2(plan.Change, "~ Deployment/podinfo ("+env.Namespace+") will be changed", "-  replicas: 1", "+  replicas: 2", "@@"); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plan.Change, "Service/podinfo") || strings.Count(plan.Change, "\n") > 12 {
			t.Fatalf("the diff should show only the changed lines of changed objects:\n%s", plan.Change)
		}
	})

	run = p.Apply("upgrade", changed)
	requireOK(t, run)
	if num(t, run.Output("revision")) != 2 {
		t.Fatalf("revision %v", run.Output("revision"))
	}
	dep, err := env.Client.AppsV1().Deployments(env.Namespace).Get(t.Context(), "podinfo", metav1.GetOptions{})
	if err != nil || *dep.Spec.Replicas != 2 || dep.Status.ReadyReplicas != 2 {
		t.Fatalf("deployment after the upgrade: %v %+v", err, dep.Status)
	}

	t.Run("status", func(t *testing.T) {
		run := p.Apply("status", obj(map[string]any{"release": "podinfo", "namespace": env.Namespace}))
		requireOK(t, run)
		if num(t, run.Output("revision")) != 2 || run.Output("status").AsString() != "deployed" || run.Output("history").LengthInt() != 2 {
			t.Fatalf("status outputs: %#v", run.Outputs)
		}
		first := run.Output("history").Index(cty.NumberIntVal(1))
		if num(t, first.GetAttr("revision")) != 1 || first.GetAttr("status").AsString() != "superseded" {
			t.Fatalf("history: %#v", run.Output("history"))
		}
	})

	t.Run("helm test passes", func(t *testing.T) {
		run := p.Apply("test", obj(map[string]any{"release": "podinfo", "namespace": env.Namespace}))
		requireOK(t, run)
		if num(t, run.Output("passed")) < 3 || num(t, run.Output("failed")) != 0 {
			t.Fatalf("test outputs: %#v", run.Outputs)
		}
		if !strings.Contains(strings.Join(run.Logs(""), "\n"), "hook Pod/podinfo-grpc-test") {
			t.Fatalf("test hooks not streamed: %q", run.Logs(""))
		}
	})

	t.Run("stale plan", func(t *testing.T) {
		saved := p.Plan("upgrade", with(base, map[string]any{"set": obj(map[string]any{"replicaCount": 3})}))
		requirePlanOK(t, saved)
		// Someone upgrades out of band, with the Helm SDK directly.
		cfg := helmConfig(t, env)
		ch, err := loader.Load(podinfoChart)
		if err != nil {
			t.Fatal(err)
		}
		up := action.NewUpgrade(cfg)
		up.Namespace = env.Namespace
		if _, err := up.Run("podinfo", ch, map[string]any{"replicaCount": 2, "ui": map[string]any{"message": "out of band"}}); err != nil {
			t.Fatal(err)
		}
		again := p.Plan("upgrade", with(base, map[string]any{"set": obj(map[string]any{"replicaCount": 3})}))
		requirePlanOK(t, again)
		if saved.Fingerprint == "" || saved.Fingerprint == again.Fingerprint {
			t.Fatalf("the fingerprint must change when the release moves: %q then %q", saved.Fingerprint, again.Fingerprint)
		}
		if !strings.Contains(again.Summary, "to revision 4") {
			t.Fatalf("plan after the out-of-band upgrade: %q", again.Summary)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		plan := p.Plan("rollback", obj(map[string]any{"release": "podinfo", "namespace": env.Namespace, "revision": 1}))
		requirePlanOK(t, plan)
		if !strings.Contains(plan.Summary, "from revision 3 (deployed) to revision 1, as revision 4") || !strings.Contains(plan.Change, "+  replicas: 1") {
			t.Fatalf("rollback plan: %q\n%s", plan.Summary, plan.Change)
		}
		run := p.Apply("rollback", obj(map[string]any{"release": "podinfo", "namespace": env.Namespace, "revision": 1, "wait": true}))
		requireOK(t, run)
		if num(t, run.Output("revision")) != 4 || run.Output("status").AsString() != "deployed" {
			t.Fatalf("rollback outputs: %#v", run.Outputs)
		}
		if want := "rolled back release podinfo in " + env.Namespace + " from revision 3 (deployed) to revision 1, as revision 4 (deployed)"; run.Summary != want {
			t.Errorf("rollback says it did %q, want %q", run.Summary, want)
		}
		dep, err := env.Client.AppsV1().Deployments(env.Namespace).Get(t.Context(), "podinfo", metav1.GetOptions{})
		if err != nil || *dep.Spec.Replicas != 1 {
			t.Fatalf("deployment after the rollback: %v", err)
		}
	})
}

var fixtureBase = func(env *sandboxtest.Env) map[string]any {
	return map[string]any{"release": "fx", "chart": fixtureChart, "namespace": env.Namespace, "wait": true,
		"set": obj(map[string]any{"image": env.Image("1.0.0")})}
}

func hugeRequests(env *sandboxtest.Env) cty.Value {
	return obj(map[string]any{"image": env.Image("1.0.0"),
		"resources": obj(map[string]any{"requests": obj(map[string]any{"cpu": "64", "memory": "16Mi"})})})
}

// An upgrade whose pods can never be scheduled fails early (not at the
// timeout) and, atomic, leaves the release at the previous revision with
// its objects Ready again.
func TestAtomicUpgradeRollsBackUnschedulable(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	base := fixtureBase(env)
	requireOK(t, p.Apply("upgrade", with(base, nil)))

	run := p.Apply("upgrade", with(base, map[string]any{"atomic": true, "failure_grace": "2s", "set": hugeRequests(env)}))
	if !run.Diagnostics.HasErrors() {
		t.Fatal("an unschedulable upgrade succeeded")
	}
	text := diagText(run.Diagnostics)
	if err := contains2(text, "rolled back to revision 1 (now revision 3)", "Unschedulable", "Insufficient cpu", "cannot start",
		"Revision 1's objects are Ready again", "Deployment/fx: Current"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(run.Logs(sdk.Stderr), "\n"), "Unschedulable") {
		t.Fatalf("the pod's problem was not streamed: %q", run.Logs(""))
	}
	requireRolledBack(t, env, "fx", 3)
}

// requireRolledBack checks in the cluster that the release is deployed at
// revision want, a copy of revision 1, with revision 2 failed and the
// Deployment back to its first spec and available.
func requireRolledBack(t *testing.T, env *sandboxtest.Env, name string, want int) {
	t.Helper()
	cfg := helmConfig(t, env)
	rel, err := cfg.Releases.Last(name)
	if err != nil || rel.Version != want || rel.Info.Status != release.StatusDeployed {
		t.Fatalf("release after the rollback: %v %+v", err, rel.Info)
	}
	failed, err := cfg.Releases.Get(name, 2)
	if err != nil || failed.Info.Status != release.StatusFailed {
		t.Fatalf("revision 2 should be failed: %v %+v", err, failed)
	}
	eventually(t, 20*time.Second, "the Deployment back at revision 1's spec and available", func() error {
		dep, err := env.Client.AppsV1().Deployments(env.Namespace).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cpu := dep.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String()
		if cpu != "10m" || dep.Status.AvailableReplicas != 1 {
			return fmt.Errorf("cpu request %s, available %d", cpu, dep.Status.AvailableReplicas)
		}
		return nil
	})
}

// Ctrl-C during an atomic upgrade: the release goes back to the previous
// revision.
func TestCancelDuringAtomicUpgrade(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	base := fixtureBase(env)
	requireOK(t, p.Apply("upgrade", with(base, nil)))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan *plugintest.Run, 1)
	go func() {
		done <- p.ApplyContext(ctx, "upgrade", with(base, map[string]any{"atomic": true, "failure_grace": "10m", "set": hugeRequests(env)}))
	}()
	eventually(t, 30*time.Second, "a new pod that cannot be scheduled", func() error {
		pods, err := env.Client.CoreV1().Pods(env.Namespace).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, pod := range pods.Items {
			if reason, _ := podProblemOf(&pod); reason == "Unschedulable" {
				return nil
			}
		}
		return errors.New("none yet")
	})
	cancel() // what pipectl does on Ctrl-C
	select {
	case run := <-done:
		// The host asks the plugin to cancel and waits for its result.
		if run.Err == nil && !run.Diagnostics.HasErrors() {
			t.Fatalf("the cancelled upgrade reported success: %v", run.Outputs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the apply did not return promptly after the cancel")
	}
	eventually(t, 30*time.Second, "the release rolled back", func() error {
		rel := releaseNow(t, env, "fx")
		if rel.Version != 3 || rel.Info.Status != release.StatusDeployed {
			return fmt.Errorf("revision %d %s", rel.Version, rel.Info.Status)
		}
		return nil
	})
	requireRolledBack(t, env, "fx", 3)
}

// Without atomic, a wait that times out names each object not ready, its
// status and its events, and the pod's problem.
func TestWaitTimeoutNamesWhatIsNotReady(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	base := fixtureBase(env)
	requireOK(t, p.Apply("upgrade", with(base, nil)))

	// The step's timeout reaches the plugin as the call's deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Second)
	defer cancel()
	run := p.ApplyContext(ctx, "upgrade", with(base, map[string]any{"failure_grace": "10m", "set": hugeRequests(env)}))
	if !run.Diagnostics.HasErrors() {
		t.Fatalf("want a timeout, got %v %v", run.Err, run.Outputs)
	}
	text := diagText(run.Diagnostics)
	if err := contains2(text, "timed out after", "not ready:", "Deployment/fx: InProgress", "event: Normal ScalingReplicaSet", "Unschedulable", "Insufficient cpu"); err != nil {
		t.Fatal(err)
	}
	if rel := releaseNow(t, env, "fx"); rel.Version != 2 || rel.Info.Status != release.StatusFailed {
		t.Fatalf("release after the timeout: %d %s", rel.Version, rel.Info.Status)
	}
}

// A release stuck in pending-upgrade is refused with advice; with
// recover_pending it is rolled back first, visibly.
func TestPendingRelease(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	base := fixtureBase(env)
	requireOK(t, p.Apply("upgrade", with(base, nil)))
	// An interrupted upgrade: revision 2 left pending.
	cfg := helmConfig(t, env)
	rel, err := cfg.Releases.Last("fx")
	if err != nil {
		t.Fatal(err)
	}
	stuck := *rel
	info := *rel.Info
	stuck.Info, stuck.Version = &info, 2
	stuck.Info.Status = release.StatusPendingUpgrade
	if err := cfg.Releases.Create(&stuck); err != nil {
		t.Fatal(err)
	}
	next := with(base, map[string]any{"set": obj(map[string]any{"image": env.Image("1.0.0"), "message": "after recovery"})})

	plan := p.Plan("upgrade", next)
	if err := contains2(diagText(plan.Diagnostics), "stuck in pending-upgrade (revision 2)", "set recover_pending = true on this step to roll it back to revision 1"); err != nil {
		t.Fatal(err)
	}
	if run := p.Apply("upgrade", next); !strings.Contains(diagText(run.Diagnostics), "stuck in pending-upgrade") {
		t.Fatalf("apply of a pending release: %v", run.Diagnostics)
	}

	recover := with(base, map[string]any{"recover_pending": true, "set": obj(map[string]any{"image": env.Image("1.0.0"), "message": "after recovery"})})
	plan = p.Plan("upgrade", recover)
	requirePlanOK(t, plan)
	if err := contains2(plan.Change, "recover_pending: revision 2 is pending-upgrade; it will be rolled back to revision 1"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Summary, "to revision 4") {
		t.Fatalf("summary %q", plan.Summary)
	}
	run := p.Apply("upgrade", recover)
	requireOK(t, run)
	if num(t, run.Output("revision")) != 4 || !strings.Contains(strings.Join(run.Logs(sdk.Stderr), "\n"), "recover_pending = true: rolling back to revision 1") {
		t.Fatalf("recovered upgrade: %#v %q", run.Outputs, run.Logs(""))
	}
}

// A first install interrupted (pipectl killed) leaves the release in
// pending-install with no revision ever deployed: refused with advice that
// needs pipectl alone; recover_pending uninstalls it and installs it again,
// as the plan says and the log records. Fails on main at e65b3f1 (issue 30
// item 2: refused even with recover_pending, advice "helm uninstall").
func TestPendingInstallIsUninstalledAndInstalledAgain(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	base := fixtureBase(env)
	requireOK(t, p.Apply("upgrade", with(base, nil)))
	cfg := helmConfig(t, env)
	rel, err := cfg.Releases.Last("fx")
	if err != nil {
		t.Fatal(err)
	}
	rel.Info.Status = release.StatusPendingInstall // as a killed first install leaves it
	if err := cfg.Releases.Update(rel); err != nil {
		t.Fatal(err)
	}

	plan := p.Plan("upgrade", with(base, nil))
	text := diagText(plan.Diagnostics)
	if err := contains2(text, "stuck in pending-install (revision 1)", "set recover_pending = true on this step to uninstall it"); err != nil ||
		strings.Contains(text, "helm uninstall") {
		t.Fatalf("advice for a pending install: %v\n%s", err, text)
	}
	recover := with(base, map[string]any{"recover_pending": true})
	plan = p.Plan("upgrade", recover)
	requirePlanOK(t, plan)
	if err := contains2(plan.Change, "recover_pending: revision 1 is pending-install and no revision was ever deployed; "+
		"the release will be uninstalled first, then installed again"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Summary, "install release fx") || !strings.Contains(plan.Summary, "to revision 1") {
		t.Fatalf("summary %q", plan.Summary)
	}
	run := p.Apply("upgrade", recover)
	requireOK(t, run)
	if err := contains2(strings.Join(run.Logs(""), "\n"), "no revision was ever deployed, so it is uninstalled first",
		"release fx recovered: the never-deployed release was uninstalled"); err != nil {
		t.Fatal(err)
	}
	if now := releaseNow(t, env, "fx"); now.Version != 1 || now.Info.Status != release.StatusDeployed {
		t.Fatalf("release after the recovery: revision %d %s", now.Version, now.Info.Status)
	}
}

// helm test: a failing test hook fails the step with its name; the
// sandbox serves no logs, which is reported, not a crash.
func TestHelmTestFailing(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	base := fixtureBase(env)
	requireOK(t, p.Apply("upgrade", with(base, map[string]any{"set": obj(map[string]any{"image": env.Image("1.0.0"), "failingTest": true})})))

	done := make(chan *runResult, 1)
	go func() {
		run := p.Apply("test", obj(map[string]any{"release": "fx", "namespace": env.Namespace}))
		done <- &runResult{run.Diagnostics, run.Outputs, run.Logs("")}
	}()
	// The sandbox's pods always succeed: fail the hook's pod as a crashed
	// container would.
	eventually(t, 30*time.Second, "the failing test pod marked Failed", func() error {
		pod, err := env.Client.CoreV1().Pods(env.Namespace).Get(t.Context(), "fx-test-fail", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod.Status.Phase = corev1.PodFailed
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "check", Image: env.Image("1.0.0"),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
		_, err = env.Client.CoreV1().Pods(env.Namespace).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{})
		return err
	})
	var res *runResult
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("helm test did not end")
	}
	if err := contains2(diagText(res.diags), "Test of release fx failed: fx-test-fail", "logs unavailable"); err != nil {
		t.Fatal(err)
	}
	if num(t, res.outputs.GetAttr("failed")) != 1 {
		t.Fatalf("outputs %#v", res.outputs)
	}
}

type runResult struct {
	diags   sdk.Diagnostics
	outputs cty.Value
	logs    []string
}

// An atomic install that cannot become ready is uninstalled.
func TestAtomicInstallFailureUninstalls(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	run := p.Apply("upgrade", with(fixtureBase(env), map[string]any{"atomic": true, "failure_grace": "1s", "set": hugeRequests(env)}))
	if err := contains2(diagText(run.Diagnostics), "Install of fx failed and was uninstalled (atomic)", "Insufficient cpu"); err != nil {
		t.Fatal(err)
	}
	if _, err := helmConfig(t, env).Releases.Last("fx"); err == nil {
		t.Fatal("the failed install is still recorded")
	}
	eventually(t, 20*time.Second, "the Deployment deleted", func() error {
		if _, err := env.Client.AppsV1().Deployments(env.Namespace).Get(t.Context(), "fx", metav1.GetOptions{}); err == nil {
			return errors.New("still there")
		}
		return nil
	})
}
