package kubernetes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
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
	if _, errOut, code := b.run("apply", "-env", "prod", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("an apply after the force-unlock: exit %d\n%s", code, errOut)
	}
}
