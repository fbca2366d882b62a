package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/gate"
	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/record"
)

// A deploy stage behind an approval gate, rendering a file in the
// runner's checkout.
func gatedStages(timeout string) string {
	return fmt.Sprintf(`stage "build" {
  step "compile" { action = std.noop }
}
stage "deploy" {
  depends_on = [stage.build]
  approval {
    message = "Deploy?"
    timeout = %q
  }
  step "config" {
    action  = std.render
    output  = "config.txt"
    content = "v2\n"
  }
}
`, timeout)
}

// parked runs apply -park on r and returns the parked run's id.
func (r *runner) park() string {
	r.t.Helper()
	out, errOut, code := r.run("apply", "-env", "prod", "-auto-approve", "-park")
	if code != 8 {
		r.t.Fatalf("apply -park: exit %d, want 8 (parked)\n%s%s", code, out, errOut)
	}
	for _, run := range r.runs() {
		if run["status"] == "parked" {
			return fmt.Sprint(run["id"])
		}
	}
	r.t.Fatalf("no run is recorded as parked: %v", r.runs())
	return ""
}

// A run parked by one runner keeps the environment's Lease, which names
// the run and where it waits; another runner is refused, told the run
// and how to reject it. Approved, a third checkout resumes it: it takes
// the Lease over (recorded in both runs and on the Lease), does not run
// again what ran, and deploys once alice, who may approve prod, has.
func TestCLIParkedRunIsResumedByAnotherRunner(t *testing.T) {
	env := sandboxtest.Cluster(t)
	setUpVotes(t, env)
	approver(t, env, "alice", "prod") // votes are the approvers' own: never the admin's
	aliceKubeconfig, _ := env.User(t, "alice")
	rs := newRunners(t, env, 3, gatedStages("1h"))
	a, b, alice := rs[0], rs[1], rs[2]
	alice.env = append(alice.env, "PIPECTL_USER=") // who approves is the cluster's to say
	run := a.park()
	lease, err := testClientFor(t, env).coord.Leases(env.Namespace).Get(context.Background(), LockName("shop", "prod"), metav1.GetOptions{})
	if err != nil || *lease.Spec.HolderIdentity != run || lease.Annotations[annParkedAt] != "stage.deploy" || lease.Annotations[annParkedUntil] == "" {
		t.Fatalf("the parked run's Lease: %v %v, %v", lease.Spec.HolderIdentity, lease.Annotations, err)
	}
	if d := *lease.Spec.LeaseDurationSeconds; d < 3600 || d > 3600+16*60 {
		t.Errorf("the parked Lease lasts %ds, want the gate's timeout plus the margin", d)
	}

	_, errOut, code := b.run("apply", "-env", "prod", "-auto-approve", "-lock-timeout", "1m")
	if code != 1 || !strings.Contains(errOut, run) || !strings.Contains(errOut, "pipectl reject "+run) {
		t.Fatalf("an apply while the run is parked: exit %d, want it refused at once naming the run and reject\n%s", code, errOut)
	}
	if out, errOut, code := alice.run("approve", run, "-yes", "-backend-config", "kubeconfig="+aliceKubeconfig); code != 0 {
		t.Fatalf("approve the parked run: %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := b.run("apply", "-resume", run); code != 0 {
		t.Fatalf("resume of the approved parked run on another runner: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(b.dir, "config.txt")); string(got) != "v2\n" {
		t.Fatalf("the resumed run did not deploy: config.txt %q", got)
	}
	resumed := b.runs()[0]
	r := b.show(fmt.Sprint(resumed["id"]))
	took, _ := r["took_over"].(map[string]any)
	if r["status"] != "succeeded" || r["resumed_from"] != run || took == nil || took["run"] != run || took["parked_at"] != "stage.deploy" {
		t.Fatalf("the resumed run's record: status %v, resumed_from %v, took_over %v", r["status"], r["resumed_from"], r["took_over"])
	}
	for _, s := range r["steps"].([]any) {
		if st := s.(map[string]any); st["step"] == "compile" && !strings.Contains(fmt.Sprint(st["message"]), "not run again") {
			t.Errorf("the resume ran compile again: %v", st)
		}
	}
	if u, _ := b.show(run)["force_unlocked"].(map[string]any); u == nil || !strings.Contains(fmt.Sprint(u["reason"]), "parked at stage.deploy") {
		t.Errorf("the parked run's record does not say its Lease was taken over: %v", u)
	}
	if _, errOut, code := a.run("apply", "-env", "prod", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("the Lease was not freed when the resumed run ended: exit %d\n%s", code, errOut)
	}
}

// A parked gate's timeout passes while no process watches it: approving
// is refused, and the resume on another runner says the gate timed out
// while the run was parked, ends the run at the gate and frees the Lease.
func TestCLIParkedRunPastItsTimeout(t *testing.T) {
	env := sandboxtest.Cluster(t)
	rs := newRunners(t, env, 2, gatedStages("2s"))
	a, b := rs[0], rs[1]
	run := a.park()
	time.Sleep(2500 * time.Millisecond)
	if _, errOut, code := b.run("approve", run, "-yes"); code != 1 || !strings.Contains(errOut, "the gate timed out") {
		t.Fatalf("approve past the deadline: exit %d\n%s", code, errOut)
	}
	out, errOut, code := b.run("apply", "-resume", run)
	if code != 6 || !strings.Contains(out+errOut, "passed while run "+run+" was parked there") {
		t.Fatalf("resume past the deadline: exit %d, want 6 saying the gate timed out while parked\n%s%s", code, out, errOut)
	}
	if _, errOut, code := a.run("apply", "-env", "prod", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("the Lease was not freed: exit %d\n%s", code, errOut)
	}
}

// force-unlock breaks a parked Lease at once: nothing renews it, so there
// is no holder to watch for its duration (an hour here).
func TestCLIParkedLeaseIsForceUnlocked(t *testing.T) {
	env := sandboxtest.Cluster(t)
	rs := newRunners(t, env, 2, gatedStages("1h"))
	a, b := rs[0], rs[1]
	run := a.park()
	start := time.Now()
	if out, errOut, code := b.run("force-unlock", run, "-force", "-reason", "release cancelled"); code != 0 {
		t.Fatalf("force-unlock of a parked Lease: exit %d\n%s%s", code, out, errOut)
	}
	if waited := time.Since(start); waited > time.Minute { // a bound on a hang only: the Lease lasts an hour
		t.Errorf("force-unlock of a parked Lease waited %s", waited)
	}
	// Who broke it is who the cluster says b is, not PIPECTL_USER (runner-2).
	rec := a.show(run)
	startedBy, _ := rec["started_by"].(string)
	unlocked, _ := rec["force_unlocked"].(map[string]any)
	by, _ := unlocked["by"].(string)
	if startedBy == "" || strings.HasPrefix(by, "runner-2@") || !strings.HasPrefix(by, startedBy+"@") {
		t.Errorf("force_unlocked.by = %q, want the cluster identity %q (both runners use the sandbox's admin), not PIPECTL_USER", by, startedBy)
	}
	if _, errOut, code := b.run("apply", "-env", "prod", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("an apply after the force-unlock: exit %d\n%s", code, errOut)
	}
}

// Only votes release a gate. A Secret in the form an older pipectl kept
// a run's answers in (answers.run.<id>), approving a parked run as alice,
// is written by ci, who holds only the runner Role (no admission policy
// checks Secrets): the resume does not count it and parks again. Alice's
// own vote then releases the run.
func TestCLIParkedRunCountsNoLegacyAnswer(t *testing.T) {
	env := sandboxtest.Cluster(t)
	setUpVotes(t, env)
	approver(t, env, "alice", "prod")
	aliceKubeconfig, _ := env.User(t, "alice")
	_, ciCfg := env.User(t, "ci")
	bindUser(t, env, "ci", "pipectl-runner")
	waitAllowed(t, ciCfg, env.Namespace, "create", "", "secrets", "")
	rs := newRunners(t, env, 2, gatedStages("1h"))
	a, alice := rs[0], rs[1]
	alice.env = append(alice.env, "PIPECTL_USER=")
	run := a.park()

	ci, err := kubernetes.NewForConfig(ciCfg)
	if err != nil {
		t.Fatal(err)
	}
	forged := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: answersName(run), Labels: RunMeta{ID: run, Scope: "shop"}.labels("answers")},
		Type: "pipectl.dev/answers", Data: map[string][]byte{keyAnswers: []byte(
			`[{"gate":"stage.deploy","approve":true,"user":"alice","groups":["release-managers"],"authenticated":true,"format":2}]`)}}
	if _, err := ci.CoreV1().Secrets(env.Namespace).Create(context.Background(), forged, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the runner Role writes an answers Secret: %v (nothing here would show it is not counted)", err)
	}
	if out, errOut, code := a.run("apply", "-resume", run, "-park"); code != 8 {
		t.Fatalf("resume of the parked run with a forged answers Secret: exit %d, want 8 (parked again, the gate unanswered)\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(a.dir, "config.txt")); !os.IsNotExist(err) {
		t.Fatalf("the forged answer deployed: config.txt %v", err)
	}

	again := fmt.Sprint(a.runs()[0]["id"])
	if out, errOut, code := alice.run("approve", again, "-yes", "-backend-config", "kubeconfig="+aliceKubeconfig); code != 0 {
		t.Fatalf("alice approves the run parked again: %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := a.run("apply", "-resume", again); code != 0 {
		t.Fatalf("resume once alice approved: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(a.dir, "config.txt")); string(got) != "v2\n" {
		t.Fatalf("alice's vote did not release the run: config.txt %q", got)
	}
}

// Answers migrated from a local history are history: kept for a finished
// run, and shown with it; a parked run's are refused (its resume would
// never count them).
func TestImportAnswersOnlyOfFinishedRuns(t *testing.T) {
	env := sandboxtest.Cluster(t)
	setUpVotes(t, env)
	c := testClientFor(t, env)
	b := New(c, "shop", t.TempDir())
	answers := []record.Answer{{GateAnswer: gate.Answer{Gate: "stage.deploy", Approve: true, User: "alice"}}}
	for _, status := range []v1.Status{v1.StatusParked, v1.StatusSucceeded} {
		run := &record.Run{ID: newID(), Pipeline: "shop", Environment: "prod", Status: status}
		if err := b.CreateRun(0, run, json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
		err := b.ImportAnswers(run.ID, answers)
		got, aerr := b.Answers(run.ID)
		switch {
		case aerr != nil:
			t.Fatalf("answers of a %s run: %v", status, aerr)
		case status == v1.StatusParked && (err == nil || !strings.Contains(err.Error(), "only a finished run's answers are imported") || len(got) != 0):
			t.Errorf("importing a parked run's answers: %v, then it has %d answers; want refused", err, len(got))
		case status == v1.StatusSucceeded && (err != nil || len(got) != 1 || got[0].User != "alice"):
			t.Errorf("importing a finished run's answers: %v, then it has %v", err, got)
		}
	}
}

// A pipeline without environments is approved as pipeline.NAME: RBAC
// names it (resourceNames [pipeline.shop]), and a right to approve prod
// does not cover it.
func TestCLIApprovalOfAPipelineWithoutEnvironments(t *testing.T) {
	env := sandboxtest.Cluster(t)
	setUpVotes(t, env)
	approver(t, env, "alice", "pipeline.shop")
	approver(t, env, "bob", "prod")
	rs := newRunnersOf(t, 3, fmt.Sprintf(`pipeline "shop" {}
backend "kubernetes" {
  namespace  = %q
  kubeconfig = %q
}
%s`, env.Namespace, env.Kubeconfig, gatedStages("1h")))
	a, alice, bob := rs[0], rs[1], rs[2]
	as := func(r *runner, user string) {
		kubeconfig, _ := env.User(t, user)
		r.env = append(r.env, "PIPECTL_USER=", "PIPECTL_BACKEND_KUBECONFIG="+kubeconfig)
	}
	as(alice, "alice")
	as(bob, "bob")
	out, errOut, code := a.run("apply", "-auto-approve", "-park")
	if code != 8 {
		t.Fatalf("apply -park: exit %d, want 8\n%s%s", code, out, errOut)
	}
	run := fmt.Sprint(a.runs()[0]["id"])
	if out, errOut, code := bob.run("approve", run, "-yes"); code == 0 || !strings.Contains(out+errOut, "bob may not approve pipeline.shop") {
		t.Fatalf("bob, who may approve prod only: exit %d, want refused by the API server\n%s%s", code, out, errOut)
	}
	if out, errOut, code := alice.run("approve", run, "-yes"); code != 0 {
		t.Fatalf("alice, who may approve pipeline.shop: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := a.run("apply", "-resume", run); code != 0 {
		t.Fatalf("resume once alice approved: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(a.dir, "config.txt")); string(got) != "v2\n" {
		t.Fatalf("alice's approval did not release the run: config.txt %q", got)
	}
}

// A policy or binding rewritten to match fewer requests (here: a match
// condition that is never true, or a binding that selects no vote) would
// let any vote through: approvals are refused, saying setup must run
// again, until it has.
func TestCLINarrowedPolicyRefusesApprovals(t *testing.T) {
	env := sandboxtest.Cluster(t)
	setUpVotes(t, env)
	approver(t, env, "alice", "prod")
	aliceKubeconfig, _ := env.User(t, "alice")
	rs := newRunners(t, env, 2, gatedStages("1h"))
	a, alice := rs[0], rs[1]
	alice.env = append(alice.env, "PIPECTL_USER=", "PIPECTL_BACKEND_KUBECONFIG="+aliceKubeconfig)
	run := a.park()
	ctx := context.Background()
	admission := env.Client.AdmissionregistrationV1()
	t.Cleanup(func() { setUpVotes(t, env) }) // should the test stop with the policy narrowed

	p, err := admission.ValidatingAdmissionPolicies().Get(ctx, PolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.MatchConditions = []admissionv1.MatchCondition{{Name: "never", Expression: "false"}}
	if _, err := admission.ValidatingAdmissionPolicies().Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := alice.run("approve", run, "-yes"); code == 0 ||
		!strings.Contains(out+errOut, "backend not set up: run pipectl backend setup") || !strings.Contains(out+errOut, "matchConditions") {
		t.Fatalf("approve with the policy's match narrowed: exit %d, want refused saying setup must run\n%s%s", code, out, errOut)
	}
	setUpVotes(t, env)

	b, err := admission.ValidatingAdmissionPolicyBindings().Get(ctx, PolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Spec.MatchResources = &admissionv1.MatchResources{ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "none"}}}
	if _, err := admission.ValidatingAdmissionPolicyBindings().Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := alice.run("approve", run, "-yes"); code == 0 ||
		!strings.Contains(out+errOut, "backend not set up: run pipectl backend setup") || !strings.Contains(out+errOut, "matchResources") {
		t.Fatalf("approve with the binding's match narrowed: exit %d, want refused saying setup must run\n%s%s", code, out, errOut)
	}
	setUpVotes(t, env)
	if out, errOut, code := alice.run("approve", run, "-yes"); code != 0 {
		t.Fatalf("approve once set up again: exit %d\n%s%s", code, out, errOut)
	}
}

// A resume that takes a parked run's Lease over but cannot record it
// (here: its user may update Leases, not create the force-unlock log's
// Secrets) gives the Lease back: the parked run keeps it, other applies
// are still refused naming it, and a resume that can record it goes on.
func TestCLITakeoverNotRecordedLeavesTheParkedLock(t *testing.T) {
	env := sandboxtest.Cluster(t)
	setUpVotes(t, env)
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "no-log"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "create", "update"}}}}
	if _, err := env.Client.RbacV1().Roles(env.Namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	limited, cfg := env.User(t, "limited")
	bindUser(t, env, "limited", "no-log")
	waitAllowed(t, cfg, env.Namespace, "update", "coordination.k8s.io", "leases", "")
	rs := newRunners(t, env, 3, gatedStages("1h"))
	a, b, c := rs[0], rs[1], rs[2]
	b.env = append(b.env, "PIPECTL_BACKEND_KUBECONFIG="+limited)
	run := a.park()
	before, err := env.Client.CoordinationV1().Leases(env.Namespace).Get(ctx, LockName("shop", "prod"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	out, errOut, code := b.run("apply", "-resume", run)
	if code == 0 || !strings.Contains(out+errOut, "recording the takeover of the lock") || !strings.Contains(out+errOut, "the lock stays with run "+run) {
		t.Fatalf("a resume that cannot record its takeover: exit %d, want refused saying the lock stays with the parked run\n%s%s", code, out, errOut)
	}
	after, err := env.Client.CoordinationV1().Leases(env.Namespace).Get(ctx, LockName("shop", "prod"), metav1.GetOptions{})
	if err != nil || *after.Spec.HolderIdentity != run || after.Annotations[annParkedAt] != "stage.deploy" ||
		after.Annotations[annParkedUntil] != before.Annotations[annParkedUntil] || *after.Spec.LeaseDurationSeconds != *before.Spec.LeaseDurationSeconds {
		t.Fatalf("the Lease after the failed takeover: holder %v, annotations %v, duration %v (%v); want the parked run's as it was",
			after.Spec.HolderIdentity, after.Annotations, after.Spec.LeaseDurationSeconds, err)
	}
	if transitions(after) <= transitions(before) {
		t.Errorf("the Lease's transitions went from %d to %d: the failed takeover's token must stay void", transitions(before), transitions(after))
	}
	if _, errOut, code := c.run("apply", "-env", "prod", "-auto-approve", "-lock-timeout", "1m"); code != 1 || !strings.Contains(errOut, "pipectl reject "+run) {
		t.Fatalf("an apply after the failed takeover: exit %d, want refused naming the parked run\n%s", code, errOut)
	}
	if out, errOut, code := c.run("apply", "-resume", run, "-park"); code != 8 {
		t.Fatalf("a resume that can record the takeover: exit %d, want 8 (parked again: unanswered)\n%s%s", code, out, errOut)
	}
}

// runs migrate leaves a parked run where it was parked: on the cluster
// its gate would count only votes, and its lock is the local one.
func TestCLIMigrateSkipsParkedRuns(t *testing.T) {
	env := sandboxtest.Cluster(t)
	r := newRunnersOf(t, 1, "pipeline \"shop\" {}\nenvironment \"prod\" {}\n"+gatedStages("1h"))[0]
	if out, errOut, code := r.run("apply", "-env", "prod", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("local apply -park: exit %d, want 8\n%s%s", code, out, errOut)
	}
	run := fmt.Sprint(r.runs()[0]["id"])
	target := env.Namespace + "-runs"
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Namespaces().Delete(context.Background(), target, metav1.DeleteOptions{})
	})
	cfg := []string{"-backend-config", "type=kubernetes", "-backend-config", "namespace=" + target, "-backend-config", "kubeconfig=" + env.Kubeconfig}
	if out, errOut, code := r.run(append([]string{"backend", "setup"}, cfg...)...); code != 0 {
		t.Fatalf("backend setup: %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := r.run(append([]string{"runs", "migrate"}, cfg...)...)
	if code != 0 || !strings.Contains(out, "skipped  "+run+" (parked") || !strings.Contains(out, "0 run(s) copied") {
		t.Fatalf("runs migrate of a parked run: %d, want it skipped\n%s%s", code, out, errOut)
	}
}
